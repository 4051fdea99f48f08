"""Refreshes run by real workers: Django Tasks (django-tasks-db's ``db_worker``) and Celery.

The pytest process is the web server: it finds pages stale and enqueues their refresh. Each
worker is a process of its own, started by the test with ``tests.server_settings`` (the same
databases and cache), awaited until it says it is ready, and always stopped.

Needs PostgreSQL and a cache server (the runs with ``JIMMYPAGE_TEST_DB=postgres`` and a cache
other than ``locmem``), and for Celery the broker (``JIMMYPAGE_TEST_CELERY_BROKER``).
"""

import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

import jimmypage
from tests.processes import (
    Process,
    created_databases,
    python,
    require_module,
    require_server,
    require_shared_backends,
    server_env,
    until,
)
from tests.server_views import COUNTED, HOLD, renders
from tests.testapp.models import Article
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
EXECUTORS = ("tasks", "celery")
WHITELIST = ["django_session", "auth_user", "testapp_hit"]
pytestmark = [pytest.mark.usefixtures("clean_state"), pytest.mark.backend_server]


def _require(executor: str) -> None:
    require_shared_backends()
    if executor == "tasks":
        if not (_has("django.tasks") or _has("django_tasks")):
            require_module("django_tasks")
        require_module("django_tasks_db")
    else:
        require_module("celery")
        require_server(settings.CELERY_BROKER_URL, "the Celery broker (Redis)")


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


@pytest.fixture
def start_worker(tmp_path):
    """``start_worker(executor, hold=None)``: a ready worker process, stopped after the test."""
    started: list[Process] = []
    purged = set()

    def start(executor: str, hold=None) -> Process:
        _require(executor)
        name = f"{executor}-{len(started)}-{uuid.uuid4().hex[:8]}"
        env = server_env(created_databases(), JIMMYPAGE_SERVER_EXECUTOR=executor)
        if hold is not None:
            env[HOLD] = str(hold)
        if executor == "tasks":
            argv = python(
                "-m",
                "django",
                "db_worker",
                "--interval=0.05",
                "--no-startup-delay",
                "--no-reload",
                f"--worker-id={name}",
            )
            ready = "Starting worker"
        else:
            if executor not in purged:
                from tests.celery_app import app

                app.control.purge()  # messages left by an earlier test
                purged.add(executor)
            argv = python(
                "-m",
                "celery",
                "-A",
                "tests.celery_app",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname={name}@localhost",
            )
            ready = " ready."
        process = Process(name, argv, env, tmp_path / f"{name}.log")
        started.append(process.start())
        process.wait_for_log(ready, timeout=60)
        return process

    yield start
    for process in started:
        process.stop()


def _executor_settings(executor: str, **more):
    if executor == "celery":
        import tests.celery_app  # noqa: F401  (the project's Celery app, as its celery.py)
    return override_settings(
        JIMMY_PAGE_REFRESH_EXECUTOR=executor, JIMMY_PAGE_STATUS_HEADER=STATUS, **more
    )


def _wait_for_hit(client: Client, url: str, timeout: float = 30, **extra):
    """Request ``url`` until it is a hit; each stale answer may enqueue a refresh, as in life."""

    def hit():
        response = client.get(url, **extra)
        return response if response[STATUS] == "hit" else None

    return until(hit, timeout, f"a fresh {url}", interval=0.1)


# One page in four variants: who, in which language, with which query string.
VARIANTS = {
    "anonymous": ("/page/", {}, False),
    "logged in": ("/page/", {}, True),
    "in french": ("/page/", {"HTTP_ACCEPT_LANGUAGE": "fr"}, False),
    "query string": ("/page/?b=2&a=1&a=0&q=%C3%A9t%C3%A9", {}, False),
}


def _clients():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    assert alice.login(username="alice", password="pw")
    return {True: alice, False: Client()}


# Headers that tell when a page was rendered, not what it is.
_RENDER_TIME = frozenset({"Age", "Last-Modified"})


