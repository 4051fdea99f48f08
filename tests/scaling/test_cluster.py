"""Redis Cluster (issue 13): a hit is one round trip, and a primary failover or a resharding in
the middle of a load gives no 5xx, loses no write and leaves no page stuck-stale.

Each test gets a cluster of its own: three primaries, each with a replica.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from jimmypage import backend, conf
from jimmypage.backends import failover
from tests.processes import until
from tests.testapp.models import Article

from .cluster_servers import RedisClusterNodes, cluster_nodes, move_slot, slot_owner
from .conftest import figure
from .load import PATHS, SITE, STATUS, Load, expected, fresh_again
from .servers import redis_cli

pytestmark = [pytest.mark.backend_server]

# Commands that are not the client's: the servers' own chatter and the test's questions.
NOT_COUNTED = {"info", "config", "replconf", "ping", "cluster", "command"}


def cluster_site(cluster: RedisClusterNodes):
    return override_settings(**SITE, CACHES={"default": cluster.cache_settings()})


def pages_slot(port: int) -> int:
    """The hash slot of jimmypage's keys (they share one tag)."""
    key = caches["default"].make_key(f"{conf.key_prefix()}:gen")
    return int(redis_cli(port, "CLUSTER", "KEYSLOT", key))


def commands_run(cluster: RedisClusterNodes) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``, summed over every node."""
    counts: dict[str, int] = {}
    for node in cluster.nodes:
        for name, value in node.info("commandstats").items():
            command = name.removeprefix("cmdstat_").split("|")[0].lower()
            if command not in NOT_COUNTED:
                calls = int(value.split(",")[0].removeprefix("calls="))
                counts[command] = counts.get(command, 0) + calls
    return {command: calls for command, calls in counts.items() if calls}


def claimed_by(cluster: RedisClusterNodes, port: int) -> bool:
    """True when the primary at ``port`` is the one recorded as jimmypage's (the failover
    guard made every page stale when it took over)."""
    run_id = cluster.node_at(port).info("server")["run_id"]
    return caches["default"].get(failover.primary_key()) == run_id


def test_a_hit_on_the_cluster_is_one_round_trip(redis_cluster):
    Article.objects.create(title="first")
    with cluster_site(redis_cluster):
        assert type(backend.store()) is backend.RedisStore  # the fast path
        client = Client()
        for path in PATHS:
            assert client.get(path)[STATUS] == "miss"
        assert client.get("/titles/")[STATUS] == "hit"  # the client knows the cluster now
        for node in redis_cluster.nodes:
            redis_cli(node.port, "CONFIG", "RESETSTAT")
        response = client.get("/titles/")
        assert response[STATUS] == "hit"
        assert commands_run(redis_cluster) == {"mget": 1}
        # Every key of jimmypage is on one primary: the one that owns their slot.
        port = redis_cluster.nodes[0].port
        owner = slot_owner(port, pages_slot(port))
        holding = {
            node.port
            for node in redis_cluster.nodes
            if node.info("keyspace") and "master" in node.info("replication").get("role", "")
        }
        assert holding == {owner}
        stored = redis_cli(owner, "KEYS", "*").split()
        assert len(stored) > len(PATHS)
        assert all(f"{{{conf.key_prefix()}}}:" in key for key in stored)
        # The site's other keys spread over the slots, and the cache API works across them.
        cache = caches["default"]
        values = {f"other-{number}": [number] for number in range(20)}
        cache.set_many(values, 30)
        assert cache.get_many(list(values)) == values
        cache.delete_many(list(values))
        assert cache.get_many(list(values)) == {}
        assert cache.add("counter", 1) and cache.incr("counter") == 2


def test_a_primary_failover_in_the_middle_of_a_load(redis_cluster):
    port = redis_cluster.nodes[0].port
    Article.objects.create(title="start")
    with cluster_site(redis_cluster):
        slot = pages_slot(port)
        owner = slot_owner(port, slot)
        witness = next(node.port for node in redis_cluster.nodes if node.port != owner)
        load = Load().start()
        try:
            until(lambda: load.writes >= 20, 30, "the load to run")
            redis_cluster.node_at(owner).stop()
            failed_at = time.monotonic()
            until(
                lambda: slot_owner(witness, slot) not in (None, owner),
                30,
                "the cluster to promote the replica",
            )
            failover_seconds = time.monotonic() - failed_at
            writes_at_failover = load.writes
            until(lambda: load.writes >= writes_at_failover + 20, 30, "writes after the failover")
        finally:
            load.stop()
        load.check()
        fresh_seconds = fresh_again(Client())
        assert claimed_by(redis_cluster, slot_owner(witness, slot))
        for path in PATHS:
            response = Client().get(path)
            assert (response[STATUS], response.content.decode()) == ("hit", expected(path))
    figure(
        "cluster, primary failover during a load",
        requests=sum(load.codes.values()),
        writes=load.writes,
        not_200=sum(n for code, n in load.codes.items() if code != 200),
        failover=round(failover_seconds, 2),
        fresh_after_load=round(fresh_seconds, 2),
        statuses=dict(load.statuses),
    )


def test_moving_the_pages_slot_to_another_primary_in_the_middle_of_a_load(redis_cluster):
    port = redis_cluster.nodes[0].port
    Article.objects.create(title="start")
    with cluster_site(redis_cluster):
        slot = pages_slot(port)
        source = slot_owner(port, slot)
        primaries = [node["port"] for node in cluster_nodes(port) if "master" in node["flags"]]
        target = next(p for p in primaries if p != source)
        load = Load().start()
        try:
            until(lambda: load.writes >= 20, 30, "the load to run")
            moved = move_slot(primaries, slot, source, target, pause=0.05)
            until(lambda: slot_owner(port, slot) == target, 30, "the slot to be moved")
            writes_after = load.writes
            until(lambda: load.writes >= writes_after + 20, 30, "writes after the move")
        finally:
            load.stop()
        load.check()
        fresh_seconds = fresh_again(Client())
        assert claimed_by(redis_cluster, target)
        assert redis_cli(source, "CLUSTER", "COUNTKEYSINSLOT", str(slot)) == "0"
        assert int(redis_cli(target, "CLUSTER", "COUNTKEYSINSLOT", str(slot))) > 0
    figure(
        "cluster, resharding during a load",
        requests=sum(load.codes.values()),
        writes=load.writes,
        keys_moved=moved,
        not_200=sum(n for code, n in load.codes.items() if code != 200),
        fresh_after_load=round(fresh_seconds, 2),
        statuses=dict(load.statuses),
    )


@pytest.fixture(autouse=True)
def forget_clients():
    """The backends keep one client per configuration and process: drop this test's."""
    yield
    from jimmypage.backends import shared

    shared._clients.clear()
