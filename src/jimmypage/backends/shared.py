"""What the Sentinel and Cluster backends share: one client per configuration, per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def shared_client(identity: str, make: Callable[[], Any]) -> Any:
    """The client for ``identity``, made once per process.

    Django makes a cache object per thread; a Sentinel or Cluster client discovers the servers
    when it is made (round trips), and holds a pool that threads can share.
    """
    client = _clients.get(identity)
    if client is None:
        with _lock:
            client = _clients.get(identity)
            if client is None:
                client = _clients[identity] = make()
    return client


def addresses(servers: list[str], default_port: int) -> list[tuple[str, int]]:
    """``host:port`` or ``redis://host:port`` locations as (host, port) pairs."""
    pairs = []
    for server in servers:
        server = server.strip()
        parts = urlsplit(server if "://" in server else f"redis://{server}")
        pairs.append((parts.hostname or "127.0.0.1", parts.port or default_port))
    return pairs


def identity(cache, kind: str) -> str:
    """What makes two cache objects share a client: servers, options and how keys are made
    (the failover guard of the client writes this site's keys)."""
    key_func = getattr(cache.key_func, "__qualname__", repr(cache.key_func))
    return repr((kind, cache._servers, cache._options, cache.key_prefix, cache.version, key_func))
