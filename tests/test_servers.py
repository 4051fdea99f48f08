"""Two real web servers (gunicorn, one process each) over one cache and one database.

A write made here, in the pytest process, makes the page stale in both servers; a crowd of
clients spread over both, right after a write, causes exactly one refresh render in total.
Renders are counted in the database (``tests.server_views.renders``), which every process sees.

Needs PostgreSQL and a cache server: the runs with ``JIMMYPAGE_TEST_DB=postgres`` and a cache
other than ``locmem``.
"""

import http.client
import threading
import time

import pytest
from django.conf import settings

from jimmypage import tracking
from tests.processes import (
    Process,
    created_databases,
    free_port,
    python,
    require_module,
    require_shared_backends,
    server_env,
    until,
)
from tests.server_views import COUNTED, HOLD, renders
from tests.testapp.models import Article

STATUS = "X-Jimmy-Page"
CLIENTS = 32
GENERATIONS = 3
# Both servers must see one page: the host is part of its key, so every request names the same.
HOST = "example.com"
pytestmark = [pytest.mark.usefixtures("clean_state"), pytest.mark.backend_server]


class Server:
    def __init__(self, process: Process, port: int) -> None:
        self.process = process
        self.port = port

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Host": HOST})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def answers(self) -> bool:
        try:
            return self.get("/ping/", timeout=2)[0] == 200
        except OSError:
            return False


@pytest.fixture(scope="module")
def hold(tmp_path_factory):
    """While this file exists, refresh renders of ``/counted/`` wait."""
    return tmp_path_factory.mktemp("servers") / "hold"


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, hold, tmp_path_factory):
    """Two gunicorn servers, one worker process each, started once for this module."""
    require_shared_backends()
    require_module("gunicorn")
    with django_db_blocker.unblock():
        env = server_env(created_databases(), **{HOLD: str(hold)})
    logs = tmp_path_factory.mktemp("server-logs")
    started = []
    try:
        for number in range(2):
            port = free_port()
            argv = python(
                "-m",
                "gunicorn",
                "tests.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                "--worker-class=gthread",
                f"--threads={CLIENTS}",
                "--timeout=60",
                "--graceful-timeout=5",
            )
            process = Process(f"gunicorn-{number}", argv, env, logs / f"gunicorn-{number}.log")
            started.append(Server(process.start(), port))
        for server in started:
            server.process.wait_until(server.answers, 60, "the server to answer")
        yield started
    finally:
        for server in started:
            server.process.stop()


def _past_the_tiers_bound() -> None:
    """Wait out the process-local tier's bound: a write reaches each server's tier within it
    (tests/test_tier_servers.py); a request sent sooner may still get the page as fresh."""
    written = time.monotonic()
    until(lambda: time.monotonic() > written + tracking.MAX_LAG, 5, "the tier's bound")


def _status(server: Server, path: str = COUNTED) -> str:
    status, headers, _ = server.get(path)
    assert status == 200
    return headers[STATUS]


def _crowd(servers: list[Server]) -> list[tuple[str, str]]:
    """CLIENTS concurrent requests, half to each server: their (status, process id)."""
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(server: Server) -> None:
        try:
            barrier.wait(30)
            _, headers, _ = server.get(COUNTED)
            with lock:
                answers.append((headers[STATUS], headers["X-Process-Id"]))
        except BaseException as error:  # reported by the test, not lost in a thread
            with lock:
                errors.append(error)

    threads = [
        threading.Thread(target=client, args=(servers[number % 2],)) for number in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert not errors, errors
    return answers


def test_a_write_here_makes_the_page_stale_in_both_servers(servers, hold):
    first, second = servers
    assert _status(first) == "miss"
    assert _status(second) == "hit", "one cache: the page the first server stored"
    hold.touch()
    try:
        Article.objects.create(title="one")
        _past_the_tiers_bound()
        assert _status(first) == "stale"
        assert _status(second) == "stale"
    finally:
        hold.unlink()
    until(lambda: _status(second) == "hit", 30, "the refreshed page")
    _, _, body = first.get(COUNTED)
    assert b"articles=one|" in body
    assert renders() == 2, "the first render and one refresh"


def test_a_crowd_over_both_servers_causes_one_refresh_per_generation(servers, hold):
    first, second = servers
    first_pid = first.get("/ping/")[2].decode()
    second_pid = second.get("/ping/")[2].decode()
    assert first_pid != second_pid
    assert _status(first) == "miss"
    per_generation = []
    for generation in range(GENERATIONS):
        before = renders()
        # The first crowd comes while the refresh is held, so that every answer is stale;
        # the next ones come while it runs freely, as they would in life.
        holding = generation == 0
        if holding:
            hold.touch()
        try:
            Article.objects.create(title=f"title{generation}")
            _past_the_tiers_bound()
            answers = _crowd(servers)
        finally:
            if holding:
                hold.unlink()
        assert len(answers) == CLIENTS
        assert {pid for _, pid in answers} == {first_pid, second_pid}
        if holding:
            assert {status for status, _ in answers} == {"stale"}
        else:
            assert {status for status, _ in answers} <= {"stale", "hit"}
        until(lambda: _status(first) == "hit" and _status(second) == "hit", 30, "a fresh page")
        per_generation.append(renders() - before)
    print(f"refresh renders per generation, {CLIENTS} clients over 2 servers: {per_generation}")
    if settings.TEST_CACHE == "file":
        # FileBasedCache.add() is not atomic (jimmypage.W002): two requests may both win a lock.
        assert all(renders >= 1 for renders in per_generation)
    else:
        assert per_generation == [1] * GENERATIONS
    _, _, body = second.get(COUNTED)
    titles = ",".join(f"title{generation}" for generation in range(GENERATIONS))
    assert f"articles={titles}|".encode() in body
