"""Which tables a statement writes, and which known tables a read names."""

import pytest

from jimmypage.sql import (
    COMMITS,
    EVERYTHING,
    MAY_COMMIT,
    may_delete_rows,
    named_tables,
    transaction_end,
    written_tables,
)

ALL = frozenset({EVERYTHING})


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        ('INSERT INTO "app_article" ("title") VALUES (%s)', {"app_article"}),
        ("INSERT INTO `app_article` (`title`) VALUES (%s)", {"app_article"}),
        ("INSERT OR REPLACE INTO app_tag VALUES (1)", {"app_tag"}),
        ("INSERT IGNORE INTO app_tag VALUES (1)", {"app_tag"}),
        ('INSERT INTO "a" ("x") VALUES (1) ON CONFLICT DO NOTHING RETURNING "a"."id"', {"a"}),
        ('UPDATE "public"."app_article" SET "title" = %s', {"app_article"}),
        ("update app_article set title = 'x'", {"app_article"}),
        ('DELETE FROM "app_article" WHERE "id" IN (%s)', {"app_article"}),
        ("DELETE `app_article` FROM `app_article` INNER JOIN `x` ON 1", {"app_article"}),
        ("REPLACE INTO app_tag VALUES (1)", {"app_tag"}),
        ("MERGE INTO app_tag USING src ON (1=1)", {"app_tag"}),
        ('TRUNCATE app_tag, "app_article"', {"app_tag", "app_article"}),
        ("TRUNCATE TABLE ONLY app_tag RESTART IDENTITY", {"app_tag"}),
        ("COPY app_tag (name) FROM STDIN", {"app_tag"}),
        ('ALTER TABLE "app_tag" ADD COLUMN "x" integer', {"app_tag"}),
        ('DROP TABLE IF EXISTS "app_tag"', {"app_tag"}),
        ("/* by the app */ INSERT INTO app_tag VALUES (1)", {"app_tag"}),
        ("  -- a comment\n  DELETE FROM app_tag", {"app_tag"}),
        ('UPDATE "we""ird" SET a = 1', {'we"ird'}),
        ("INSERT INTO [app_tag] VALUES (1)", {"app_tag"}),
        ('UPDATE "app_tag" AS t SET "name" = %s FROM "app_article" a', {"app_tag"}),
        ("UPDATE ONLY app_tag t SET name = 'x'", {"app_tag"}),
        ("DELETE `a`, b FROM `app_tag` a JOIN app_article b ON 1", {"a", "b"}),
        ("DELETE LOW_PRIORITY app_tag FROM app_tag WHERE 1", {"app_tag"}),
        ('DELETE FROM "app_tag" USING "app_article" WHERE 1', {"app_tag"}),
        ("DELETE app_tag WHERE 1", {"app_tag"}),
        # Several tables written by one statement (MySQL): every page.
        ("UPDATE app_tag JOIN app_article ON 1 SET app_article.title = ''", ALL),
        ("UPDATE app_tag, app_article SET app_article.title = ''", ALL),
        ("DELETE FROM app_tag, app_article USING app_tag JOIN app_article", ALL),
        # Several statements in one go write what each writes.
        ("SELECT 1; DELETE FROM app_tag", {"app_tag"}),
        ("UPDATE app_tag SET name = 'a;b'; INSERT INTO \"x;y\" VALUES (1);", {"app_tag", "x;y"}),
        ("INSERT INTO app_tag VALUES (1) -- ; DELETE FROM app_article", {"app_tag"}),
        ("INSERT INTO app_tag VALUES (1); /* ; */ CALL p()", ALL),
    ],
)
def test_written_tables(sql, tables):
    assert written_tables(sql) == tables