def _page(response):
    headers = [item for item in response.headers.items() if item[0] not in _RENDER_TIME]
    return response.content, sorted(headers)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_worker_renders_the_page_the_refresh_thread_renders(executor, start_worker, settle):
    """Byte for byte, headers included, for each variant."""
    _require(executor)
    clients = _clients()
    with override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS):
        for url, extra, logged_in in VARIANTS.values():
            assert clients[logged_in].get(url, **extra)[STATUS] == "miss"
        Article.objects.create(title="one")
        by_thread = {}
        for variant, (url, extra, logged_in) in VARIANTS.items():
            assert clients[logged_in].get(url, **extra)[STATUS] == "stale"
            settle()
            by_thread[variant] = _page(_wait_for_hit(clients[logged_in], url, **extra))
    start_worker(executor)
    jimmypage.invalidate()  # stale again, with the same data: the worker must render the same
    in_this_process = RENDERS["page"]
    by_worker = {}
    with _executor_settings(executor):
        for url, extra, logged_in in VARIANTS.values():
            assert clients[logged_in].get(url, **extra)[STATUS] == "stale"
        for variant, (url, extra, logged_in) in VARIANTS.items():
            by_worker[variant] = _page(_wait_for_hit(clients[logged_in], url, **extra))
    assert RENDERS["page"] == in_this_process, "the worker rendered, not this process"
    for variant in VARIANTS:
        assert by_worker[variant] == by_thread[variant], variant
    assert b"articles=one" in by_worker["anonymous"][0]
    assert b"user=alice" in by_worker["logged in"][0]
    assert b"lang=fr" in by_worker["in french"][0]
    assert b"('q', ['\xc3\xa9t\xc3\xa9'])" in by_worker["query string"][0]


@pytest.fixture
def enqueued(monkeypatch):
    """The lock keys of the refreshes this process sent to a task queue."""
    from jimmypage import executors

    sent = []
    real_submit = executors.TaskQueueExecutor.submit

    def submit(self, job, snapshot, lock):
        sent.append(lock)
        return real_submit(self, job, snapshot, lock)

    monkeypatch.setattr(executors.TaskQueueExecutor, "submit", submit)
    return sent


@pytest.mark.parametrize("retry", ["lock expiry", "next generation"])
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_refresh_lost_with_its_worker_is_retried(
    executor, retry, start_worker, enqueued, tmp_path
):
    """Kill the worker in the middle of a render: the page is refreshed by the next worker once
    the lock expires, or at the next write, and only once."""
    _require(executor)
    hold = tmp_path / "hold"
    expires = 2 if retry == "lock expiry" else 900
    client = Client()
    more = {
        "ROOT_URLCONF": "tests.server_urls",
        "JIMMY_PAGE_TASK_LOCK_EXPIRES": expires,
        "JIMMY_PAGE_EXPIRATION_WHITELIST": WHITELIST,
    }
    with _executor_settings(executor, **more):
        first = start_worker(executor, hold=hold)
        hold.touch()
        assert client.get(COUNTED)[STATUS] == "miss"
        Article.objects.create(title="one")
        locked_at = time.monotonic()
        assert client.get(COUNTED)[STATUS] == "stale"
        until(lambda: renders() == 2, 30, "the worker to start rendering")
        first.kill()
        hold.unlink()
        assert client.get(COUNTED)[STATUS] == "stale"
        if time.monotonic() - locked_at < expires - 0.5:
            assert len(enqueued) == 1, "the lost refresh's lock still stands"
        start_worker(executor)
        if retry == "next generation":
            Article.objects.create(title="two")
        fresh = _wait_for_hit(client, COUNTED, timeout=60)
    assert renders() == 3, "the first render, the lost one, and one retry"
    assert len(enqueued) == 2, "the lost refresh and one retry"
    # After expiry the same lock is taken again; a new generation has a lock of its own.
    assert (enqueued[0] == enqueued[1]) == (retry == "lock expiry")
    titles = "one" if retry == "lock expiry" else "one,two"
    assert f"articles={titles}|".encode() in fresh.content
