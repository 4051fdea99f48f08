"""Cursor entry points that skip the execute wrappers count as writes (issue 15, item 5):
stored procedures, COPY (psycopg 3 and psycopg2), psycopg 3's stream(), SQLite's scripts."""

import io

import pytest
from django.core.cache import caches
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.test import Client, override_settings

from jimmypage import generations, reads
from jimmypage.sql import EVERYTHING
from tests.connections import in_another_thread
from tests.testapp.models import Tag

pytestmark = pytest.mark.usefixtures("clean_state")
STATUS = "X-Jimmy-Page"
POSTGRES = connection.vendor == "postgresql"
if POSTGRES:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3
else:
    is_psycopg3 = False
postgres_only = pytest.mark.skipif(
    not is_psycopg3, reason="copy() and stream() are psycopg 3's, on PostgreSQL"
)
psycopg2_only = pytest.mark.skipif(
    not POSTGRES or is_psycopg3, reason="copy_expert() and copy_from() are psycopg2's"
)
PROCEDURES = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION jp_touch_tags() RETURNS void LANGUAGE sql AS "
        "$$ UPDATE testapp_tag SET name = name || '!' $$",
        "CREATE OR REPLACE FUNCTION jp_fail() RETURNS void LANGUAGE plpgsql AS "
        "$$ BEGIN UPDATE testapp_tag SET name = 'changed'; RAISE 'boom'; END $$",
    ],
    "mysql": [
        "DROP PROCEDURE IF EXISTS jp_touch_tags",
        "CREATE PROCEDURE jp_touch_tags() UPDATE testapp_tag SET name = CONCAT(name, '!')",
        "DROP PROCEDURE IF EXISTS jp_fail",
        "CREATE PROCEDURE jp_fail() BEGIN UPDATE testapp_tag SET name = 'changed'; "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END",
    ],
}


def current():
    return caches["default"].get(generations.generation_key())


@pytest.fixture
def procedures():
    """Two stored procedures: one that changes tags, one that changes them and then fails."""
    if connection.vendor not in PROCEDURES:
        pytest.skip(f"{connection.vendor} has no stored procedures")
    with connection.cursor() as cursor:
        for statement in PROCEDURES[connection.vendor]:
            cursor.execute(statement)
    Tag.objects.create(name="t")
    return generations.read()


# Stored procedures: they may write anything.


def test_callproc_makes_every_page_stale(procedures):
    with connection.cursor() as cursor:
        cursor.callproc("jp_touch_tags")
    assert Tag.objects.get().name == "t!"
    assert current() != procedures


def test_callproc_in_a_transaction_waits_for_the_commit(procedures):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.callproc("jp_touch_tags")
        assert current() == procedures
    assert current() != procedures


def test_callproc_rolled_back_changes_nothing(procedures):
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.callproc("jp_touch_tags")
        raise RuntimeError
    assert current() == procedures


def test_a_failing_procedure_counts_all_the_same(procedures):
    """MySQL keeps what a procedure wrote before it failed (autocommit is per statement)."""
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.callproc("jp_fail")
    if connection.vendor == "mysql":
        assert Tag.objects.get().name == "changed"
    assert current() != procedures


def test_callproc_under_the_debug_cursor(procedures):
    connection.force_debug_cursor = True
    try:
        with connection.cursor() as cursor:
            cursor.callproc("jp_touch_tags")
    finally:
        connection.force_debug_cursor = False
    assert current() != procedures


def test_a_render_that_calls_a_procedure_depends_on_every_table(procedures):
    recorded = reads.start()
    try:
        with connection.cursor() as cursor:
            cursor.callproc("jp_touch_tags")
    finally:
        reads.stop()
    assert EVERYTHING in recorded
    before = generations.Before("g", {"testapp_tag": "1", "testapp_article": "2"})
    assert before.stamp(recorded) == ("g", (("testapp_article", "2"), ("testapp_tag", "1")))


# COPY and stream(): psycopg 3.


@postgres_only
@pytest.mark.parametrize("debug", [False, True], ids=["cursor", "debug cursor"])
def test_copy_from_stdin_makes_the_tables_pages_stale(debug):
    generation = generations.read()
    connection.force_debug_cursor = debug
    try:
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY testapp_tag (name) FROM STDIN") as copy,
        ):
            copy.write_row(["copied"])
            assert in_another_thread(current) == generation, "not before the rows are in"
    finally:
        connection.force_debug_cursor = False
    assert Tag.objects.filter(name="copied").exists()
    assert current() != generation


@postgres_only
def test_copy_of_a_composed_statement():
    from psycopg import sql

    generation = generations.read()
    statement = sql.SQL("COPY {} (name) FROM STDIN").format(sql.Identifier("testapp_tag"))
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write_row(["copied"])
    assert current() != generation


