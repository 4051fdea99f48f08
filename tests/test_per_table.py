"""Per-table mode: a write makes stale only the pages whose render read what it wrote."""

import pytest
from django.db import connection, models, transaction
from django.test import Client, override_settings

import jimmypage
from tests.counting import round_trips
from tests.testapp.models import Article, Book, Hit, Shelf, Tag
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")
per_table = override_settings(JIMMY_PAGE_MODE="per-table", JIMMY_PAGE_STATUS_HEADER=STATUS)


def status(path, client=None):
    return (client or Client()).get(path)[STATUS]


@per_table
def test_write_to_an_unrelated_table_leaves_the_page_a_hit(settle):
    Client().get("/page/")
    Tag.objects.create(name="unrelated")
    assert status("/page/") == "hit"
    Article.objects.create(title="related")
    assert status("/page/") == "stale"
    settle()
    fresh = Client().get("/page/")
    assert fresh[STATUS] == "hit" and b"articles=related" in fresh.content


@per_table
def test_each_page_goes_stale_on_its_own_tables(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    Tag.objects.create(name="t")
    assert (status("/page/"), status("/tags/")) == ("hit", "stale")
    settle()
    assert status("/tags/") == "hit"


@per_table
def test_many_to_many_write_reaches_pages_that_read_the_through_table(settle):
    article = Article.objects.create(title="a")
    tag = Tag.objects.create(name="t")
    client = Client()
    client.get("/page/")
    assert status("/page/", client) == "hit"
    article.tags.add(tag)
    assert status("/page/", client) == "hit", "/page/ never read testapp_article_tags"
    Client().get("/tags/")
    article.tags.clear()
    assert status("/tags/") == "hit"


@per_table
def test_raw_sql_on_a_table_no_model_knows_makes_everything_stale(settle):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE jp_unknown (x integer)")
    try:
        for path in ("/page/", "/tags/", "/static/"):
            Client().get(path)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO jp_unknown (x) VALUES (1)")
        assert [status(p) for p in ("/page/", "/tags/", "/static/")] == ["stale"] * 3
        settle()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE jp_unknown")


@per_table
def test_a_page_that_read_no_table_changes_only_on_invalidate(settle):
    Client().get("/static/")
    Article.objects.create(title="a")
    Tag.objects.create(name="t")
    assert status("/static/") == "hit"
    jimmypage.invalidate()
    assert status("/static/") == "stale"


@per_table
@override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=[])
def test_declared_dependencies(settle):
    Client().get("/declared/")
    Article.objects.create(title="a")
    assert status("/declared/") == "hit"
    Tag.objects.create(name="t")
    assert status("/declared/") == "stale"
    settle()
    assert status("/declared/") == "hit"
    Hit.objects.create(path="/")
    assert status("/declared/") == "stale"


@per_table
def test_invalidate_named_models_or_tables(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    jimmypage.invalidate(Tag)
    assert (status("/page/"), status("/tags/")) == ("hit", "stale")
    settle()
    jimmypage.invalidate("testapp_article")
    assert (status("/page/"), status("/tags/")) == ("stale", "hit")


@per_table
def test_template_response_records_what_its_template_reads(settle):
    Client().get("/template/")
    Tag.objects.create(name="t")
    assert status("/template/") == "hit"
    Article.objects.create(title="read in the template")
    assert status("/template/") == "stale"
    settle()
    assert b"read in the template" in Client().get("/template/").content


@per_table
def test_async_view_records_its_reads(settle):
    Client().get("/async/")
    Tag.objects.create(name="t")
    assert status("/async/") == "hit"
    Article.objects.create(title="x")
    assert status("/async/") == "stale"
    settle()


@per_table
@override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0)  # the remote path (the tier: test_tier.py)
def test_a_hit_is_one_round_trip_in_the_steady_state():
    client = Client()
    client.get("/page/")
    client.get("/page/")  # learns which table generations the page needs
    with round_trips() as counted:
        assert status("/page/", client) == "hit"
    assert counted == {"get_many": 1}


@per_table
def test_a_transaction_changes_each_touched_tables_generation_once():
    with round_trips() as counted, transaction.atomic():
        for number in range(1000):
            Article.objects.create(title=f"a{number}")
        Tag.objects.create(name="t")
    assert counted == {"set_many": 1}, "both tables' generations in one write, at the commit"


