"""Refreshes: one per page and generation, off the live request, with their failures handled."""

import logging
import threading

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import Client, override_settings

from jimmypage import executors, generations, keys, refresh
from tests.testapp.models import Article
from tests.testapp.views import BEHAVIOUR, HOOKS, RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.django_db(transaction=True),
]


def in_refresh_thread() -> bool:
    return threading.current_thread().name.startswith("jimmypage")


def when_refreshing(view, action):
    """Run ``action(request)`` inside renders of ``view`` made by a refresh thread."""
    HOOKS[view] = lambda request: action(request) if in_refresh_thread() else None


@pytest.fixture
def client():
    return Client()


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_write_committed_during_a_refresh_leaves_the_page_stale(client, settle):
    client.get("/page/")
    Article.objects.create(title="one")
    rendering, finish = threading.Event(), threading.Event()

    def hold(request):
        rendering.set()
        assert finish.wait(10)

    when_refreshing("page", hold)
    assert client.get("/page/")[STATUS] == "stale"
    assert rendering.wait(10), "the refresh started rendering"
    Article.objects.create(title="two")  # commits while the refresh renders
    finish.set()
    settle()
    HOOKS.clear()
    assert client.get("/page/")[STATUS] == "stale", "the write was newer than the render"
    settle()
    fresh = client.get("/page/")
    assert fresh[STATUS] == "hit" and b"articles=one,two" in fresh.content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_sixteen_concurrent_stale_requests_cause_exactly_one_refresh(client, settle):
    client.get("/page/")
    Article.objects.create(title="new")
    finish = threading.Event()
    when_refreshing("page", lambda request: finish.wait(10))
    barrier = threading.Barrier(16)
    statuses = []

    def visit():
        barrier.wait(10)
        statuses.append(Client().get("/page/")[STATUS])

    threads = [threading.Thread(target=visit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    finish.set()
    settle()
    assert statuses == ["stale"] * 16
    assert RENDERS["page"] == 2, "the first render and exactly one refresh"
    assert b"articles=new" in client.get("/page/").content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_refresh_rebuilds_the_request_and_never_touches_the_live_one(settle):
    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.login(username="alice", password="pw")
    url = "/page/?b=2&a=1&a=0"
    first = alice.get(url, HTTP_ACCEPT_LANGUAGE="fr", HTTP_HOST="example.com")
    seen = []
    when_refreshing("page", seen.append)
    Article.objects.create(title="new")
    stale = alice.get(url, HTTP_ACCEPT_LANGUAGE="fr", HTTP_HOST="example.com")
    assert stale[STATUS] == "stale"
    settle()
    fresh = alice.get(url, HTTP_ACCEPT_LANGUAGE="fr", HTTP_HOST="example.com")
    assert fresh[STATUS] == "hit"
    assert fresh.content == first.content.replace(b"articles=", b"articles=new")
    assert b"user=alice|lang=fr|host=example.com" in fresh.content
    [rebuilt] = seen
    assert rebuilt is not stale.wsgi_request
    assert rebuilt.method == "GET" and rebuilt.user.username == "alice"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_refresh_keeps_an_anonymous_visitors_session(settle):
    shopper = Client()
    shopper.get("/cart/put/umbrella/")
    shopper.get("/cart/")
    Article.objects.create(title="new")
    assert shopper.get("/cart/")[STATUS] == "stale"
    settle()
    fresh = shopper.get("/cart/")
    assert fresh[STATUS] == "hit" and b"cart=umbrella" in fresh.content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
@pytest.mark.parametrize("behaviour", ["404", "410", "redirect", "raise404", "denied"])
def test_refresh_that_no_longer_answers_the_page_removes_it(client, settle, behaviour):
    client.get("/changing/")
    Article.objects.create(title="new")
    BEHAVIOUR["changing"] = behaviour
    assert client.get("/changing/")[STATUS] == "stale"
    settle()
    response = client.get("/changing/")
    assert RENDERS["changing"] == 3, "the visit after the refresh rendered the view again"
    # A view that raises has no response of its own to label.
    assert response.get(STATUS) == ("miss" if behaviour not in ("raise404", "denied") else None)
    assert response.status_code in {"404": (404,), "410": (410,), "denied": (403,)}.get(
        behaviour, (302, 404)
    )


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_REFRESH_RETRY_SECONDS=0)
def test_refresh_that_raises_keeps_the_stale_page_logs_and_frees_the_lock(settle, caplog):
    client = Client(raise_request_exception=False)  # not the background refresh's error
    client.get("/changing/")
    Article.objects.create(title="new")
    BEHAVIOUR["changing"] = "error"
    with caplog.at_level(logging.ERROR, logger="jimmypage"):
        assert client.get("/changing/")[STATUS] == "stale"
        settle()
    assert any("refresh of /changing/ failed" in r.getMessage() for r in caplog.records)
    again = client.get("/changing/")
    assert again[STATUS] == "stale" and b"changing-ok" in again.content
    settle()
    assert RENDERS["changing"] == 3, "the freed lock let the next request try again"
    BEHAVIOUR["changing"] = "ok"
    client.get("/changing/")
    settle()
    assert client.get("/changing/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_REFRESH_RETRY_SECONDS=1)
def test_a_failed_refresh_is_tried_again_only_after_the_retry_pause(settle):
    import time

    # The test client raises any request's error signalled while it waits, a background
    # refresh's included: the failing refresh must not be mistaken for this request's answer.
    client = Client(raise_request_exception=False)
    client.get("/changing/")
    Article.objects.create(title="new")
    BEHAVIOUR["changing"] = "error"
    assert client.get("/changing/")[STATUS] == "stale"
    settle()
    failed_at = time.monotonic()
    assert RENDERS["changing"] == 2
    BEHAVIOUR["changing"] = "ok"
    assert client.get("/changing/")[STATUS] == "stale"
    settle()
    assert RENDERS["changing"] == 2, "within the pause, a stale request starts no refresh"
    # The pause is the lock's expiry: one second, to the cache's own granularity (memcached's
    # whole seconds may end it a little early), so only its end is waited for here.
    while RENDERS["changing"] == 2 and time.monotonic() - failed_at < 5:
        time.sleep(0.2)
        refresh._tried_locks.clear()  # this process's memo of the pause is tested below
        assert client.get("/changing/")[STATUS] in ("stale", "hit")
        settle()
    assert RENDERS["changing"] == 3, "after the pause, the next stale request tries again"
    assert client.get("/changing/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_REFRESH_RETRY_SECONDS=30)
def test_this_process_does_not_ask_the_cache_for_a_lock_it_holds_for_a_pause():
    refresh.release("jimmypage:lock:paused", failed=True)
    assert caches["default"].get("jimmypage:lock:paused") == 1
    assert refresh._tried_lately("jimmypage:lock:paused")


def test_a_retry_pause_of_zero_frees_the_lock_at_once():
    with override_settings(JIMMY_PAGE_REFRESH_RETRY_SECONDS=0):
        caches["default"].set("jimmypage:lock:zero", 1)
        refresh.release("jimmypage:lock:zero", failed=True)
    assert caches["default"].get("jimmypage:lock:zero") is None
    assert not refresh._tried_lately("jimmypage:lock:zero")


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_TASK_LOCK_EXPIRES=1)
def test_a_lost_refresh_is_retried_once_its_lock_expires(client, monkeypatch):
    import time

    client.get("/page/")
    Article.objects.create(title="new")
    submitted = []
    pool = executors.executor()
    monkeypatch.setattr(
        refresh,
        "executor",
        lambda: type(
            "Lost", (), {"submit": lambda self, job, *args: submitted.append(args) or True}
        )(),
    )
    client.get("/page/")
    client.get("/page/")
    assert len(submitted) == 1, "the lock holds while the lost refresh might still run"
    time.sleep(2.2)  # DatabaseCache keeps expiry times to the second: a 1 s lock lives < 2 s
    client.get("/page/")
    assert len(submitted) == 2
    assert pool.wait(5)


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_full_pool_serves_stale_skips_and_retries_later(client, monkeypatch, caplog, settle):
    client.get("/page/")
    Article.objects.create(title="new")
    full = executors.ThreadExecutor(threads=1, queue_size=0)
    block = threading.Event()
    assert full.submit(block.wait, 10)
    monkeypatch.setattr(refresh, "executor", lambda: full)
    with caplog.at_level(logging.WARNING, logger="jimmypage"):
        assert client.get("/page/")[STATUS] == "stale"
    assert any("queue full" in r.getMessage() for r in caplog.records)
    block.set()
    assert full.wait(5)
    client.get("/page/")
    assert full.wait(10)
    assert client.get("/page/")[STATUS] == "hit"


def test_thread_executor_is_bounded():
    pool = executors.ThreadExecutor(threads=1, queue_size=1)
    gate = threading.Event()
    assert pool.submit(gate.wait, 10)
    assert pool.submit(gate.wait, 10)
    assert not pool.submit(gate.wait, 10)
    gate.set()
    assert pool.wait(5)
    assert pool.submit(lambda: None)
    assert pool.wait(5)


def test_refresh_threads_close_their_database_connections(client, monkeypatch, settle):
    from django.db import connections

    closed_in = []
    real_close_all = connections.close_all

    def close_all():
        closed_in.append(threading.current_thread().name)
        real_close_all()

    client.get("/page/")
    Article.objects.create(title="new")
    monkeypatch.setattr(refresh.connections, "close_all", close_all)
    client.get("/page/")
    settle()
    assert len(closed_in) == 1 and closed_in[0].startswith("jimmypage")


def test_a_refresh_finding_the_page_already_fresh_does_not_render(client):
    client.get("/page/")
    request = client.get("/page/").wsgi_request
    key = keys.base_key(request)
    snapshot = refresh.Snapshot.of(request, key)
    lock = keys.lock_key(key, generations.read())
    assert refresh.run(snapshot, lock) == "already fresh"
    assert RENDERS["page"] == 1
    assert caches["default"].get(lock) is None


def test_a_snapshot_survives_a_trip_through_json(client):
    import json

    request = client.get("/page/?a=1&a=2", HTTP_AUTHORIZATION="Bearer x").wsgi_request
    snapshot = refresh.Snapshot.of(request, keys.base_key(request))
    data = json.loads(json.dumps(snapshot.to_data()))
    assert refresh.Snapshot.from_data(data) == snapshot


def test_the_shared_anonymous_page_is_refreshed_without_anybodys_session(client, settle):
    visitor = Client()
    visitor.get("/cart/put/x/")
    anonymous = Client()
    anonymous.cookies["sessionid"] = "not-a-session-of-anybody-000000"
    request = anonymous.get("/page/").wsgi_request
    snapshot = refresh.Snapshot.of(request, keys.base_key(request))
    assert "HTTP_COOKIE" not in dict(snapshot.meta)
    shopper_request = visitor.get("/cart/").wsgi_request
    shopper = refresh.Snapshot.of(shopper_request, keys.base_key(shopper_request))
    assert dict(shopper.meta)["HTTP_COOKIE"] == f"sessionid={visitor.cookies['sessionid'].value}"
