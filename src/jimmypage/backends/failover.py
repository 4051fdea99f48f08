"""After a failover, every page is stale once: the promoted replica may have lost a write.

Redis replicates asynchronously. A generation change acknowledged by the primary just before it
died may never have reached the replica that takes its place; the pages stamped with the older
generation would then look fresh on the new primary, though the database holds a newer write.

So the primary that serves jimmypage's keys is recorded in the cache itself, under
``<prefix>:primary`` (its ``run_id``, which changes with the process). A client that reaches a
primary whose ``run_id`` is not the recorded one (a promoted replica, a restarted server, a slot
moved to another node) replaces the global generation, then records the new ``run_id``. Until
it has done so it serves nothing from that server. The cost: one stale page per page after each
failover, refreshed as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import conf, generations

logger = logging.getLogger("jimmypage")

Run = Callable[..., Any]  # runs one Redis command on the server to check, returns its reply


def primary_key() -> str:
    """Where the ``run_id`` of the primary that last claimed jimmypage's keys is kept."""
    return f"{conf.key_prefix()}:primary"


def parse_run_id(info: Any) -> str:
    """The ``run_id`` in the reply of ``INFO server`` (raw text or redis-py's parsed dict)."""
    if isinstance(info, dict):
        return str(info["run_id"])
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    raise ValueError("INFO server has no run_id")


class FailoverGuard:
    """Claims a primary for this site's pages, making every page stale if it is a new one."""

    def __init__(self, make_key: Callable[[str], str], dumps, loads) -> None:
        self.make_key = make_key
        self.dumps = dumps
        self.loads = loads

    def claim(self, run: Run, run_id: str) -> bool:
        """Make pages stale unless ``run_id`` is the recorded primary; ``True`` if it did."""
        claimed = self.make_key(primary_key())
        recorded = run("GET", claimed)
        if recorded is not None and self.loads(recorded) == run_id:
            return False
        run("SET", self.make_key(generations.generation_key()), self.dumps(generations.new_token()))
        run("SET", claimed, self.dumps(run_id))
        if recorded is not None:
            logger.warning(
                "jimmypage: the Redis primary changed (now run_id %s): every page is stale once",
                run_id,
            )
        return True
