"""Processes that tests start (web servers, task workers), always stopped, never waited on blindly.

Each process runs in a session of its own, so that stopping it also stops its children (a
gunicorn master's workers); only that process group is ever signalled. Readiness and results are
awaited by polling with a deadline (``until``), and a process that dies while it is awaited fails
the test with the end of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_SETTINGS = "tests.server_settings"


def until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns a true value (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(databases: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a process that shares this test's databases and cache."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SERVER_SETTINGS,
        JIMMYPAGE_SERVER_DATABASES=json.dumps(databases),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    env.pop("WEB_CONCURRENCY", None)
    env.update(extra)
    return env


def created_databases() -> dict[str, str]:
    """The names of the databases the pytest process created, by alias."""
    from django.db import connections

    return {alias: connections[alias].settings_dict["NAME"] for alias in connections}


class Process:
    """A command started in its own session, with its output in ``log``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_until(self, predicate: Callable[[], object], timeout: float, what: str):
        """Like ``until``, but fail at once, with the log, if the process dies meanwhile."""

        def check():
            value = predicate()
            if not value and not self.running:
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) while waiting for {what}:\n"
                    + self.output()[-4000:]
                )
            return value

        try:
            return until(check, timeout, f"{what} ({self.name})")
        except AssertionError as error:
            if "timed out" in str(error):
                raise AssertionError(f"{error}; its log:\n{self.output()[-4000:]}") from None
            raise

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        self.wait_until(lambda: text in self.output(), timeout, f"{text!r} in its log")

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the process and its children, at once, as a crash would."""
        if self.popen is None:
            return
        self._signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; also reaps the children."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        self._signal(signal.SIGKILL)  # children that outlived their parent
        if self.popen.poll() is None:
            self.popen.wait(10)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def require_shared_backends() -> None:
    """Skip unless the database and the cache are servers that several processes can share."""
    from django.conf import settings

    if not settings.SHARED_BY_PROCESSES:
        pytest.skip(
            "needs a database and a cache shared by several processes "
            "(JIMMYPAGE_TEST_DB=postgres and a JIMMYPAGE_TEST_CACHE other than locmem)"
        )


def require_module(name: str) -> None:
    """Skip when ``name`` is not installed (fail under CI: the test extra installs it)."""
    if find_spec(name) is None:
        message = f"{name} is not installed (pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def require_server(url: str, what: str) -> None:
    """Skip when nothing answers at ``url``'s host and port (fail under CI)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return
    except OSError:
        message = f"{what} is not running at {parts.hostname}:{parts.port}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
