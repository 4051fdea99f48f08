"""The process-local tier across real processes: two gunicorn servers (three worker processes)
over one private redis-server that the tests may flush, expire, evict, kill and restart.

The promise checked every time: once a change is done (a write returned, a key deleted...), no
server answers a page from before it as fresh later than ``tracking.MAX_LAG`` after it (within
that bound a process that has not heard yet may; that is the tier's freshness bound). Pages
name the articles they list, so an outdated page is seen by its body. Writes are made in a
server (``/write/``), so that the writer bumps the generation in that same private Redis.

Needs PostgreSQL (shared by every process), gunicorn and redis-server: the runs with
``JIMMYPAGE_TEST_DB=postgres`` and a cache other than ``locmem``.
"""

from __future__ import annotations

import http.client
import threading
import time
from typing import NamedTuple

import pytest
import redis

from jimmypage import tracking
from tests.processes import (
    Process,
    created_databases,
    free_port,
    python,
    require_module,
    require_server,
    require_shared_backends,
    server_env,
    until,
)

STATUS = "X-Jimmy-Page"
PAGE = "/page/"
HOST = "example.com"
pytestmark = [pytest.mark.usefixtures("clean_state"), pytest.mark.backend_server]


class Server:
    def __init__(self, process: Process, port: int) -> None:
        self.process = process
        self.port = port

    def get(self, path: str = PAGE) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        asked = time.monotonic()
        try:
            connection.request("GET", path, headers={"Host": HOST})
            response = connection.getresponse()
            body = response.read()
            header = response.getheader
            status, stamp, pid = header(STATUS) or "", header("X-Stamp"), header("X-Process-Id")
            return Answer(asked, status, body, stamp, self.port, pid)
        finally:
            connection.close()

    def answers(self) -> bool:
        try:
            return self.get("/ping/").body != b""
        except OSError:
            return False


class Answer(NamedTuple):
    asked: float  # time.monotonic() when the request was sent
    status: str
    body: bytes
    stamp: str | None  # the stamp of the page served
    port: int
    pid: str  # of the worker process that answered


