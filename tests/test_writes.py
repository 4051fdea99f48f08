"""Writes make pages stale once per transaction, on commit; rollbacks change nothing."""

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test import override_settings

from jimmypage import conf, generations, writes
from jimmypage.sql import EVERYTHING
from tests.counting import round_trips
from tests.testapp.models import Article, Author, Hit, Tag

pytestmark = pytest.mark.usefixtures("clean_state")


def current():
    return caches["default"].get(generations.generation_key())


@pytest.fixture
def generation():
    """The generation before the test's writes, created if missing."""
    return generations.read()


def test_save_changes_the_generation(generation):
    Article.objects.create(title="a")
    assert current() != generation


def test_update_by_save_and_delete_change_it(generation):
    article = Article.objects.create(title="a")
    after_create = current()
    article.title = "b"
    article.save()
    after_save = current()
    article.delete()
    assert len({generation, after_create, after_save, current()}) == 4


def test_get_or_create_and_update_or_create(generation):
    Author.objects.get_or_create(name="x")
    created = current()
    assert created != generation
    Author.objects.update_or_create(name="x", defaults={"name": "y"})
    assert current() != created


@pytest.mark.parametrize("action", ["add", "remove", "clear", "set"])
def test_many_to_many_changes(action):
    article = Article.objects.create(title="a")
    tag = Tag.objects.create(name="t")
    if action in ("remove", "clear"):
        article.tags.add(tag)
    before = current()
    if action == "add":
        article.tags.add(tag)
    elif action == "remove":
        article.tags.remove(tag)
    elif action == "clear":
        article.tags.clear()
    else:
        article.tags.set([tag])
    assert current() != before


def test_generation_is_a_random_token_not_a_counter(generation):
    Article.objects.create(title="a")
    token = current()
    assert isinstance(token, str) and len(token) >= 16
    assert not token.isdigit()


def test_a_transaction_changes_the_generation_once_on_commit(generation, monkeypatch):
    bumps = []
    real_bump = generations.bump
    monkeypatch.setattr(generations, "bump", lambda: bumps.append(1) or real_bump())
    with transaction.atomic():
        for number in range(50):
            Article.objects.create(title=f"a{number}")
        Tag.objects.create(name="t")
        assert current() == generation, "nothing changes before the commit"
    assert len(bumps) == 1
    assert current() != generation


def test_rollback_changes_nothing(generation):
    with pytest.raises(RuntimeError), transaction.atomic():
        Article.objects.create(title="a")
        raise RuntimeError("roll back")
    assert current() == generation


def test_savepoint_rollback_keeps_earlier_writes(generation):
    with transaction.atomic():
        Article.objects.create(title="kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            Article.objects.create(title="dropped")
            raise RuntimeError("roll back the savepoint")
    assert current() != generation


@override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=["testapp_hit"])
def test_write_only_in_a_rolled_back_savepoint_changes_nothing(generation):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Article.objects.create(title="dropped")
            raise RuntimeError("roll back the savepoint")
        Hit.objects.create(path="whitelisted")
    assert current() == generation


def test_write_after_a_rolled_back_savepoint_still_counts(generation):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Article.objects.create(title="dropped")
            raise RuntimeError("roll back the savepoint")
        Article.objects.create(title="kept")
    assert current() != generation


def test_consecutive_transactions_each_change_it(generation):
    with transaction.atomic():
        Article.objects.create(title="one")
    first = current()
    with transaction.atomic():
        Article.objects.create(title="two")
    assert len({generation, first, current()}) == 3


@override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=["testapp_hit"])
def test_whitelisted_tables_never_invalidate(generation):
    Hit.objects.create(path="/")
    assert current() == generation
    Article.objects.create(title="a")
    assert current() != generation


def test_the_database_caches_table_is_ignored(settings):
    settings.CACHES = {
        **settings.CACHES,
        "db": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "my_cache_table",
        },
    }
    assert writes.ignores("my_cache_table")
    Article.objects.create(title="a")  # decide the INSERT's text under these settings
    with override_settings(
        CACHES={**settings.CACHES, "db": {**settings.CACHES["db"], "LOCATION": "testapp_article"}}
    ):
        assert writes.ignores("testapp_article")
        before = current()
        Article.objects.create(title="b")
        assert current() == before


