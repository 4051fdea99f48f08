"""Bans sent to a cache in front when generations change (``jimmypage.purge``).

A small HTTP server in this process stands for Varnish and records the ``BAN`` requests; the
real Varnish, with the shipped VCL, is in ``test_varnish.py``.
"""

import http.server
import logging
import socket
import threading

import pytest
from django.db import transaction
from django.test import Client, override_settings

from jimmypage import invalidate, log, purge
from jimmypage.checks import check_settings
from tests.processes import free_port, until
from tests.testapp.models import Article, Shelf, Tag

pytestmark = pytest.mark.usefixtures("clean_state")


@pytest.fixture(autouse=True)
def sender(monkeypatch):
    """A sender of this test's own, stopped after it: no ban of one test reaches the next."""
    sender = purge.Sender()
    monkeypatch.setattr(purge, "_sender", sender)
    monkeypatch.setattr(log, "_last_error_at", {})
    yield sender
    sender.close()


class Recorder:
    """Answers ``BAN`` with 200 and records each request's keys; ``gate`` holds answers."""

    def __init__(self) -> None:
        self.bans: list[set[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_BAN(self):
                recorder.bans.append(set(self.headers[purge.BAN_HEADER].split("|")))
                recorder.arrived.set()
                recorder.gate.wait(10)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    recorder = Recorder()
    with override_settings(JIMMY_PAGE_PURGE_URLS=[recorder.url]):
        yield recorder
    assert purge.wait_until_sent(10)
    recorder.close()


def test_pages_carry_their_ban_keys_only_when_purging_is_on(recorder):
    page = Client().get("/page/")
    assert page["xkey"] == purge.site_key()
    with override_settings(JIMMY_PAGE_PURGE_URLS=[]):
        assert "xkey" not in Client().get("/tags/")


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_in_per_table_mode_a_page_carries_the_keys_of_its_tables(recorder):
    keys = set(Client().get("/books/")["xkey"].split())
    assert keys == {purge.site_key(), purge.table_key("testapp_book")}
    assert Client().get("/books/")["xkey"] == Client().get("/books/")["xkey"], "hits keep them"


def test_a_write_bans_every_page_in_global_mode(recorder):
    Article.objects.create(title="one")
    assert purge.wait_until_sent(10)
    assert recorder.bans == [{purge.site_key()}]


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_in_per_table_mode_a_write_bans_its_tables_and_invalidate_bans_everything(
    recorder, monkeypatch
):
    # The tables of a transaction change one by one at its commit: one burst, one request.
    monkeypatch.setattr(purge, "BURST_WINDOW", 0.5)
    with transaction.atomic():
        Shelf.objects.create(name="s")
        Tag.objects.create(name="t")
    assert purge.wait_until_sent(10)
    assert recorder.bans == [{purge.table_key("testapp_shelf"), purge.table_key("testapp_tag")}]
    invalidate()
    assert purge.wait_until_sent(10)
    assert recorder.bans[1:] == [{purge.site_key()}]


def test_a_rolled_back_write_bans_nothing(recorder):
    with transaction.atomic():
        Article.objects.create(title="never")
        transaction.set_rollback(True)
    assert purge.wait_until_sent(10)
    assert recorder.bans == []


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_a_burst_of_writes_is_one_request(recorder):
    recorder.gate.clear()  # the first ban is held in the "cache" while writes go on
    Shelf.objects.create(name="first")
    assert recorder.arrived.wait(10)
    Tag.objects.create(name="a")
    Article.objects.create(title="b")
    Tag.objects.create(name="c")
    recorder.gate.set()
    assert purge.wait_until_sent(10)
    assert recorder.bans == [
        {purge.table_key("testapp_shelf")},
        {purge.table_key("testapp_tag"), purge.table_key("testapp_article")},
    ]


def test_every_ban_is_sent_again_for_pages_fetched_while_it_arrived(recorder, monkeypatch):
    monkeypatch.setattr(purge, "REPEAT_AFTER", 0.05)
    Article.objects.create(title="one")
    until(lambda: len(recorder.bans) == 2, 10, "the ban sent again")
    assert recorder.bans == [{purge.site_key()}] * 2


def test_a_write_never_waits_for_the_cache_in_front():
    # A cache that accepts the connection and never answers: the ban waits, the write does not.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with override_settings(JIMMY_PAGE_PURGE_URLS=[url]):
            Article.objects.create(title="one")
            Article.objects.create(title="two")
            assert Article.objects.count() == 2
            assert not purge.wait_until_sent(0.1), "the ban is still waiting for an answer"
    finally:
        listener.close()


def test_a_cache_that_is_down_fails_nothing_and_is_logged_once(caplog, monkeypatch, settle):
    monkeypatch.setattr(purge, "RETRY_FIRST", 0.01)
    url = f"http://127.0.0.1:{free_port()}/"
    with (
        caplog.at_level(logging.ERROR, logger="jimmypage"),
        override_settings(JIMMY_PAGE_PURGE_URLS=[url]),
    ):
        for number in range(3):
            Article.objects.create(title=f"t{number}")
            assert Client().get("/page/").status_code == 200
            # The stale page's refresh reads the articles: on SQLite's shared in-memory
            # database, the next write would find the table locked ("database table is locked").
            settle()
        until(lambda: caplog.records, 10, "the error logged")
        # It is retried (the keys stay queued) and logged once a minute at most.
        assert not purge.wait_until_sent(0.3)
    errors = [record for record in caplog.records if "cannot ban" in record.getMessage()]
    assert len(errors) == 1 and url in errors[0].getMessage()


def test_a_cache_that_refuses_is_logged_and_not_retried(caplog):
    recorder = Recorder()
    recorder.server.RequestHandlerClass.do_BAN = lambda self: self.send_error(405)
    try:
        with (
            caplog.at_level(logging.ERROR, logger="jimmypage"),
            override_settings(JIMMY_PAGE_PURGE_URLS=[recorder.url]),
        ):
            Article.objects.create(title="one")
            assert purge.wait_until_sent(10)
        assert any("refused a ban: 405" in record.getMessage() for record in caplog.records)
    finally:
        recorder.close()


@pytest.mark.parametrize("value", [["varnish:6081"], ["ftp://host/"], [None]])
def test_a_purge_url_that_is_not_http_is_a_system_check_error(value):
    with override_settings(JIMMY_PAGE_PURGE_URLS=value):
        assert [error.id for error in check_settings()] == ["jimmypage.E010"]


def test_a_process_that_exits_right_after_a_write_still_bans(recorder):
    import subprocess
    import sys

    from tests.processes import ROOT, created_databases, server_env

    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        f"settings.JIMMY_PAGE_PURGE_URLS = [{recorder.url!r}]\n"
        "import jimmypage; jimmypage.invalidate()\n"
    )
    env = server_env(created_databases())  # a DatabaseCache lives in the test database
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=60)
    assert recorder.bans == [{purge.site_key()}]


def test_a_signed_in_users_page_is_tagged_by_the_tables_inside_its_stamp():
    """A page of a signed-in user wraps its stamp with the users generation (``users``)."""
    from jimmypage import users

    per_table = ("g", (("testapp_article", "t1"), ("testapp_tag", "t2")))
    expected = purge.page_keys(per_table)
    assert purge.page_keys(users.stamped(per_table, "u")) == expected
    assert purge.page_keys(users.stamped("g", "u")) == purge.site_key()
    assert expected.split() == [
        purge.site_key(),
        purge.table_key("testapp_article"),
        purge.table_key("testapp_tag"),
    ]
