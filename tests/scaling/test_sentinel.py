"""Redis replicas and Sentinel (issue 13): jimmypage reads and writes the primary only, and a
failover never leaves a page fresh that a write made stale.

Each test gets a primary, a replica and a Sentinel of its own. The replica replicates through a
proxy that delays the link by 300 ms: what the primary acknowledged in the last 300 ms is lost
when the test fails the primary (cuts the link, kills the primary), the loss that Redis'
asynchronous replication allows. Where a test needs the loss for certain, it cuts the link
before the write.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from jimmypage import backend, generations
from jimmypage.backends.failover import FailoverGuard
from jimmypage.executors import wait_for_refreshes
from tests.processes import until
from tests.testapp.models import Article

from .conftest import figure
from .load import PATHS, SITE, STATUS, Load, expected, fresh_again
from .servers import RedisServer, SentinelGroup, redis_cli

pytestmark = [pytest.mark.backend_server]


def sentinel_site(group: SentinelGroup):
    return override_settings(**SITE, CACHES={"default": group.cache_settings()})


def stored_generation(port: int) -> str | None:
    """The raw value of the global generation key on the Redis server at ``port``."""
    key = caches["default"].make_key(generations.generation_key())
    return redis_cli(port, "--no-raw", "GET", key)


def status_and_body(client: Client, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    return response[STATUS], response.content.decode()


def test_the_sentinel_cache_reads_generations_from_the_primary_not_the_replica(sentinel_group):
    Article.objects.create(title="first")
    with sentinel_site(sentinel_group):
        assert type(backend.store()) is backend.RedisStore  # the fast path, one MGET a hit
        caches["default"].set_many({"a": [1], "b": 2}, 30)  # a Django cache for any other use
        assert caches["default"].get_many(["a", "b", "c"]) == {"a": [1], "b": 2}
        client = Client()
        assert status_and_body(client, "/titles/")[0] == "miss"
        assert status_and_body(client, "/titles/")[0] == "hit"
        sentinel_group.link.cut()  # the replica lags for good
        Article.objects.create(title="second")
        assert stored_generation(sentinel_group.replica.port) != stored_generation(
            sentinel_group.primary.port
        )
        assert status_and_body(client, "/titles/")[0] == "stale"
        assert wait_for_refreshes(30)


@pytest.mark.parametrize("guarded", [True, False], ids=["guard", "without-guard"])
def test_a_generation_change_lost_in_a_failover_leaves_no_page_fresh(
    sentinel_group, monkeypatch, guarded
):
    if not guarded:
        monkeypatch.setattr(FailoverGuard, "claim", lambda self, run, run_id: False)
    Article.objects.create(title="before")
    with sentinel_site(sentinel_group):
        client = Client()
        assert status_and_body(client, "/titles/")[0] == "miss"
        replicated = stored_generation(sentinel_group.primary.port)
        until(sentinel_group.replica_caught_up, 30, "the replica to have the page")
        sentinel_group.link.cut()
        Article.objects.create(title="lost in the failover")  # acknowledged, never replicated
        lost = stored_generation(sentinel_group.primary.port)
        assert lost != replicated
        sentinel_group.fail_primary()
        seconds = sentinel_group.wait_for_failover()
        # The new primary never got the last generation change. (With the guard, any client of
        # this process, such as the local tier's stream reconnecting, may have replaced the
        # generation on the new primary already: a third token.)
        promoted = stored_generation(sentinel_group.replica.port)
        assert promoted != lost
        assert promoted == replicated or guarded
        if guarded:
            fresh_seconds = fresh_again(client, timeout=30)
            assert "lost in the failover" in status_and_body(client, "/titles/")[1]
            figure(
                "sentinel, lost generation",
                failover=round(seconds, 2),
                fresh=round(fresh_seconds, 2),
            )
        else:
            # What the code before issue 13 did: the old page stays fresh after the write.
            status, body = until(
                lambda: _answer_once_reachable(client), 30, "the cache to answer again"
            )
            assert (status, "lost in the failover" in body) == ("hit", False)


def _answer_once_reachable(client: Client) -> tuple[str, str] | None:
    status, body = status_and_body(client, "/titles/")
    return None if status == "bypass" else (status, body)


def test_a_failover_in_the_middle_of_a_load(sentinel_group):
    """Readers and a writer keep going while the primary dies: no 5xx, no write lost, and every
    page is fresh with the current data soon after the failover."""
    Article.objects.create(title="start")
    with sentinel_site(sentinel_group):
        load = Load().start()
        try:
            until(lambda: load.writes >= 20, 30, "the load to run")
            sentinel_group.fail_primary()
            failed_at = time.monotonic()
            failover_seconds = sentinel_group.wait_for_failover()
            writes_at_failover = load.writes
            until(lambda: load.writes >= writes_at_failover + 20, 30, "writes after the failover")
        finally:
            load.stop()
        load.check()
        fresh_seconds = fresh_again(Client())
        for path in PATHS:
            assert status_and_body(Client(), path) == ("hit", expected(path))
    figure(
        "sentinel, failover during a load",
        requests=sum(load.codes.values()),
        writes=load.writes,
        not_200=sum(n for code, n in load.codes.items() if code != 200),
        failover=round(failover_seconds, 2),
        fresh_after_load=round(fresh_seconds, 2),
        load_after_failure=round(time.monotonic() - failed_at, 1),
        statuses=dict(load.statuses),
    )


def test_django_rediscache_with_replicas_reads_generations_from_the_first_location(
    scaling_here,
):
    """Django's own ``RedisCache`` with a primary and a replica (several LOCATIONs): jimmypage
    reads from the first, so a write is seen at once however far the replica lags."""
    primary = RedisServer()
    primary.start()
    replica = RedisServer("--replicaof", "127.0.0.1", str(primary.port))
    replica.start()
    try:
        until(
            lambda: replica.info("replication").get("master_link_status") == "up",
            30,
            "the replica to sync",
        )
        # A replica that lags for ever: it stops replicating.
        redis_cli(replica.port, "REPLICAOF", "NO", "ONE")
        location = [f"redis://127.0.0.1:{primary.port}/0", f"redis://127.0.0.1:{replica.port}/0"]
        cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
        Article.objects.create(title="first")
        with override_settings(**SITE, CACHES={"default": cache}):
            client = Client()
            client.get("/titles/")
            # The replica gets the page and its generation as they are now, then lags.
            redis_cli(replica.port, "REPLICAOF", "127.0.0.1", str(primary.port))
            until(
                lambda: stored_generation(replica.port) == stored_generation(primary.port),
                30,
                "the replica to catch up",
            )
            redis_cli(replica.port, "REPLICAOF", "NO", "ONE")
            Article.objects.create(title="second")
            for _ in range(10):  # Django reads the replica one time in one, at random
                status, body = status_and_body(client, "/titles/")
                assert status != "hit" or "second" in body
            assert wait_for_refreshes(30)
    finally:
        replica.close()
        primary.close()


@pytest.fixture(autouse=True)
def forget_clients():
    """The backends keep one client per configuration and process: drop this test's."""
    yield
    from jimmypage.backends import shared

    shared._clients.clear()
