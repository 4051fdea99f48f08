"""Figure 2: cache round trips, Redis commands and SQL queries per warm request.

Round trips and client constructions are counted in the client (redis-py's
``send_packed_command`` is one round trip, a pipeline included). Commands are counted three ways:
in the client; by the server with ``CONFIG RESETSTAT`` and ``INFO commandstats`` around the
batch (which also counts other clients of the same server, such as a test suite running
meanwhile); and by the server's ``MONITOR`` stream, kept to the benchmark's own database, which
gives the by-command figures.
Run as ``python -m harness.roundtrips OUT.json FAST_N SLOW_N``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from . import django_env

COUNTS: Counter = Counter()


def install_counters() -> None:
    """Count round trips, commands and client objects made by redis-py in this process."""
    import redis
    from redis.connection import AbstractConnection

    send_packed = AbstractConnection.send_packed_command
    send_command = AbstractConnection.send_command
    pack_commands = AbstractConnection.pack_commands
    redis_init = redis.Redis.__init__

    def counted_send_packed(self, command, check_health=True):
        if not _is_stream(self):
            COUNTS["round_trips"] += 1
        return send_packed(self, command, check_health)

    def counted_send_command(self, *args, **kwargs):
        COUNTS["stream_commands" if _is_stream(self) else "commands"] += 1
        return send_command(self, *args, **kwargs)

    def counted_pack_commands(self, commands):
        commands = list(commands)
        COUNTS["commands"] += len(commands)
        return pack_commands(self, commands)

    def counted_init(self, *args, **kwargs):
        COUNTS["clients"] += 1
        return redis_init(self, *args, **kwargs)

    AbstractConnection.send_packed_command = counted_send_packed
    AbstractConnection.send_command = counted_send_command
    AbstractConnection.pack_commands = counted_pack_commands
    redis.Redis.__init__ = counted_init


# The connection of jimmypage's invalidation stream (its local tier): its PINGs are a
# heartbeat per process and per time, not per request, and are counted apart.
STREAM_CLIENT = "jimmypage-tracking"


def _is_stream(connection) -> bool:
    return getattr(connection, "client_name", None) == STREAM_CLIENT


def stream_addresses(admin) -> set[str]:
    return {c["addr"] for c in admin.client_list() if c.get("name") == STREAM_CLIENT}


def command_stats(client) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``, as the server counts them."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


MARKER = "jimmypage-bench-monitor-end"


class CommandMonitor:
    """Counts, by name, the commands that Redis runs on database ``db`` while it is open.

    The commands of ``admin`` itself (INFO, CONFIG, the closing ECHO) are left out.
    """

    def __init__(self, admin, db: int) -> None:
        import threading

        self.admin, self.db = admin, db
        self.counts: Counter = Counter()
        self.stream_commands = 0
        self._streams = stream_addresses(admin)
        self._monitor = admin.monitor()
        self._monitor.__enter__()
        self._own_address = admin.client_info()["addr"]
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while True:
            event = self._monitor.next_command()
            if MARKER in event["command"]:
                return
            address = f"{event.get('client_address')}:{event.get('client_port')}"
            if address in self._streams:
                self.stream_commands += 1
            elif int(event["db"]) == self.db and address != self._own_address:
                self.counts[event["command"].split(" ", 1)[0].lower()] += 1

    def close(self) -> Counter:
        """Stop listening (after every command sent so far) and return the counts."""
        self.admin.echo(MARKER)
        self._thread.join(timeout=30)
        self._monitor.__exit__(None, None, None)
        return self.counts


def measure(fast_n: int, slow_n: int) -> dict:
    from benchsite.contenders import CONTENDERS
    from django.db import connection

    from .database import redis_client
    from .wsgi_client import Client, warm

    admin = redis_client()
    client = Client()
    queries = Counter()

    def count_query(execute, sql, params, many, context):
        queries["sql"] += 1
        return execute(sql, params, many, context)

    result = {}
    for contender in CONTENDERS:
        count = fast_n if contender.caches_page or not contender.shows_page else slow_n
        warm(client, contender.path)
        for _ in range(200):  # as in section 1: the local tier's stream is then caught up
            client.get(contender.path)
        monitor = CommandMonitor(admin, admin.connection_pool.connection_kwargs.get("db", 0))
        admin.config_resetstat()
        COUNTS.clear()
        queries.clear()
        with connection.execute_wrapper(count_query):
            for _ in range(count):
                client.get(contender.path)
        counted = Counter(COUNTS)
        # Leave out the measurement's own commands (CONFIG RESETSTAT, INFO, ECHO).
        server = {
            name: calls
            for name, calls in command_stats(admin).items()
            if name.split("|")[0] not in ("config", "info")
        }
        monitored = monitor.close()
        result[contender.key] = {
            "requests": count,
            "round_trips": counted["round_trips"] / count,
            "client_commands": counted["commands"] / count,
            "server_commands": sum(monitored.values()) / count,
            "server_commands_all_clients": sum(server.values()) / count,
            "by_command": {name: calls / count for name, calls in sorted(monitored.items())},
            # The local tier's heartbeat during the batch, in all (not per request).
            "stream_commands": monitor.stream_commands,
            "clients_built": counted["clients"] / count,
            "sql_queries": queries["sql"] / count,
        }
    return result


def main(argv: list[str]) -> None:
    out, fast_n, slow_n = argv[0], int(argv[1]), int(argv[2])
    django_env.setup()
    install_counters()
    with open(out, "w") as handle:
        json.dump(measure(fast_n, slow_n), handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