def test_default_whitelist_has_the_seeds_tables():
    assert writes.ignores("django_session") and writes.ignores("auth_user")
    assert writes.ignores("django_migrations")
    assert not writes.ignores("testapp_article")


def test_a_statement_decided_once_follows_a_later_change_of_the_whitelist(generation):
    Hit.objects.create(path="/")  # the INSERT's text is now decided: it makes pages stale
    after_first = current()
    assert after_first != generation
    with override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=["testapp_hit"]):
        Hit.objects.create(path="/")  # the same text, decided again under the new whitelist
        assert current() == after_first
    Hit.objects.create(path="/")
    assert current() != after_first


def test_statements_decided_are_bounded(monkeypatch):
    monkeypatch.setattr(writes, "_DECIDED_MAX", 3)
    for number in range(10):
        assert writes.stale_tables(f"DELETE FROM testapp_article WHERE id = {number}")
    assert 0 < len(conf.memo("writes.stale_tables")) <= 3


def test_a_read_is_decided_without_being_remembered():
    assert writes.stale_tables('SELECT "testapp_article"."id" FROM "testapp_article"') is None
    assert writes.stale_tables("UPDATE django_session SET expire_date = NULL") == frozenset()
    assert writes.stale_tables("UPDATE testapp_article SET title = ''") == {EVERYTHING}
    assert not any(text.startswith("SELECT") for text in conf.memo("writes.stale_tables"))


def test_the_caches_own_tables_are_ignored_whatever_the_whitelist():
    with override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=[]):
        assert writes.ignores("django_migrations")
        assert not writes.ignores("django_session")


def test_a_missing_generation_is_created_on_read():
    caches["default"].delete(generations.generation_key())
    token = generations.read()
    assert token is not None and current() == token


# Writes that send no model signal: the SQL-level hook sees them all.


def test_queryset_update(generation):
    Article.objects.create(title="a")
    before = current()
    assert Article.objects.filter(title="a").update(title="b") == 1
    assert current() != before


def test_queryset_delete_fast_path(generation):
    Tag.objects.create(name="t")
    before = current()
    Tag.objects.all().delete()  # no signals receivers on Tag: Django's fast delete
    assert current() != before


def test_bulk_create_and_bulk_update(generation):
    Tag.objects.bulk_create([Tag(name=str(n)) for n in range(10)])
    created = current()
    assert created != generation
    tags = list(Tag.objects.all())
    for tag in tags:
        tag.name += "!"
    Tag.objects.bulk_update(tags, ["name"])
    assert current() != created


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO testapp_tag (name) VALUES ('raw')",
        "UPDATE testapp_tag SET name = 'raw'",
        "DELETE FROM testapp_tag",
    ],
)
def test_raw_sql_through_a_cursor(generation, statement):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)
    assert current() != generation


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL runs several statements at once"
)
def test_a_write_after_a_read_in_one_execute_is_seen(generation):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1; UPDATE testapp_tag SET name = 'a;b'")
    assert current() != generation


def test_a_read_changes_nothing(generation):
    from django.db import connection

    list(Article.objects.all())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM testapp_article")
    assert current() == generation


def test_a_failed_statement_changes_nothing(generation):
    from django.db import DatabaseError, connection

    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_no_such_table (x) VALUES (1)")
    assert current() == generation


def test_thousand_rows_in_one_transaction_cost_one_cache_write(generation):
    with round_trips() as counted, transaction.atomic():
        for number in range(1000):
            Article.objects.create(title=f"a{number}")
        Tag.objects.create(name="t")
    assert counted == {"set": 1}


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_writes_on_another_database(generation):
    Article.objects.using("other").create(title="elsewhere")
    after_autocommit = current()
    assert after_autocommit != generation
    with transaction.atomic(using="other"):
        Article.objects.using("other").create(title="in a transaction")
        assert current() == after_autocommit
    assert current() != after_autocommit
    with pytest.raises(RuntimeError), transaction.atomic(using="other"):
        Article.objects.using("other").create(title="rolled back")
        raise RuntimeError
    with transaction.atomic():  # a transaction on "default" does not hold "other"'s writes
        before = current()
        Article.objects.using("other").create(title="autocommit on other")
        assert current() != before
