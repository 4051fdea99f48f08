"""Every way a transaction ends is where its writes take effect (issue 15, items 1 and 2).

A write made in a transaction makes pages stale when the transaction commits, whatever commits
it: ``commit()``, ``set_autocommit(True)``, the end of ``atomic()``, closing the connection (the
conservative side: a driver may commit on close). A rollback changes nothing. The change never
depends on other code's ``on_commit`` hooks succeeding.
"""

import threading

import pytest
from django.core.cache import caches
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.test import Client, TestCase, override_settings

from jimmypage import generations
from tests.connections import in_another_thread
from tests.testapp.models import Article, Tag

pytestmark = pytest.mark.usefixtures("clean_state")
STATUS = "X-Jimmy-Page"


def current_here():
    """The global generation as this thread's transaction sees it."""
    return caches["default"].get(generations.generation_key())


def current():
    """The global generation as another request sees it (see ``in_another_thread``)."""
    return in_another_thread(current_here)


@pytest.fixture
def generation():
    return generations.read()


@pytest.fixture
def manual():
    """Manual transaction management on the default connection, undone afterwards."""
    transaction.set_autocommit(False)
    yield
    if connection.connection is not None and not connection.get_autocommit():
        transaction.rollback()
        transaction.set_autocommit(True)


# 1. Manual transactions: the change takes effect where the transaction ends.


def test_manual_transaction_changes_the_generation_at_commit_not_at_the_write(generation, manual):
    Article.objects.create(title="a")
    Article.objects.filter(title="a").update(title="b")
    assert current() == generation, "changed before the commit: a page rendered now is stuck"
    transaction.commit()
    assert current() != generation


def test_manual_transaction_rolled_back_changes_nothing(generation, manual):
    Article.objects.create(title="a")
    transaction.rollback()
    transaction.set_autocommit(True)
    assert current() == generation


def test_manual_transaction_commit_then_more_writes_then_rollback(generation, manual):
    Article.objects.create(title="kept")
    transaction.commit()
    after_commit = current()
    assert after_commit != generation
    Tag.objects.create(name="dropped")
    transaction.rollback()
    assert current() == after_commit


def test_manual_transaction_ended_by_set_autocommit(generation, manual):
    """SQLite and MySQL commit when autocommit comes back on; psycopg refuses mid-transaction."""
    Article.objects.create(title="a")
    try:
        transaction.set_autocommit(True)
    except DatabaseError:
        assert connection.vendor == "postgresql"
        assert current() == generation, "the transaction is still open: nothing changed yet"
        transaction.commit()
        assert current() != generation
        transaction.set_autocommit(True)
    else:
        assert current() != generation
    assert Article.objects.filter(title="a").exists()


def test_manual_transaction_ended_by_closing_the_connection(generation, manual):
    """Closing ends the transaction; some drivers commit then (Oracle): the change is made.
    (Django keeps an in-memory SQLite database open: there the transaction goes on.)"""
    Article.objects.create(title="a")
    assert current() == generation
    connection.close()
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        assert current() == generation, "still open"
        transaction.commit()
    assert current() != generation


def test_atomic_inside_a_manual_transaction_waits_for_the_commit(generation, manual):
    with transaction.atomic():
        Article.objects.create(title="a")
    assert current() == generation, "atomic() in manual mode does not commit"
    transaction.commit()
    assert current() != generation


def test_atomic_inside_a_manual_transaction_then_rollback(generation, manual):
    with transaction.atomic():
        Article.objects.create(title="a")
    transaction.rollback()
    assert current() == generation
    Tag.objects.create(name="t")
    transaction.commit()
    assert current() != generation


def test_a_savepoint_rolled_back_in_a_manual_transaction_changes_nothing(generation, manual):
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():
        Article.objects.create(title="dropped")
        raise RuntimeError
    transaction.commit()
    assert current() == generation


def test_one_change_per_manual_transaction(generation, manual, monkeypatch):
    changes = []
    monkeypatch.setattr(generations, "bump", lambda: changes.append(1) or "token")
    for number in range(20):
        Article.objects.create(title=f"a{number}")
    assert changes == []
    transaction.commit()
    assert changes == [1]


def test_a_raw_commit_ends_the_transaction(generation, manual):
    Article.objects.create(title="a")
    with connection.cursor() as cursor:
        cursor.execute("COMMIT")
    assert current() != generation
    after_commit = current()
    transaction.rollback()  # nothing left to roll back: the change stands, once
    assert current() == after_commit


def test_ddl_in_a_transaction_ends_it_where_ddl_is_not_transactional(generation, manual):
    """MySQL commits the open transaction before DDL; PostgreSQL and SQLite roll DDL back."""
    Article.objects.create(title="a")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE jp_ddl_in_transaction (x integer)")
    try:
        if connection.features.can_rollback_ddl:
            assert current() == generation
            transaction.rollback()
            assert current() == generation
            assert not Article.objects.exists()
        else:
            assert current() != generation, "committed by the CREATE TABLE"
            transaction.rollback()
            assert Article.objects.exists()
    finally:
        if not connection.features.can_rollback_ddl:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE jp_ddl_in_transaction")


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite locks the table: no reader while a write waits"
)
@pytest.mark.django_db(transaction=True)
def test_a_page_rendered_before_the_commit_is_stale_after_it(settle):
    """The promise itself: a page rendered from the old row, during the transaction, must not
    be a hit once the new row is committed."""
    Article.objects.create(title="old")
    client = Client()
    with override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS):
        client.get("/page/")
        transaction.set_autocommit(False)
        try:
            Article.objects.filter(title="old").update(title="new")
            rendered = []

            def render_elsewhere():  # another connection: it sees the committed row only
                try:
                    jimmypage_status = Client().get("/page/?again")
                    rendered.append(jimmypage_status)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=render_elsewhere)
            thread.start()
            thread.join()
            assert b"articles=old" in rendered[0].content
            transaction.commit()
        finally:
            transaction.set_autocommit(True)
        page = Client().get("/page/?again")
        assert page[STATUS] == "stale", "a page of the old row is served as fresh"
        settle()


