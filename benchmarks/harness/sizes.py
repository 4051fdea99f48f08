"""Figure 5: what each cache stores for the page, in bytes, read back from Redis.

For each caching contender in turn: empty the benchmark's Redis database, request the page once
(so the cache stores it), then read every key: its type, its value length (``STRLEN`` for
strings, the summed member lengths for sets) and Redis's own ``MEMORY USAGE``.
Run as ``python -m harness.sizes OUT.json``.
"""

from __future__ import annotations

import json
import sys

from benchsite.contenders import RENDER_COUNTER_PREFIX

from . import django_env


def value_bytes(client, key: bytes, kind: str) -> int:
    """Bytes of the value at ``key``: the string, or the members of a set."""
    if kind == "string":
        return client.strlen(key)
    if kind == "set":
        return sum(len(member) for member in client.smembers(key))
    return 0


def stored_keys(client) -> list[dict]:
    keys = []
    for key in client.scan_iter(count=1000):
        if key.decode().startswith(RENDER_COUNTER_PREFIX):
            continue
        kind = client.type(key).decode()
        keys.append(
            {
                "key": key.decode(errors="replace"),
                "type": kind,
                "bytes": value_bytes(client, key, kind),
                "memory": client.memory_usage(key, samples=0) or 0,
            }
        )
    return sorted(keys, key=lambda entry: -entry["bytes"])


def measure() -> dict:
    from benchsite.contenders import CONTENDERS

    from jimmypage.executors import wait_for_refreshes

    from .database import redis_client
    from .wsgi_client import Client

    client = Client()
    redis = redis_client()
    result = {}
    for contender in CONTENDERS:
        if not contender.shows_page or contender.key == "uncached":
            continue
        redis.flushdb()
        answer = client.get(contender.path)
        wait_for_refreshes(10)
        keys = stored_keys(redis)
        result[contender.key] = {
            "html_bytes": len(answer.body),
            "keys": keys,
            "largest": keys[0]["bytes"] if keys else 0,
            "total_bytes": sum(entry["bytes"] for entry in keys),
            "total_memory": sum(entry["memory"] for entry in keys),
        }
    redis.flushdb()
    return result


def main(argv: list[str]) -> None:
    django_env.setup()
    with open(argv[0], "w") as handle:
        json.dump(measure(), handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
