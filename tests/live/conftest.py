"""The live servers of these tests: a gunicorn server of the test site and a real Varnish
(Debian's ``varnishd``) in front of it with ``docs/varnish/jimmypage.vcl``, and HTTP clients.

Both run in one cell of the matrix only (``require_cell``): Python 3.11, Django 5.2, PostgreSQL
and Redis. Under CI, a missing ``varnishd`` there is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import types

import django
import pytest
from django.conf import settings
from django.test import override_settings

from jimmypage import purge
from tests.live.support import HOST
from tests.processes import (
    ROOT,
    Process,
    created_databases,
    free_port,
    python,
    require_module,
    require_shared_backends,
    server_env,
)

CELL = ((3, 11), (5, 2), "postgres", "redis")
VCL = ROOT / "docs" / "varnish" / "jimmypage.vcl"
DOWNSTREAM = {"max-age": 0, "s-maxage": 600, "stale-while-revalidate": 30}


def require_cell() -> None:
    here = (sys.version_info[:2], django.VERSION[:2], settings.TEST_DB, settings.TEST_CACHE)
    if here != CELL:
        pytest.skip(
            "the live HTTP and Varnish tests run in one cell of the matrix only "
            "(Python 3.11, Django 5.2, JIMMYPAGE_TEST_DB=postgres, JIMMYPAGE_TEST_CACHE=redis)"
        )
    require_shared_backends()
    require_module("gunicorn")
    require_module("httpx")


def varnishd() -> str:
    """The path of Debian's ``varnishd`` (skip without it; fail under CI)."""
    found = shutil.which("varnishd") or next(
        (path for path in ("/usr/sbin/varnishd",) if os.access(path, os.X_OK)), None
    )
    if found is None:
        message = "varnishd is not installed (Debian: apt-get install varnish)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def backend_port() -> int:
    """The port of the Django server behind Varnish, chosen before either starts."""
    return free_port()


@pytest.fixture(scope="session")
def varnish(backend_port, tmp_path_factory):
    """One varnishd for the session, on a free port, with the shipped VCL pointed at the server.

    ``-j none`` runs it as the user who runs the tests (root under CI, or not), in a working
    directory of its own (``-n``).
    """
    require_cell()
    binary = varnishd()
    folder = tmp_path_factory.mktemp("varnish")
    vcl = folder / "jimmypage.vcl"
    vcl.write_text(VCL.read_text().replace('.port = "8000";', f'.port = "{backend_port}";'))
    port = free_port()
    argv = [binary, "-F", "-j", "none", "-n", str(folder / "work"), "-a", f"127.0.0.1:{port}"]
    argv += ["-T", "none", "-f", str(vcl), "-s", "malloc,32m"]
    process = Process("varnishd", argv, dict(os.environ), folder / "varnishd.log").start()
    try:
        process.wait_until(lambda: _answers(port), 60, "varnishd to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture(scope="module")
def server(backend_port, varnish, django_db_setup, django_db_blocker, tmp_path_factory):
    """The test site under gunicorn on ``backend_port``, in per-table mode, banning at Varnish."""
    with django_db_blocker.unblock():
        databases = created_databases()
    extra = {
        "JIMMY_PAGE_MODE": "per-table",
        "JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL": DOWNSTREAM,
        "JIMMY_PAGE_PURGE_URLS": [varnish],
    }
    env = server_env(databases, JIMMYPAGE_SERVER_SETTINGS=json.dumps(extra))
    logs = tmp_path_factory.mktemp("live-server")
    access = logs / "access.log"
    argv = python(
        "-m",
        "gunicorn",
        "tests.wsgi:application",
        f"--bind=127.0.0.1:{backend_port}",
        "--workers=1",
        "--worker-class=gthread",
        "--threads=8",
        "--timeout=60",
        "--graceful-timeout=5",
        f"--access-logfile={access}",
        "--access-logformat=%(r)s %(s)s %(B)s",
    )
    process = Process("gunicorn", argv, env, logs / "gunicorn.log").start()
    try:
        url = f"http://127.0.0.1:{backend_port}"
        process.wait_until(lambda: _ping(url), 60, "the server to answer")
        yield types.SimpleNamespace(url=url, access=access)
    finally:
        process.stop()


def _ping(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/ping/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def live(server, varnish, monkeypatch):
    """Per test: this process in the server's mode, and Varnish emptied of jimmypage's pages.

    Bans go through a sender of the test's own, stopped after it, so that no ban sent again
    a second later (``purge.REPEAT_AFTER``) lands in the next test.
    """
    import httpx

    sender = purge.Sender()
    monkeypatch.setattr(purge, "_sender", sender)
    with override_settings(
        JIMMY_PAGE_MODE="per-table",
        JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=DOWNSTREAM,
        JIMMY_PAGE_PURGE_URLS=[varnish],
    ):
        assert purge.send_ban(varnish, [purge.site_key()])
        with (
            httpx.Client(base_url=server.url, headers={"Host": HOST}, timeout=30) as direct,
            httpx.Client(base_url=varnish, headers={"Host": HOST}, timeout=30) as front,
        ):
            yield types.SimpleNamespace(direct=direct, front=front, access=server.access)
        assert purge.wait_until_sent(10)
    sender.close()
