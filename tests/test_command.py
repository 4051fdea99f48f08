"""``manage.py jimmypage``: invalidate, stats, warm and inspect."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import Client, modify_settings, override_settings

import jimmypage
from jimmypage import entries, generations
from tests.testapp.models import Article, Tag
from tests.testapp.views import BEHAVIOUR, RENDERS

pytestmark = pytest.mark.usefixtures("clean_state")

per_table = override_settings(JIMMY_PAGE_MODE="per-table")
with_sitemaps = [
    modify_settings(INSTALLED_APPS={"append": "django.contrib.sitemaps"}),
    override_settings(ROOT_URLCONF="tests.sitemap_urls"),
]


def run(*args, stdout=None):
    """The command's standard output, and its error output, as text."""
    out, err = stdout or StringIO(), StringIO()
    call_command("jimmypage", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def output(*args):
    return run(*args)[0]


def inspect(url, *args):
    return json.loads(output("inspect", url, "--json", *args))


def status(path, client=None, **extra):
    return (client or Client()).get(path, **extra).jimmypage_status


def lines_for(text, url):
    return [line for line in text.splitlines() if line.endswith(f"  {url}")]


# -- invalidate ------------------------------------------------------------------------------


def test_invalidate_makes_every_page_stale(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    assert "Every page is now stale" in output("invalidate")
    assert (status("/page/"), status("/tags/")) == ("stale", "stale")
    settle()
    assert status("/page/") == "hit"


@per_table
def test_invalidate_by_model_label_makes_its_pages_stale(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    text = output("invalidate", "testapp.Tag")
    assert text.strip() == "The pages that depend on testapp_tag are now stale."
    assert (status("/page/"), status("/tags/")) == ("hit", "stale")
    settle()


@per_table
def test_invalidate_by_table_name_makes_its_pages_stale(settle):
    for path in ("/page/", "/tags/"):
        Client().get(path)
    assert "testapp_article" in output("invalidate", "testapp_article")
    assert (status("/page/"), status("/tags/")) == ("stale", "hit")
    settle()


@per_table
def test_invalidate_a_table_no_model_has_makes_every_page_stale(settle):
    Client().get("/tags/")
    assert "no installed model has the table(s) raw_counts" in output("invalidate", "raw_counts")
    assert status("/tags/") == "stale"
    settle()


def test_invalidate_a_model_in_global_mode_makes_every_page_stale(settle):
    Client().get("/page/")
    assert "global mode" in output("invalidate", "auth.Group")
    assert status("/page/") == "stale"
    settle()


@pytest.mark.parametrize("label", ["testapp.Nope", "nope.Article", "a.b.c"])
def test_invalidate_an_unknown_model_label_is_an_error(label):
    Client().get("/page/")
    with pytest.raises(CommandError, match=f"Unknown model '{label}'"):
        output("invalidate", "testapp.Tag", label)
    assert status("/page/") == "hit", "nothing is invalidated when a label is wrong"


# -- stats -----------------------------------------------------------------------------------


def test_stats_show_the_counts_of_requests_and_refreshes(settle):
    output("stats", "--reset")
    client = Client()
    client.get("/page/")  # miss
    client.get("/page/")  # hit
    client.get("/page/")  # hit
    client.post("/page/")  # bypass
    Article.objects.create(title="new")
    client.get("/page/")  # stale, and a refresh
    settle()
    totals = json.loads(output("stats", "--json"))
    assert {name: totals.pop(name) for name in ("local_hit", "remote_hit")} in (
        {"local_hit": 0, "remote_hit": 2},
        {"local_hit": 1, "remote_hit": 1},  # the tier (Redis): the second hit was local
    )
    assert totals.pop("invalidation") >= 0 and totals.pop("stream_drop") == 0
    assert totals == {
        "hit": 2,
        "stale": 1,
        "miss": 1,
        "bypass": 1,
        "refreshed": 1,
        "refresh_failed": 0,
        "hit_ratio": 0.75,
    }
    text = output("stats")
    assert "hits                       2" in text
    assert "refreshes                  1" in text
    assert "75.0%" in text


@override_settings(JIMMY_PAGE_STATUS_HEADER="X-Jimmy-Page")
def test_stats_count_refresh_failures(settle):
    output("stats", "--reset")
    statuses = [Client().get("/changing/")["X-Jimmy-Page"] for _ in range(2)]
    assert statuses == ["miss", "hit"], f"the page was not stored: {statuses}"
    BEHAVIOUR["changing"] = "error"
    jimmypage.invalidate()
    # A failure here would have been raised by the view: the cache did not serve the stale page.
    stale = Client(raise_request_exception=False).get("/changing/")
    assert stale.get("X-Jimmy-Page") == "stale", (stale.status_code, stale.headers)
    settle()
    totals = json.loads(output("stats", "--json"))
    assert (totals["refresh_failed"], totals["refreshed"], totals["stale"]) == (1, 0, 1)


def test_stats_say_that_recent_traffic_may_not_be_counted_yet():
    """Web processes add their counts every JIMMY_PAGE_STATS_FLUSH_SECONDS: right after some
    traffic, stats reads less than it will (issue 17)."""
    with override_settings(JIMMY_PAGE_STATS_FLUSH_SECONDS=10):
        assert "traffic of the last 10 s may not be counted yet" in output("stats")
    with override_settings(JIMMY_PAGE_STATS_FLUSH_SECONDS=0):
        assert "only when they call jimmypage.stats.flush()" in output("stats")
    assert "counted yet" not in output("stats", "--json")


def test_stats_reset_zeroes_every_counter():
    Client().get("/page/")
    Client().get("/page/")
    text = output("stats", "--reset")
    assert "hits                       1" in text and "Every counter is now zero." in text
    totals = json.loads(output("stats", "--json"))
    assert set(totals.values()) == {0, None}
    assert totals["hit_ratio"] is None
    assert "n/a" in output("stats")


# -- warm ------------------------------------------------------------------------------------


def test_warm_renders_pages_that_visitors_then_hit():
    text = output("warm", "/page/", "http://example.com/first/", "/slug/a/?b=2&a=1")
    assert "200 miss" in lines_for(text, "/page/")[0]
    assert "200 miss" in lines_for(text, "http://example.com/first/")[0]
    assert "Warmed 3 URL(s): 3 miss." in text
    assert status("/page/") == "hit"
    assert status("/first/", HTTP_HOST="example.com") == "hit"
    assert status("/slug/a/?b=2&a=1") == "hit", "warmed as spelled"
    assert (RENDERS["page"], RENDERS["first"], RENDERS["with_kwargs"]) == (1, 1, 1)
    again = output("warm", "/page/")
    assert "200 hit" in lines_for(again, "/page/")[0]


def test_warm_is_an_anonymous_visitor_without_cookies():
    user = User.objects.create_user("ann", password="pw")
    # The first URL sets a session cookie; the next one must not send it back.
    text = output("warm", "/cart/put/shoe/", "/cart/")
    assert "200 -" in lines_for(text, "/cart/put/shoe/")[0]
    assert "200 miss" in lines_for(text, "/cart/")[0]
    response = Client().get("/cart/")
    assert response.jimmypage_status == "hit" and response.content == b"cart=None"
    logged_in = Client()
    logged_in.force_login(user)
    assert status("/cart/", logged_in) == "miss"


def test_warm_refreshes_a_stale_page_before_it_returns():
    output("warm", "/page/")
    Article.objects.create(title="written later")
    text = output("warm", "/page/")
    assert "200 stale" in lines_for(text, "/page/")[0]
    response = Client().get("/page/")
    assert response.jimmypage_status == "hit" and b"written later" in response.content


def test_warm_shows_a_progress_bar_on_a_terminal():
    class Terminal(StringIO):
        def isatty(self):
            return True

    text, _ = run("warm", "/page/", "/first/", stdout=Terminal())
    assert "\r\x1b[K[###############...............] 1/2" in text
    assert "[##############################] 2/2" in text
    assert "200 miss" in text and "Warmed 2 URL(s)" in text


def test_warm_needs_urls():
    with pytest.raises(CommandError, match="Nothing to warm"):
        output("warm")


def test_warm_every_page_of_a_sitemap():
    articles = [Article.objects.create(title=f"a{n}") for n in range(2)]
    expected = ["/page/", "/template/", "/static/"]
    expected += [f"/slug/article-{article.pk}/" for article in articles]
    with with_sitemaps[0], with_sitemaps[1]:
        text = output("warm", "--sitemap")
        assert "Sitemap /sitemap.xml: 5 <loc>." in text
        for path in expected:
            [line] = lines_for(text, f"http://testserver{path}")
            assert line.startswith("200 miss")
            assert status(path) == "hit", path
    assert "Warmed 5 URL(s): 5 miss." in text


def test_warm_a_sitemap_index_one_level_deep():
    article = Article.objects.create(title="a")
    with with_sitemaps[0], with_sitemaps[1]:
        text = output("warm", "--sitemap", "/sitemap-index.xml")
        assert "Sitemap /sitemap-index.xml: 2 <loc>." in text
        assert "Sitemap http://testserver/sitemap-pages.xml: 3 <loc>." in text
        for path in ("/page/", "/template/", "/static/", f"/slug/article-{article.pk}/"):
            assert lines_for(text, f"http://testserver{path}"), path
            assert status(path) == "hit", path


def test_warm_fails_when_a_page_answers_5xx():
    with with_sitemaps[0], with_sitemaps[1]:
        out = StringIO()
        with pytest.raises(CommandError, match=r"1 URL\(s\) answered with a server error"):
            call_command("jimmypage", "warm", "--sitemap", "/broken-sitemap.xml", stdout=out)
        text = out.getvalue()
        assert lines_for(text, "http://testserver/broken/")[0].startswith("500 -")
        assert lines_for(text, "http://testserver/page/")[0].startswith("200 miss")
        assert status("/page/") == "hit", "the other pages are warmed all the same"


def test_warm_exits_non_zero_on_the_command_line(capsys):
    with with_sitemaps[0], with_sitemaps[1], pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "jimmypage", "warm", "/page/", "/broken/"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "500 -" in captured.out and "server error (5xx)" in captured.err


@pytest.mark.parametrize(
    ("sitemap", "message"),
    [
        ("/missing.xml", "answered with status 404"),
        ("/not-xml.xml", "is not valid XML"),
        ("/page/", "is not valid XML"),
    ],
)
def test_warm_a_sitemap_that_is_not_one_is_an_error(sitemap, message):
    with with_sitemaps[0], with_sitemaps[1], pytest.raises(CommandError, match=message):
        output("warm", "--sitemap", sitemap)


# -- inspect ---------------------------------------------------------------------------------


def test_inspect_before_and_after_a_visit_and_after_a_write(settle):
    before = inspect("/page/")
    assert before["entry"] is None and before["vary"] is None
    assert before["url"] == "http://testserver/page/" and before["language"] == "en"
    assert before["view"] == "tests.testapp.views.page"
    assert "none: the next request renders and stores it" in output("inspect", "/page/")

    Client().get("/page/")
    after = inspect("/page/")
    assert after["key"] == before["key"]
    assert caches["default"].get(after["key"])[0] == entries.PAGE, "the key is where the page is"
    assert after["entry"] == "page" and after["status_code"] == 200
    assert after["fresh"] is True and 0 <= after["age"] < 60
    assert (
        after["stamp"] == after["generation"] == caches["default"].get(generations.generation_key())
    )
    text = output("inspect", "/page/")
    assert re.search(r"^Status code +200$", text, re.MULTILINE)
    assert re.search(r"^Fresh +yes: ", text, re.MULTILINE)

    Article.objects.create(title="new")
    written = inspect("/page/")
    assert written["fresh"] is False and written["stamp"] == after["stamp"]
    assert written["generation"] != after["generation"]
    assert "no, stale: a write (or invalidate) changed" in output("inspect", "/page/")
    assert status("/page/") == "stale", "inspect told what the next request gets"
    settle()
    assert inspect("/page/")["fresh"] is True


def test_inspect_the_page_of_a_user():
    user = User.objects.create_user("ann", password="pw")
    client = Client()
    client.force_login(user)
    client.get("/page/")
    mine = inspect("/page/", "--user", "ann")
    assert mine["entry"] == "page" and mine["fresh"] is True
    assert mine["visitor"] == f"user ann (pk {user.pk})"
    assert b"user=ann" in caches["default"].get(mine["key"])[3]
    anonymous = inspect("/page/")
    assert anonymous["entry"] is None and anonymous["key"] != mine["key"]
    with pytest.raises(CommandError, match="No user is called 'bob'"):
        output("inspect", "/page/", "--user", "bob")


def test_inspect_in_a_language():
    Client().get("/page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert inspect("/page/")["entry"] is None
    french = inspect("/page/", "--language", "fr")
    assert french["entry"] == "page" and french["language"] == "fr"
    assert inspect("/page/", "-H", "Accept-Language: fr")["key"] == french["key"]


def test_inspect_a_page_that_varies_on_a_header():
    Client().get("/vary/", HTTP_ACCEPT="text/html")
    without = inspect("/vary/")
    assert without["vary"] == ["Accept"] and without["entry"] is None
    assert "a Vary marker: the page varies on Accept" in output("inspect", "/vary/")
    html = inspect("/vary/", "--header", "Accept: text/html")
    assert html["entry"] == "page" and html["fresh"] is True
    assert html["variant_key"].startswith(html["key"] + ":")


@per_table
def test_inspect_names_the_tables_that_made_a_page_stale():
    Client().get("/page/")
    Tag.objects.create(name="unrelated")
    assert inspect("/page/")["fresh"] is True
    Article.objects.create(title="related")
    report = inspect("/page/")
    assert report["fresh"] is False and report["changed_tables"] == ["testapp_article"]
    assert "testapp_article changed since it was rendered" in output("inspect", "/page/")


def test_inspect_at_a_host():
    Client().get("/page/", HTTP_HOST="example.com")
    assert inspect("http://example.com/page/")["entry"] == "page"
    assert inspect("/page/", "--host", "example.com")["entry"] == "page"
    assert inspect("https://example.com/page/")["entry"] is None, "the scheme keys the page"
    with pytest.raises(CommandError, match="Invalid HTTP_HOST header"):
        output("inspect", "http://evil.invalid/page/")


def test_inspect_says_which_host_it_assumed():
    """A path without --host gets the first ALLOWED_HOSTS entry that names one host; a page
    served at another host or port has another key, so inspect says what it assumed."""
    text = output("inspect", "/page/")
    assert re.search(r"^Host +testserver, assumed \(the first ALLOWED_HOSTS entry", text, re.M)
    assert "give --host HOST[:PORT]" in text
    assert inspect("/page/")["host_assumed"] == "the first ALLOWED_HOSTS entry that names one host"
    with override_settings(ALLOWED_HOSTS=[".example.com", "*"]):
        report = inspect("/page/")
    assert (report["host"], report["host_assumed"]) == (
        "localhost",
        "no ALLOWED_HOSTS entry names one host",
    )
    for given in (("/page/", "--host", "example.com:8000"), ("http://example.com/page/",)):
        assert not re.search(r"^Host ", output("inspect", *given), re.M)
        assert inspect(*given)["host_assumed"] is None
    assert inspect("/page/", "--host", "example.com:8000")["host"] == "example.com:8000"


def test_inspect_renders_nothing():
    Client().get("/page/")
    Article.objects.create(title="new")
    inspect("/page/")
    assert RENDERS["page"] == 1


def test_a_cache_private_to_each_process_is_pointed_out():
    _, err = run("stats")
    private = isinstance(caches["default"], LocMemCache)
    assert ("private to each process" in err) is private


@override_settings(SECURE_SSL_REDIRECT=True)
def test_paths_are_requested_over_https_when_the_site_redirects_to_it():
    assert inspect("/page/")["url"] == "https://testserver/page/"
    assert "200 miss" in output("warm", "/page/")
    assert status("/page/", secure=True) == "hit"
    assert inspect("http://testserver/page/")["entry"] is None
