"""Private servers for the fault and load tests: never the shared Redis or PostgreSQL cluster.

* ``PrivateRedis``: a ``redis-server`` of our own on a free port, in a temporary directory, with no
  persistence, that a test may stop and start again on the same port.
* ``TcpProxy``: a small threaded TCP proxy that can add latency to every chunk, or be cut (every
  connection closed, new ones refused) and restored: a slow cache, or a database that is gone.
* ``PrivateDatabase``: a PostgreSQL database of our own on the shared server, dropped at the end.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

PG_HOST = os.environ.get("JIMMYPAGE_TEST_PGHOST", "127.0.0.1")
PG_PORT = 5432


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of our own: ``start()``, ``stop()`` (and ``start()`` again, same port),
    with ``extra`` arguments (a replica, a cluster node)."""

    def __init__(self, *extra: str, port: int | None = None) -> None:
        self.extra = list(extra)
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="jimmypage-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
                *self.extra,
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server at once (SIGKILL): what a crashed or rebooted Redis looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``delay`` seconds are added to every chunk.

    ``cut()`` closes every connection and refuses new ones; ``restore()`` accepts them again.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", delay: float = 0.0):
        self.target = (target_host, target_port)
        self.delay = delay
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connections = 0

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._stopping.clear()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()
        listener.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._stopping.is_set():
                ready, _, _ = select.select([source], [], [], 0.2)
                if not ready:
                    continue
                chunk = source.recv(65536)
                if not chunk:
                    break
                if self.delay:
                    time.sleep(self.delay)
                sink.sendall(chunk)
        except (OSError, ValueError):  # closed under us by cut()
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.difference_update((source, sink))

    def cut(self) -> None:
        """Close every connection and stop listening: the other side is gone."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        time.sleep(0.3)  # let the accept and pump threads see the stop

    def restore(self) -> None:
        self.start()

    def close(self) -> None:
        self.cut()


def psql(sql: str, database: str = "postgres", timeout: float = 30) -> str:
    """Run ``sql`` with psql as the ``postgres`` user; its output, tuples only."""
    result = subprocess.run(
        [
            "psql",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-d",
            database,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def postgres_available() -> bool:
    if shutil.which("psql") is None or not reachable(PG_HOST, PG_PORT):
        return False
    try:
        psql("SELECT 1")
    except (RuntimeError, subprocess.TimeoutExpired):
        return False
    return True


class PrivateDatabase:
    """A database of our own on the shared PostgreSQL server, dropped (forced) at the end."""

    def __init__(self) -> None:
        self.name = f"jimmypage_reliability_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def create(self) -> PrivateDatabase:
        psql(f'CREATE DATABASE "{self.name}"')
        return self

    def connections(self) -> int:
        """Open connections to this database (``pg_stat_activity``), ours excluded."""
        count = psql(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )
        return int(count or 0)

    def drop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