# 2. The change does not depend on other code's on_commit hooks.


class MailServerDown(Exception):
    pass


def _mail_server_down():
    raise MailServerDown


def test_a_failing_hook_registered_before_the_write_does_not_keep_pages_fresh(generation):
    with pytest.raises(MailServerDown), transaction.atomic():
        transaction.on_commit(_mail_server_down)
        Article.objects.create(title="a")
    assert Article.objects.filter(title="a").exists(), "the write was committed"
    assert current() != generation


def test_a_failing_hook_in_a_manual_transactions_atomic_block(generation, manual):
    with transaction.atomic():
        transaction.on_commit(_mail_server_down)
        Article.objects.create(title="a")
    transaction.commit()
    assert current() != generation
    with pytest.raises(MailServerDown):
        transaction.set_autocommit(True)  # Django runs the site's hooks here


def test_pages_are_stale_before_the_sites_hooks_run(generation):
    """A hook that warms the cache after a commit must find the pages already stale."""
    seen = []
    with transaction.atomic():
        transaction.on_commit(lambda: seen.append(current()))
        Article.objects.create(title="a")
    assert seen and seen[0] != generation


def test_the_sites_hooks_still_run_in_order(generation):
    ran = []
    with transaction.atomic():
        transaction.on_commit(lambda: ran.append("first"))
        Article.objects.create(title="a")
        transaction.on_commit(lambda: ran.append("second"))
    assert ran == ["first", "second"]


def test_a_savepoint_rollback_still_drops_the_change(generation):
    with transaction.atomic():
        transaction.on_commit(lambda: None)
        with pytest.raises(RuntimeError), transaction.atomic():
            Article.objects.create(title="dropped")
            raise RuntimeError
    assert current() == generation


@pytest.mark.skipif(
    not connection.features.can_defer_constraint_checks,
    reason="foreign keys are checked at the INSERT, not at the COMMIT",
)
def test_a_commit_that_fails_still_makes_the_change(generation):
    """When COMMIT raises, whether the data was committed is unknown in general (a connection
    lost after the server committed): a spurious change costs a refresh, a missed one a page
    stale for good. (Here a deferred foreign key fails at the COMMIT.)"""
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.create(title="a", author_id=987654)
    assert not Article.objects.exists()
    assert current() != generation


class Undone(Exception):
    """Rolls back the outer atomic block that stands for a TestCase's transaction."""


def test_captured_hooks_executed_in_a_testcase_make_the_change(generation):
    """In a TestCase nothing commits: the change runs with the hooks the test captures (seen
    inside the test's transaction, as the test's own requests see it)."""
    with pytest.raises(Undone), transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            Article.objects.create(title="a")
        assert callbacks
        assert current_here() != generation
        raise Undone


def test_captured_hooks_not_executed_change_nothing(generation):
    with pytest.raises(Undone), transaction.atomic():
        with TestCase.captureOnCommitCallbacks() as callbacks:
            Article.objects.create(title="a")
        assert callbacks and current_here() == generation
        raise Undone


SAME_DATABASE_CACHE = "jimmypage_same_database_cache"


@pytest.fixture
def cache_in_the_database():
    """The page cache as a DatabaseCache in the very database the tests write to."""
    from django.core.management import call_command

    options = {"BACKEND": "django.core.cache.backends.db.DatabaseCache"}
    with override_settings(CACHES={"default": {**options, "LOCATION": SAME_DATABASE_CACHE}}):
        call_command("createcachetable", verbosity=0)
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {connection.ops.quote_name(SAME_DATABASE_CACHE)}")


def test_a_cache_in_the_written_database_commits_its_change_after_ours(cache_in_the_database):
    """Right after COMMIT the connection is still in manual mode: the cache's write opens a
    transaction there, which must be ended, or turning autocommit back on fails (psycopg
    refuses to while a transaction is open) and the change might never be committed."""
    before = current()
    with transaction.atomic():
        Tag.objects.create(name="first")
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert current() not in (None, before)
    with transaction.atomic():
        Tag.objects.create(name="second")
    assert Tag.objects.count() == 2


def test_a_cache_table_missing_in_the_written_database_fails_nothing(caplog, monkeypatch):
    """What ``migrate`` meets before ``createcachetable``: the cache's write fails, is logged,
    and its failed transaction is rolled back; the site's own transaction stands."""
    from jimmypage import log

    monkeypatch.setattr(log, "_last_error_at", {})  # logged even if another test just did
    missing = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "jp_missing"}
    with override_settings(CACHES={"default": missing}):
        with transaction.atomic():
            Tag.objects.create(name="kept")
        assert connection.get_autocommit() and not connection.in_atomic_block
        assert Tag.objects.filter(name="kept").exists()
    assert "jimmypage" in caplog.text and "jp_missing" in caplog.text
