"""Servers of the scaling tests, started by the tests on free ports from Debian's packages.

* ``PostgresPair``: a PostgreSQL primary and a streaming replica of its own (``initdb``,
  ``pg_basebackup``), the replica's replay delayed by ``recovery_min_apply_delay``.
* ``SentinelGroup``: a Redis primary, a replica that replicates through a ``TcpProxy`` (so that
  the test can delay or cut the link), and a Sentinel watching them.

(The Redis Cluster is in ``cluster_servers.py``.)

PostgreSQL refuses to run as root: as root, its tools run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.processes import until
from tests.reliability.servers import PrivateRedis, TcpProxy, free_port

PG_DELAY = "200ms"


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb``."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def missing_binaries() -> list[str]:
    missing = []
    if postgres_bin() is None or shutil.which("pg_basebackup") is None:
        missing.append("PostgreSQL server tools (initdb, pg_basebackup)")
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        missing.append("redis-server and redis-cli")
    return missing


class PostgresPair:
    """A primary on ``primary_port`` and its streaming replica on ``replica_port``."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.base = Path(tempfile.mkdtemp(prefix="jimmypage-pg-"))
        self.primary_dir = self.base / "primary"
        self.replica_dir = self.base / "replica"
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.tables_made = False
        if self.as_postgres:
            os.chmod(self.base, 0o755)
            shutil.chown(self.base, "postgres", "postgres")

    def run(self, *argv: str, timeout: float = 120) -> None:
        command = ["runuser", "-u", "postgres", "--", *argv] if self.as_postgres else list(argv)
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout}{result.stderr}")

    def configure(self, data: Path, port: int, extra: str = "") -> None:
        conf = (
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.base}'\nfsync = off\nfull_page_writes = off\n"
            "shared_buffers = 16MB\nmax_connections = 60\nwal_level = replica\n"
            "max_wal_senders = 4\nwal_sender_timeout = 0\n" + extra
        )
        self.run("sh", "-c", f"cat >> '{data}/postgresql.conf' <<'EOF'\n{conf}EOF\n")

    def start(self) -> PostgresPair:
        self.run(
            str(self.bin / "initdb"), "-D", str(self.primary_dir), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.configure(self.primary_dir, self.primary_port)
        self.pg_ctl(self.primary_dir, "start")
        self.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(self.replica_dir), "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        self.configure(
            self.replica_dir, self.replica_port, f"recovery_min_apply_delay = '{PG_DELAY}'\n"
        )
        self.pg_ctl(self.replica_dir, "start")
        return self

    def pg_ctl(self, data: Path, action: str) -> None:
        log = data.parent / f"{data.name}.log"
        argv = [str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60"]
        if action == "stop":
            argv += ["-m", "immediate"]
        self.run(*argv, action)

    def settings(self, port: int, name: str = "postgres") -> dict:
        """A ``DATABASES`` entry for the server on ``port``."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "USER": "postgres",
            "NAME": name,
        }

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self.pg_ctl(data, "stop")
        shutil.rmtree(self.base, ignore_errors=True)


def redis_cli(port: int, *args: str, timeout: float = 30) -> str:
    result = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {result.stdout}{result.stderr}")
    return result.stdout.strip()


class RedisServer(PrivateRedis):
    """A ``PrivateRedis`` for replication: a replica's full sync starts at once."""

    def __init__(self, *extra: str, port: int | None = None) -> None:
        super().__init__("--repl-diskless-sync-delay", "0", *extra, port=port)

    def info(self, section: str) -> dict[str, str]:
        lines = redis_cli(self.port, "INFO", section).splitlines()
        return dict(line.split(":", 1) for line in lines if ":" in line)


class SentinelGroup:
    """A primary, a replica linked to it through ``link`` (a ``TcpProxy``), one Sentinel."""

    SERVICE = "mymaster"

    def __init__(self, link_delay: float = 0.0) -> None:
        self.primary = RedisServer()
        self.link = TcpProxy(self.primary.port, delay=link_delay)
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.link.port))
        self.sentinel_port = free_port()
        self.sentinel_dir = tempfile.mkdtemp(prefix="jimmypage-sentinel-")
        self.sentinel: subprocess.Popen | None = None

    def start(self) -> SentinelGroup:
        self.primary.start()
        self.link.start()
        self.replica.start()
        until(self.replica_in_sync, 30, "the replica to sync with the primary", interval=0.05)
        config = Path(self.sentinel_dir) / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.sentinel_dir}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel known-replica {self.SERVICE} 127.0.0.1 {self.replica.port}\n"
            f"sentinel down-after-milliseconds {self.SERVICE} 500\n"
            f"sentinel failover-timeout {self.SERVICE} 3000\n"
        )
        self.sentinel = subprocess.Popen(
            [shutil.which("redis-server"), str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        until(lambda: self.replicas_known() >= 1, 30, "Sentinel to see the replica")
        return self

    def replica_in_sync(self) -> bool:
        return self.replica.info("replication").get("master_link_status") == "up"

    def replica_caught_up(self) -> bool:
        """True when the replica has everything the primary wrote."""
        offset = self.primary.info("replication")["master_repl_offset"]
        return self.replica.info("replication").get("slave_repl_offset") == offset

    def replicas_known(self) -> int:
        try:
            reply = redis_cli(self.sentinel_port, "SENTINEL", "REPLICAS", self.SERVICE)
        except (RuntimeError, subprocess.TimeoutExpired):
            return 0
        return reply.count("\n" + str(self.replica.port)) + reply.startswith(str(self.replica.port))

    def master_port(self) -> int | None:
        try:
            reply = redis_cli(
                self.sentinel_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        lines = reply.splitlines()
        return int(lines[1]) if len(lines) == 2 else None

    def cache_settings(self, **options) -> dict:
        return {
            "BACKEND": "jimmypage.backends.RedisSentinelCache",
            "LOCATION": [f"redis://127.0.0.1:{self.sentinel_port}"],
            "OPTIONS": {"service_name": self.SERVICE, "socket_timeout": 1, **options},
        }

    def fail_primary(self) -> None:
        """The primary dies, and what was in flight to the replica is lost with it."""
        self.primary.stop()
        self.link.cut()

    def wait_for_failover(self, timeout: float = 30) -> float:
        """Seconds until Sentinel names the replica as the primary and it accepts writes."""
        started = time.monotonic()

        def promoted() -> bool:
            return (
                self.master_port() == self.replica.port
                and self.replica.info("replication").get("role") == "master"
            )

        until(promoted, timeout, "Sentinel to promote the replica", interval=0.05)
        return time.monotonic() - started

    def close(self) -> None:
        if self.sentinel is not None and self.sentinel.poll() is None:
            self.sentinel.kill()
            self.sentinel.wait(10)
        self.link.close()
        self.replica.close()
        self.primary.close()
        shutil.rmtree(self.sentinel_dir, ignore_errors=True)
