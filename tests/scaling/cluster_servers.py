"""A Redis Cluster of 3 primaries and 3 replicas, started by the tests, and what the tests ask
it: who owns a slot, and moving a slot to another primary as a resharding does."""

from __future__ import annotations

import subprocess
import time

from tests.processes import until
from tests.reliability.servers import free_port

from .servers import RedisServer, redis_cli


class RedisClusterNodes:
    """A Redis Cluster of three primaries, each with one replica."""

    def __init__(self) -> None:
        # The bus port is given: Redis' default (port + 10000) fails above port 55535.
        self.nodes = [
            RedisServer(
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                str(free_port()),
                "--cluster-node-timeout",
                "1000",
                "--cluster-replica-validity-factor",
                "0",
            )  # fmt: skip
            for _ in range(6)
        ]

    def start(self) -> RedisClusterNodes:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1",
             "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        until(self.healthy, 60, "the cluster to be ok on every node", interval=0.1)
        return self

    def healthy(self) -> bool:
        live = [node for node in self.nodes if node.process is not None]
        return all("cluster_state:ok" in redis_cli(node.port, "CLUSTER", "INFO") for node in live)

    def node_at(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def cache_settings(self, **options) -> dict:
        return {
            "BACKEND": "jimmypage.backends.RedisClusterCache",
            "LOCATION": [f"redis://127.0.0.1:{node.port}" for node in self.nodes[:3]],
            "OPTIONS": {"socket_timeout": 1, **options},
        }

    def close(self) -> None:
        for node in self.nodes:
            node.close()


def cluster_nodes(port: int) -> list[dict]:
    """``CLUSTER NODES`` seen from the node at ``port``: id, port, flags and owned slots."""
    nodes = []
    for line in redis_cli(port, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        slots: set[int] = set()
        for item in fields[8:]:
            if item.startswith("["):
                continue  # a slot being migrated or imported: not owned yet
            first, _, last = item.partition("-")
            slots.update(range(int(first), int(last or first) + 1))
        address = fields[1].split("@")[0]
        nodes.append(
            {"id": fields[0], "port": int(address.rpartition(":")[2]), "flags": fields[2],
             "slots": slots}
        )  # fmt: skip
    return nodes


def slot_owner(port: int, slot: int) -> int | None:
    """The port of the live primary that owns ``slot``, as the node at ``port`` sees it."""
    for node in cluster_nodes(port):
        if "master" in node["flags"] and "fail" not in node["flags"] and slot in node["slots"]:
            return node["port"]
    return None


def move_slot(ports: list[int], slot: int, source: int, target: int, pause: float) -> int:
    """Move ``slot`` from the primary at ``source`` to the one at ``target`` as
    ``redis-cli --cluster reshard`` does, one key at a time (``pause`` between keys); the keys
    moved."""
    ids = {node["port"]: node["id"] for node in cluster_nodes(source)}
    redis_cli(target, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", ids[source])
    redis_cli(source, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", ids[target])
    moved = 0
    while True:
        keys = redis_cli(source, "CLUSTER", "GETKEYSINSLOT", str(slot), "1").split()
        if not keys:
            break
        redis_cli(source, "MIGRATE", "127.0.0.1", str(target), "", "0", "5000", "KEYS", *keys)
        moved += len(keys)
        time.sleep(pause)
    for port in ports:
        redis_cli(port, "CLUSTER", "SETSLOT", str(slot), "NODE", ids[target])
    return moved