@postgres_only
def test_copy_that_fails_changes_nothing():
    generation = generations.read()
    with (
        pytest.raises(RuntimeError),
        connection.cursor() as cursor,
        cursor.copy("COPY testapp_tag (name) FROM STDIN") as copy,
    ):
        copy.write_row(["never"])
        raise RuntimeError
    assert not Tag.objects.exists()
    assert current() == generation


@postgres_only
def test_copy_in_a_transaction_waits_for_the_commit():
    generation = generations.read()
    with transaction.atomic():
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY testapp_tag (name) FROM STDIN") as copy,
        ):
            copy.write_row(["copied"])
        assert current() == generation
    assert current() != generation


@postgres_only
def test_copy_to_stdout_is_a_read():
    Tag.objects.create(name="t")
    generation = generations.read()
    with connection.cursor() as cursor, cursor.copy("COPY testapp_tag TO STDOUT") as copy:
        assert b"t" in b"".join(bytes(block) for block in copy)
    assert current() == generation


@postgres_only
@override_settings(JIMMY_PAGE_MODE="per-table", JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_copy_makes_stale_only_the_pages_of_its_table(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    with connection.cursor() as cursor, cursor.copy("COPY testapp_tag (name) FROM STDIN") as copy:
        copy.write_row(["copied"])
    assert [Client().get(path)[STATUS] for path in ("/page/", "/tags/")] == ["hit", "stale"]
    settle()


@postgres_only
def test_stream_of_a_writing_statement():
    Tag.objects.create(name="t")
    generation = generations.read()
    with connection.cursor() as cursor:
        rows = list(cursor.stream("UPDATE testapp_tag SET name = 's' RETURNING id"))
    assert len(rows) == 1
    assert current() != generation
    with connection.cursor() as cursor:
        assert list(cursor.stream("SELECT name FROM testapp_tag")) == [("s",)]
    assert current() != generation


# SQLite's executescript().


@pytest.mark.skipif(connection.vendor != "sqlite", reason="executescript() is sqlite3's")
def test_executescript():
    Tag.objects.create(name="t")
    generation = generations.read()
    with connection.cursor() as cursor:
        cursor.executescript("UPDATE testapp_tag SET name = 'x';")
    assert current() != generation


@psycopg2_only
def test_psycopg2_copy_methods_for_real():
    generation = generations.read()
    with connection.cursor() as cursor:
        cursor.copy_from(io.StringIO("x\n"), "testapp_tag", columns=("name",))
    after_copy_from = current()
    assert after_copy_from != generation
    with connection.cursor() as cursor:
        cursor.copy_expert("COPY testapp_tag (name) FROM STDIN", io.StringIO("y\n"))
    assert current() != after_copy_from
    after_copy_expert = current()
    with connection.cursor() as cursor:
        cursor.copy_to(io.StringIO(), "testapp_tag")
    assert current() == after_copy_expert
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["x", "y"]


# psycopg2's COPY methods, on a stand-in for its cursor, wherever the suite runs.


class Psycopg2LikeCursor:
    def __init__(self):
        self.calls = []

    def copy_expert(self, sql, file, size=8192):
        self.calls.append(("copy_expert", sql))

    def copy_from(self, file, table, sep="\t", null="\\N", size=8192, columns=None):
        self.calls.append(("copy_from", table))

    def copy_to(self, file, table, sep="\t", null="\\N", columns=None):
        self.calls.append(("copy_to", table))

    def close(self):
        pass


@pytest.mark.parametrize(
    "call, changes",
    [
        (lambda c: c.copy_from(io.StringIO("x\n"), "testapp_tag", columns=("name",)), True),
        (lambda c: c.copy_expert("COPY testapp_tag (name) FROM STDIN", io.StringIO()), True),
        (lambda c: c.copy_to(io.StringIO(), "testapp_tag"), False),
        (lambda c: c.copy_expert("COPY testapp_tag TO STDOUT", io.StringIO()), False),
    ],
    ids=["copy_from", "copy_expert from", "copy_to", "copy_expert to"],
)
def test_psycopg2_copy_methods(call, changes):
    connection.ensure_connection()
    generation = generations.read()
    raw = Psycopg2LikeCursor()
    call(connection.make_cursor(raw))
    assert raw.calls, "the driver's method ran"
    assert (current() != generation) is changes


def test_cursors_keep_the_drivers_attributes_and_class():
    with connection.cursor() as cursor:
        assert isinstance(cursor, CursorWrapper)
        assert hasattr(cursor, "copy") is hasattr(cursor.cursor, "copy")
        assert hasattr(cursor, "executescript") is hasattr(cursor.cursor, "executescript")
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