class Load:
    """Clients that ask every server for the page, back to back, until the block ends: their
    answers, in ``answers``. The servers' tiers stay busy, as in production."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(s,)) for s in servers]

    def _ask(self, server: Server) -> None:
        while not self._stop.is_set():
            try:
                self.answers.append(server.get())
            except BaseException as error:  # reported by the test
                self.errors.append(error)
                return

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        assert not self.errors, self.errors

    def since(self, moment: float) -> list[Answer]:
        return [answer for answer in list(self.answers) if answer.asked > moment]

    def wait_for_local_hits(self) -> set[str]:
        """Wait until every server answered from its tier; the stamps served so far."""
        started = time.monotonic()

        def every_tier_answers():
            ports = {a.port for a in self.since(started) if a.status == "hit-local"}
            return ports == {server.port for server in self.servers}

        until(every_tier_answers, 20, "a local hit from every server")
        return {answer.stamp for answer in self.answers if answer.status.startswith("hit")}

    def wait_for_fresh(self, moment: float, old_stamps: set[str], new: bytes) -> None:
        """Wait until every server answered a fresh page of a new generation (with ``new`` in
        it) after ``moment``."""

        def every_server_is_fresh():
            ports = {
                answer.port
                for answer in self.since(moment)
                if answer.status.startswith("hit")
                and answer.stamp not in old_stamps
                and new in answer.body
            }
            return ports == {server.port for server in self.servers}

        until(every_server_is_fresh, 30, "a fresh page from every server")

    def outdated(self, changed_at: float, old_stamps: set[str]) -> list[Answer]:
        """Answers served as fresh with a stamp from before the change, later than the bound."""
        return [
            answer
            for answer in self.since(changed_at + tracking.MAX_LAG)
            if answer.status.startswith("hit") and answer.stamp in old_stamps
        ]


@pytest.fixture(scope="module")
def private_redis():
    from tests.reliability.servers import PrivateRedis, redis_server_binary

    if redis_server_binary() is None:
        require_server("redis://127.0.0.1:1", "redis-server (the binary)")
    server = PrivateRedis()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, private_redis, tmp_path_factory):
    """Server A: gunicorn --preload with two workers; server B: one worker. One cache."""
    require_shared_backends()
    require_module("gunicorn")
    with django_db_blocker.unblock():
        env = server_env(
            created_databases(),
            JIMMYPAGE_TEST_CACHE="redis",
            JIMMYPAGE_TEST_REDIS=private_redis.url,
            JIMMYPAGE_SERVER_DEBUG_CACHE="1",
        )
    logs = tmp_path_factory.mktemp("tier-server-logs")
    started = []
    try:
        for name, options in (("a", ["--preload", "--workers=2"]), ("b", ["--workers=1"])):
            port = free_port()
            argv = python(
                "-m", "gunicorn", "tests.wsgi:application", f"--bind=127.0.0.1:{port}",
                *options, "--worker-class=gthread", "--threads=4", "--timeout=60",
                "--graceful-timeout=5",
            )  # fmt: skip
            process = Process(f"gunicorn-{name}", argv, env, logs / f"gunicorn-{name}.log")
            started.append(Server(process.start(), port))
        for server in started:
            server.process.wait_until(server.answers, 60, "the server to answer")
        yield started
    finally:
        for server in started:
            server.process.stop()


@pytest.fixture
def cache(private_redis):
    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    yield client
    client.close()


def write(server: Server, title: str) -> float:
    """Save an article in ``server``; the moment the write had returned."""
    assert server.get(f"/write/?{title}").body == b"written"
    return time.monotonic()


def check_change(servers: list[Server], change, new: bytes = b"") -> Load:
    """Keep every server busy, make ``change`` (it returns when it is done), and check that no
    page from before it is served as fresh later than ``MAX_LAG`` after it."""
    with Load(servers) as load:
        old_stamps = load.wait_for_local_hits()
        changed_at = change()
        load.wait_for_fresh(changed_at, old_stamps, new)
    assert not load.outdated(changed_at, old_stamps), load.outdated(changed_at, old_stamps)[:3]
    return load


def test_a_write_in_one_server_is_seen_as_stale_by_the_other(servers, cache):
    first, second = servers
    load = check_change(servers, lambda: write(first, "one"), b"articles=one|")
    statuses = [answer.status for answer in load.answers if answer.port == second.port]
    assert "stale" in statuses, "the other server saw the write"


def test_a_killed_listener_connection_is_replaced_and_misses_nothing(servers, cache):
    first, _ = servers

    def kill_then_write():
        assert cache.client_kill_filter(_type="pubsub") >= 2, "the listener of every process"
        return write(first, "two")

    check_change(servers, kill_then_write, b"two|")
    until(lambda: len(cache.client_list(_type="pubsub")) >= 2, 20, "new listeners")


def test_a_restarted_redis_misses_nothing(servers, cache, private_redis):
    first, _ = servers

    def restart_then_write():
        private_redis.stop()
        private_redis.start()
        return write(first, "three")

    check_change(servers, restart_then_write, b"three|")


@pytest.mark.parametrize("how", ["flushdb", "expire", "delete", "evict"])
def test_a_flushed_expired_or_evicted_generation_reaches_every_tier(servers, cache, how):
    def change():
        key = next(key for key in cache.keys("*jimmypage:gen") if key.endswith(b"gen"))
        if how == "flushdb":
            cache.flushdb()
        elif how == "expire":
            token = cache.get(key)
            cache.pexpire(key, 1)
            # Expired, then made again by the next request that needed it: a new token.
            until(lambda: cache.get(key) != token, 10, "the generation to expire")
        elif how == "delete":
            cache.delete(key)
        else:
            evict(cache, key)
        return time.monotonic()

    check_change(servers, change)


def evict(cache: redis.Redis, key: bytes) -> None:
    """Fill the private Redis past a small maxmemory until it evicts the generation key."""
    used = cache.info("memory")["used_memory"]
    cache.config_set("maxmemory-policy", "allkeys-lru")
    cache.config_set("maxmemory", used + 512 * 1024)
    try:
        number = 0
        while cache.exists(key):
            cache.set(f"filler:{number}", b"x" * 4096)
            number += 1
            assert number < 100_000, "the generation key was never evicted"
    finally:
        cache.config_set("maxmemory", 0)
        for filler in cache.scan_iter("filler:*"):
            cache.delete(filler)


def test_a_paused_listener_stops_local_hits_within_its_bound(servers, cache):
    first, second = servers

    def pause_then_write():
        second.get("/tier/pause/")
        return write(first, "four")

    try:
        check_change(servers, pause_then_write, b"four|")
    finally:
        second.get("/tier/resume/")


def test_every_worker_process_listens_on_its_own_connection(servers, cache):
    first, second = servers
    pids = set()

    def ask_first() -> None:
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(first.get().pid)  # a page: that worker's tier and stream are made

    deadline = time.monotonic() + 30
    crowd = [threading.Thread(target=ask_first) for _ in range(8)]  # keeps both workers busy
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join(60)
    assert len(pids) == 2, "both workers of server a answered"
    second.get()
    until(lambda: len(cache.client_list(_type="pubsub")) == 3, 20, "a stream per process")
    clients = cache.client_list(_type="pubsub")
    assert len({client["id"] for client in clients}) == 3
    assert {client["name"] for client in clients} == {"jimmypage-tracking"}
