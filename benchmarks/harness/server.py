"""gunicorn serving the benchmark project on 127.0.0.1, and small HTTP helpers against it."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

HOST = "127.0.0.1"
WORKERS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(port: int, path: str, timeout: float = 10.0, cookie: str | None = None) -> Reply:
    """One GET on a new connection (gunicorn's sync workers close it after each response)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def warm(port: int, path: str, tries: int = 100, cookie: str | None = None) -> None:
    """Request ``path`` until a cached contender answers from its cache (bounded in tries)."""
    for attempt in range(tries):
        reply = fetch(port, path, cookie=cookie)
        if reply.status != 200:
            raise RuntimeError(f"{path} answered {reply.status}")
        # jimmypage says so; the others are warm after their first requests.
        if reply.headers.get("X-Jimmy-Page", "hit") == "hit" and attempt >= 2:
            return
        time.sleep(0.02)
    raise RuntimeError(f"{path} stayed cold after {tries} requests")


@contextlib.contextmanager
def gunicorn(log_path: str, **environ: str):
    """Run gunicorn (sync workers) until the block ends; yields its port.

    ``environ`` adds to the workers' environment (``BENCH_JIMMY_MODE="per-table"``).
    """
    port = free_port()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        BENCH_COUNT_RENDERS="1",
        **environ,
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "benchsite.wsgi:application",
        "--chdir",
        here,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--error-logfile",
        log_path,
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(port, "/bare/", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