@pytest.mark.parametrize(
    ("sql", "deletes"),
    [
        ('DELETE FROM "testapp_shelf" WHERE "id" IN (%s)', True),
        ("/* c */ replace into t values (1)", True),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", True),
        ("TRUNCATE t", True),
        ("INSERT OR REPLACE INTO t VALUES (1)", True),
        ("UPDATE t SET a = 1; DELETE FROM u", True),
        ('INSERT INTO "t" ("a") VALUES (%s)', False),
        ("INSERT INTO t SELECT * FROM s -- OR REPLACE", False),
        ('UPDATE "t" SET "a" = %s', False),
        ("SELECT 1", False),
    ],
)
def test_may_delete_rows(sql, deletes):
    assert may_delete_rows(sql) is deletes


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE app_tag CASCADE",
        "DROP TABLE app_tag CASCADE",
        "CREATE INDEX idx ON app_tag (name)",
        "CREATE VIEW v AS SELECT 1",
        "WITH gone AS (DELETE FROM app_tag RETURNING *) SELECT * FROM gone",
        "EXPLAIN ANALYZE UPDATE app_tag SET name = ''",
        "CALL refresh_everything()",
        "DO $$ BEGIN DELETE FROM app_tag; END $$",
        "EXEC something",
        "INSERT",
        "COPY (DELETE FROM app_tag RETURNING *) TO STDOUT",
    ],
)
def test_writes_whose_tables_cannot_be_told_mean_everything(sql):
    assert written_tables(sql) == ALL


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "app_tag"."id" FROM "app_tag"',
        "select 1",
        "  SELECT 1",
        'SAVEPOINT "s1"',
        'RELEASE SAVEPOINT "s1"',
        "SET CONSTRAINTS ALL IMMEDIATE",
        "PRAGMA foreign_keys = ON",
        "BEGIN",
        "COMMIT",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "EXPLAIN SELECT 1",
        "SHOW TABLES",
        "COPY app_tag TO STDOUT",
        'COPY "app_tag" (name, id) TO STDOUT WITH (FORMAT csv)',
        "COPY (SELECT * FROM app_tag WHERE name = ')') TO '/tmp/x'",
        "",
    ],
)
def test_reads_and_transaction_control_write_nothing(sql):
    assert written_tables(sql) is None


def test_named_tables_finds_known_tables_quoted_or_not():
    known = frozenset({"app_article", "app_tag", "app_author"})
    sql = (
        'SELECT "app_article"."id" FROM "app_article" INNER JOIN `app_author` '
        "ON 1 WHERE x IN (SELECT id FROM app_tag) AND title = 'app_unknown'"
    )
    assert named_tables(sql, known) == {"app_article", "app_author", "app_tag"}
    assert named_tables("SELECT 1", known) == set()


@pytest.mark.parametrize(
    ("sql", "ending"),
    [
        ("COMMIT", COMMITS),
        ("  /* x */ commit work", COMMITS),
        ("END", COMMITS),
        ("UPDATE t SET a = 1; COMMIT", COMMITS),
        ("CREATE TABLE t (x int)", MAY_COMMIT),
        ("DROP VIEW v", MAY_COMMIT),
        ("TRUNCATE t", MAY_COMMIT),
        ("START TRANSACTION", MAY_COMMIT),
        ("LOCK TABLES t WRITE", MAY_COMMIT),
        ("SET autocommit = 1", MAY_COMMIT),
        ("SET @@autocommit=ON", MAY_COMMIT),
        ("SET autocommit = 0", None),
        ("SET search_path = x", None),
        ('UPDATE "t" SET "a" = %s', None),
        ('SAVEPOINT "s1"', None),
        ('ROLLBACK TO SAVEPOINT "s1"', None),
        ("SELECT 1", None),
    ],
)
def test_transaction_end(sql, ending):
    assert transaction_end(sql) == ending


def test_named_tables_may_fold_case():
    known = frozenset({"app_tag", "App_Article"})
    sql = "create view v as select * from APP_TAG join `app_article`"
    assert named_tables(sql, known) == set()
    assert named_tables(sql, known, fold_case=True) == {"app_tag", "App_Article"}
