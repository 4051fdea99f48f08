"""Fixtures of the scaling tests (issue 13): real replicas, Sentinel and Cluster.

These tests start their own servers (a PostgreSQL primary and replica, Redis with Sentinel, a
Redis Cluster), so they run in one cell of the ./runtests matrix only: Python 3.11, Django 5.2,
PostgreSQL and Redis. ``JIMMYPAGE_SCALING_TESTS=1`` runs them in any cell, ``=0`` in none.
Under CI a missing server binary fails them; elsewhere it skips them, saying what is missing.
"""

from __future__ import annotations

import os
import sys

import django
import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from jimmypage import refresh
from tests.reliability.support import ManualExecutor

from .cluster_servers import RedisClusterNodes
from .servers import PostgresPair, SentinelGroup, missing_binaries

PRIMARY, REPLICA = "jp_primary", "jp_replica"


def why_not_here() -> str | None:
    """Why the scaling tests do not run in this cell, or ``None`` if they do."""
    forced = os.environ.get("JIMMYPAGE_SCALING_TESTS")
    if forced is not None:
        return None if forced == "1" else "JIMMYPAGE_SCALING_TESTS=0"
    cell = (settings.TEST_DB, settings.TEST_CACHE, sys.version_info[:2], django.VERSION[:2])
    if cell != ("postgres", "redis", (3, 11), (5, 2)):
        return "they start their own servers: they run in the py3.11/dj5.2 postgres:redis cell"
    return None


FIGURES: dict[str, dict] = {}


def figure(test: str, **values) -> None:
    """Record figures of ``test``, printed at the end of the run."""
    FIGURES.setdefault(test, {}).update(values)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("jimmypage scaling figures")
        for test, values in FIGURES.items():
            shown = ", ".join(f"{name}={value}" for name, value in values.items())
            terminalreporter.write_line(f"{test}: {shown}")


@pytest.fixture(scope="session")
def scaling_here():
    reason = why_not_here()
    if reason:
        pytest.skip(reason)
    missing = missing_binaries()
    if missing:
        message = f"the scaling tests need {', '.join(missing)} (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_pair(scaling_here):
    """A PostgreSQL primary and its replica, 200 ms behind, for the whole session."""
    pair = PostgresPair()
    try:
        yield pair.start()
    finally:
        pair.stop()


@pytest.fixture
def replica_databases(transactional_db, postgres_pair, monkeypatch, django_db_blocker):
    """The aliases ``jp_primary`` and ``jp_replica``, with the test app's tables.

    Added after pytest-django set up the test, removed before it tears it down: its test case
    would refuse queries to aliases it did not create, and flush them (a replica cannot be).
    """
    added = {
        PRIMARY: postgres_pair.settings(postgres_pair.primary_port),
        REPLICA: postgres_pair.settings(postgres_pair.replica_port),
    }
    configured = connections.configure_settings({"default": settings.DATABASES["default"], **added})
    for alias in added:
        connections.settings[alias] = configured[alias]
    guarded = BaseDatabaseWrapper.ensure_connection
    unguarded = django_db_blocker._real_ensure_connection  # Django's own

    def ensure_connection(self, *args, **kwargs):
        method = unguarded if self.alias in added else guarded
        return method(self, *args, **kwargs)

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", ensure_connection)
    if not postgres_pair.tables_made:
        make_tables(PRIMARY)
        postgres_pair.tables_made = True
    try:
        yield postgres_pair
    finally:
        for alias in added:
            connections[alias].close()
            del connections[alias]
            connections.settings.pop(alias, None)


def make_tables(alias: str) -> None:
    """The test app's tables, in the database ``alias``."""
    from django.apps import apps

    with connections[alias].schema_editor() as editor:
        for model in apps.get_app_config("testapp").get_models():
            editor.create_model(model)


@pytest.fixture
def sentinel_group(scaling_here):
    """A Redis primary, a replica and a Sentinel, new for each test (failovers change them)."""
    group = SentinelGroup(link_delay=0.3)
    try:
        yield group.start()
    finally:
        group.close()


@pytest.fixture
def redis_cluster(scaling_here):
    """A Redis Cluster of 3 primaries and 3 replicas, new for each test."""
    nodes = RedisClusterNodes()
    try:
        yield nodes.start()
    finally:
        nodes.close()


@pytest.fixture
def manual_refreshes(monkeypatch):
    """Refreshes run by hand: ``manual_refreshes.run()``."""
    manual = ManualExecutor()
    monkeypatch.setattr(refresh, "executor", lambda: manual)
    yield manual
    manual.run()