@per_table
def test_an_evicted_table_generation_makes_its_pages_stale():
    from django.core.cache import caches

    from jimmypage import generations

    Client().get("/page/")
    caches["default"].delete(generations.table_key("testapp_article"))
    assert status("/page/") == "stale"


@per_table
def test_write_during_a_per_table_refresh_leaves_the_page_stale(settle):
    import threading

    from tests.testapp.views import HOOKS

    Client().get("/tags/")
    Tag.objects.create(name="one")
    rendering, finish = threading.Event(), threading.Event()

    def hold(request):
        if threading.current_thread().name.startswith("jimmypage"):
            rendering.set()
            assert finish.wait(10)

    HOOKS["tags_page"] = hold
    assert status("/tags/") == "stale"
    assert rendering.wait(10)
    Tag.objects.create(name="two")
    finish.set()
    settle()
    HOOKS.clear()
    assert status("/tags/") == "stale"
    settle()
    response = Client().get("/tags/")
    assert response[STATUS] == "hit" and response.content == b"one,two"
    assert RENDERS["tags_page"] == 3


@per_table
def test_a_render_that_raises_stops_recording_its_reads():
    from jimmypage import reads
    from tests.testapp.views import BEHAVIOUR

    BEHAVIOUR["changing"] = "error"
    with pytest.raises(RuntimeError):
        Client(raise_request_exception=True).get("/changing/")
    assert reads._recording.get() is None


@per_table
def test_a_lost_refresh_is_retried_at_the_next_write_to_the_pages_tables(monkeypatch):
    from jimmypage import executors, refresh

    Client().get("/tags/")
    submitted = []
    monkeypatch.setattr(
        refresh,
        "executor",
        lambda: type(
            "Lost", (), {"submit": lambda self, job, *args: submitted.append(args) or True}
        )(),
    )
    Tag.objects.create(name="one")
    assert status("/tags/") == "stale"
    assert status("/tags/") == "stale"
    assert len(submitted) == 1, "the lost refresh's lock holds"
    Tag.objects.create(name="two")
    assert status("/tags/") == "stale"
    assert len(submitted) == 2, "a new write to the page's table means a new lock"
    assert executors.wait_for_refreshes(5)


def test_the_tables_a_query_names_are_parsed_once_per_text_and_bounded(monkeypatch):
    from jimmypage import conf, reads

    query = 'SELECT "testapp_article"."id" FROM "testapp_article" JOIN nowhere ON 1 = 1'
    assert reads.tables_named(query) == {"testapp_article"}
    assert conf.memo("reads.tables_named")[query] == {"testapp_article"}
    monkeypatch.setattr(reads, "_NAMED_MAX", 2)
    for number in range(5):
        assert reads.tables_named(f"SELECT {number} FROM testapp_tag") == {"testapp_tag"}
    assert 0 < len(conf.memo("reads.tables_named")) <= 2


@per_table
def test_rows_the_database_deletes_itself_make_their_pages_stale(settle):
    """On Django 6.1, ``DB_CASCADE`` deletes the books in the database: no statement names them."""
    from jimmypage import writes

    shelf = Shelf.objects.create(name="s")
    Book.objects.create(title="kept", shelf=Shelf.objects.create(name="other"))
    Book.objects.create(title="gone", shelf=shelf)
    first = Client().get("/books/")
    assert first[STATUS] == "miss" and first.content == b"kept,gone"
    Shelf.objects.create(name="unrelated")  # an INSERT deletes nothing: no cascade
    Shelf.objects.filter(pk=shelf.pk).update(name="renamed")  # nor does an UPDATE
    assert status("/books/") == "hit"
    shelf.delete()
    assert status("/books/") == "stale"
    settle()
    assert Client().get("/books/").content == b"kept"
    if hasattr(models, "DB_CASCADE"):
        assert writes.with_database_cascades(frozenset({"testapp_shelf"}), "DELETE") == {
            "testapp_shelf",
            "testapp_book",
        }


@per_table
@pytest.mark.skipif(
    connection.vendor != "mysql", reason="a multi-table UPDATE is MySQL/MariaDB syntax"
)
def test_a_multi_table_update_makes_every_page_stale():
    Article.objects.create(title="a")
    Tag.objects.create(name="t")
    Client().get("/page/")  # reads the articles
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE testapp_tag JOIN testapp_article ON 1 = 1 SET testapp_article.title = 'b'"
        )
    assert status("/page/") == "stale"
