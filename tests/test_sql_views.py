"""Per-table mode and SQL views (issue 15, item 4): a view stands for the tables it reads.

The test app's migration 0003 makes ``testapp_shelfview`` (over ``testapp_shelf``) and
``testapp_shelvedbook`` (over ``testapp_book`` and that view), read by unmanaged models.
"""

import pytest
from django.core.cache import caches
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client, override_settings

from jimmypage import generations, reads, relations
from jimmypage.sql import EVERYTHING
from tests.testapp.models import Book, Shelf, ShelfView, Tag

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")
per_table = override_settings(JIMMY_PAGE_MODE="per-table", JIMMY_PAGE_STATUS_HEADER=STATUS)


def status(path):
    return Client().get(path)[STATUS]


@pytest.fixture
def shelved():
    shelf = Shelf.objects.create(name="top")
    Book.objects.create(title="dune", shelf=shelf)
    return shelf


@pytest.fixture
def reread():
    """Read the catalogue again after the test, whatever the test did to it."""
    yield
    relations.forget()
    relations.read_when_safe(connection)


def test_the_catalogue_resolves_views_on_views():
    assert relations.expand({"testapp_shelvedbook"}) >= {
        "testapp_shelvedbook",
        "testapp_book",
        "testapp_shelfview",
        "testapp_shelf",
    }
    assert relations.expand({"testapp_shelfview"}) >= {"testapp_shelf"}
    assert relations.expand({"testapp_tag"}) == {"testapp_tag"}
    assert "testapp_shelvedbook" in relations.views()


@per_table
def test_a_write_to_a_base_table_makes_the_pages_reading_the_view_stale(shelved, settle):
    assert b"dune@top" in Client().get("/shelved/").content
    Tag.objects.create(name="unrelated")
    assert status("/shelved/") == "hit"
    Book.objects.create(title="emma", shelf=shelved)
    assert status("/shelved/") == "stale"
    settle()
    assert b"emma@top" in Client().get("/shelved/").content


@per_table
def test_a_write_under_a_view_on_a_view(shelved, settle):
    Client().get("/shelved/")
    Shelf.objects.filter(pk=shelved.pk).update(name="bottom")
    assert status("/shelved/") == "stale"
    settle()
    assert b"dune@bottom" in Client().get("/shelved/").content


@per_table
def test_declared_dependency_on_a_view_model(shelved):
    before = generations.before_render(generations.read())
    stamp = before.stamp({"testapp_shelfview"})
    assert "testapp_shelf" in dict(stamp[1])


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite's views are read-only")
@per_table
def test_a_write_through_an_updatable_view_reaches_its_base_table(shelved):
    Client().get("/shelved/")
    shelf_key = generations.table_key("testapp_shelf")
    before = caches["default"].get(shelf_key)
    ShelfView.objects.create(name="side")
    assert Shelf.objects.filter(name="side").exists()
    assert caches["default"].get(shelf_key) != before
    assert status("/shelved/") == "stale"


@per_table
def test_a_view_whose_definition_cannot_be_read_depends_on_everything(
    shelved, monkeypatch, reread, settle
):
    monkeypatch.setattr(relations, "_DEFINITIONS", {})  # as on a database we cannot ask
    relations.read_when_safe(connection, again=True)
    assert EVERYTHING in relations.expand({"testapp_shelfview"})
    Client().get("/shelves/")
    assert status("/shelves/") == "hit"
    Tag.objects.create(name="any table at all")
    assert status("/shelves/") == "stale"
    settle()
    assert status("/shelves/") == "hit"
    global_token = generations.read()
    if connection.vendor != "sqlite":
        ShelfView.objects.create(name="through the view")  # a write to it: every page
        assert generations.read() != global_token


def test_an_unmanaged_table_no_catalogue_lists_depends_on_everything(reread):
    relations.forget()
    assert EVERYTHING in relations.expand({"testapp_shelfview"})
    assert EVERYTHING not in relations.expand({"testapp_shelf", "testapp_book"})


def test_a_view_made_outside_the_models_is_read_after_migrate(reread):
    with connection.cursor() as cursor:
        cursor.execute("CREATE VIEW jp_raw_tags AS SELECT id, name FROM testapp_tag")
    try:
        relations.on_post_migrate(using=connection.alias, plan=[("a migration", False)])
        assert relations.expand({"jp_raw_tags"}) == {"jp_raw_tags", "testapp_tag"}
        assert reads.tables_named("SELECT name FROM jp_raw_tags") == {"jp_raw_tags"}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP VIEW jp_raw_tags")


def test_a_migrate_that_applied_nothing_reads_nothing(monkeypatch):
    read = []
    monkeypatch.setattr(relations, "read_catalogue", read.append)
    relations.on_post_migrate(using=connection.alias, plan=[])
    relations.on_post_migrate(using=connection.alias)  # flush sends no plan
    assert read == []


def test_the_catalogue_is_never_read_inside_a_transaction(monkeypatch):
    """A failing catalogue query would break the site's transaction: only in autocommit."""
    read = []
    monkeypatch.setattr(relations, "read_catalogue", read.append)
    with transaction.atomic():
        relations.read_when_safe(connection, again=True)
    assert read == []
    relations.read_when_safe(connection, again=True)
    assert read == [connections[connection.alias]]


def test_a_catalogue_that_cannot_be_read_is_said_and_safe(monkeypatch, caplog, reread):
    def denied(connection):
        raise DatabaseError("permission denied for pg_class")

    relations.forget()
    monkeypatch.setattr(relations, "read_catalogue", denied)
    relations.read_when_safe(connection)
    assert "could not read the views" in caplog.text
    assert EVERYTHING in relations.expand({"testapp_shelfview"})
