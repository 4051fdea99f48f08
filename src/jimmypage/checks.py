"""System checks for jimmypage's settings and for how it is deployed.

Errors (``jimmypage.E...``) are settings jimmypage cannot work with. Warnings (``W...``) are
deployments where it works with less than its promises: a cache each process has to itself, a
lock that is not atomic, refreshes rendered inside the request.

* W001: the page cache is ``LocMemCache`` (one per process) and there are signs of several
  processes (``WEB_CONCURRENCY`` above 1, gunicorn or uWSGI, a task queue's workers).
* W002: ``FileBasedCache``: ``add`` and ``incr`` are not atomic.
* W003: ``DummyCache`` caches nothing.
* W004: the Tasks executor with ``ImmediateBackend`` renders refreshes inside the request.
* W005: ``DatabaseCache``: ``incr`` is not atomic, nor ``add`` over an expired lock.
* W006: the Tasks executor with ``DummyBackend`` never runs a refresh.
* E008: ``DatabaseCache`` in SQLite loses rows written outside a transaction.
* E009, E010: ``JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL`` or ``JIMMY_PAGE_PURGE_URLS`` malformed.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from . import conf, downstream, purge

_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "JIMMY_PAGE_CACHE_PREFIX": (str,),
    "JIMMY_PAGE_CACHE_SECONDS": (int,),
    "JIMMY_PAGE_DISABLED": (bool,),
    "JIMMY_PAGE_DEBUG_CACHE": (bool,),
    "JIMMY_PAGE_TASK_LOCK_EXPIRES": (int,),
    "JIMMY_PAGE_REFRESH_RETRY_SECONDS": (int,),
    "JIMMY_PAGE_EXPIRATION_WHITELIST": (list, tuple, set, frozenset),
    "JIMMY_PAGE_CACHE_ALIAS": (str,),
    "JIMMY_PAGE_STATUS_HEADER": (str, type(None)),
    "JIMMY_PAGE_REFRESH_THREADS": (int,),
    "JIMMY_PAGE_REFRESH_QUEUE_SIZE": (int,),
    "JIMMY_PAGE_MODE": (str,),
    "JIMMY_PAGE_STATS_FLUSH_SECONDS": (int, float),
    "JIMMY_PAGE_REFRESH_EXECUTOR": (str,),
    "JIMMY_PAGE_TASKS_BACKEND": (str,),
    "JIMMY_PAGE_TASK_QUEUE": (str, type(None)),
    "JIMMY_PAGE_RENDER_ON_PRIMARY": (bool,),
    "JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL": (dict,),
    "JIMMY_PAGE_PURGE_URLS": (list, tuple),
    "JIMMY_PAGE_PURGE_KEY_HEADER": (str,),
    "JIMMY_PAGE_LOCAL_CACHE_BYTES": (int,),
    "JIMMY_PAGE_LOCAL_STALENESS_SECONDS": (int, float, type(None)),
}
MODES = ("global", "per-table")


@register(Tags.caches)
def check_settings(app_configs=None, **kwargs):
    """Each setting has the right type and the cache alias exists."""
    errors = []
    for name, types in _EXPECTED_TYPES.items():
        value = conf.get(name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            errors.append(
                Error(
                    f"{name} must be {expected}, not {type(value).__name__}.",
                    id="jimmypage.E001",
                )
            )
    if conf.cache_alias() not in settings.CACHES:
        errors.append(
            Error(
                f"JIMMY_PAGE_CACHE_ALIAS is {conf.cache_alias()!r}, which is not in CACHES.",
                hint=f"Use one of: {', '.join(settings.CACHES)}.",
                id="jimmypage.E002",
            )
        )
    if isinstance(conf.get("JIMMY_PAGE_MODE"), str) and conf.get("JIMMY_PAGE_MODE") not in MODES:
        errors.append(
            Error(
                f"JIMMY_PAGE_MODE is {conf.get('JIMMY_PAGE_MODE')!r}.",
                hint=f"Use one of: {', '.join(MODES)}.",
                id="jimmypage.E004",
            )
        )
    for name in ("JIMMY_PAGE_REFRESH_THREADS", "JIMMY_PAGE_TASK_LOCK_EXPIRES"):
        value = conf.get(name)
        if isinstance(value, int) and value < 1:
            errors.append(Error(f"{name} must be at least 1.", id="jimmypage.E003"))
    retry = conf.get("JIMMY_PAGE_REFRESH_RETRY_SECONDS")
    if isinstance(retry, int) and retry < 0:
        errors.append(
            Error("JIMMY_PAGE_REFRESH_RETRY_SECONDS must be 0 or more.", id="jimmypage.E003")
        )
    errors.extend(_executor_errors())
    errors.extend(downstream.setting_errors())
    errors.extend(purge.setting_errors())
    return errors


def _executor_errors() -> list[Error]:
    name = conf.refresh_executor()
    if not isinstance(name, str):
        return []  # E001 already says so
    if name not in conf.EXECUTORS:
        return [
            Error(
                f"JIMMY_PAGE_REFRESH_EXECUTOR is {name!r}.",
                hint=f"Use one of: {', '.join(conf.EXECUTORS)}.",
                id="jimmypage.E005",
            )
        ]
    if name == "tasks":
        if not _tasks_framework():
            return [
                Error(
                    'JIMMY_PAGE_REFRESH_EXECUTOR = "tasks" needs a Tasks framework.',
                    hint="Use Django 6, or install django-tasks (the backport) on Django 5.2.",
                    id="jimmypage.E006",
                )
            ]
        alias = conf.get("JIMMY_PAGE_TASKS_BACKEND")
        if isinstance(alias, str) and alias not in _tasks_setting():
            return [
                Error(
                    f"JIMMY_PAGE_TASKS_BACKEND is {alias!r}, which is not in TASKS.",
                    hint=f"Use one of: {', '.join(_tasks_setting())}.",
                    id="jimmypage.E007",
                )
            ]
    if name == "celery" and find_spec("celery") is None:
        return [
            Error(
                'JIMMY_PAGE_REFRESH_EXECUTOR = "celery" needs Celery, which is not installed.',
                hint="pip install celery (with the client of your broker).",
                id="jimmypage.E006",
            )
        ]
    return []


def _tasks_framework() -> bool:
    return find_spec("django.tasks") is not None or find_spec("django_tasks") is not None


def _tasks_setting() -> dict:
    """TASKS as Django reads it; both frameworks default to one ``ImmediateBackend``."""
    default = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    return getattr(settings, "TASKS", None) or default


def _class_names(dotted_path: str) -> set[str]:
    """The names of the class at ``dotted_path`` and of its bases; the last part alone when the
    class cannot be imported (Django's own checks report that)."""
    try:
        found = import_string(dotted_path)
    except ImportError:
        return {dotted_path.rpartition(".")[2]}
    return {klass.__name__ for klass in getattr(found, "__mro__", ())}


def _process_hints() -> list[str]:
    """Signs that this site runs in several processes."""
    hints = []
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    if concurrency.isdigit() and int(concurrency) > 1:
        hints.append(f"WEB_CONCURRENCY={concurrency}")
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    software = os.environ.get("SERVER_SOFTWARE", "").lower()
    for server, variable in (
        ("gunicorn", "GUNICORN_CMD_ARGS"),
        ("uwsgi", "UWSGI_ORIGINAL_PROC_NAME"),
    ):
        if (
            server in sys.modules
            or program.startswith(server)
            or server in software
            or variable in os.environ
        ):
            hints.append(f"running under {server}")
    if conf.refresh_executor() in ("tasks", "celery") and not _tasks_without_workers():
        hints.append(f"refreshes run in {conf.refresh_executor()} worker processes")
    return hints


def _tasks_backend_names() -> set[str]:
    alias = conf.get("JIMMY_PAGE_TASKS_BACKEND")
    options = _tasks_setting().get(alias) if isinstance(alias, str) else None
    if not isinstance(options, dict) or not isinstance(options.get("BACKEND"), str):
        return set()
    return _class_names(options["BACKEND"])


def _cache_database_vendor(alias: str) -> str | None:
    """The vendor of the database that holds the DatabaseCache ``alias``."""
    from django.core.cache import caches
    from django.db import connections, router

    try:
        return connections[router.db_for_write(caches[alias].cache_model_class)].vendor
    except Exception:  # an unusable cache is reported by Django's own checks
        return None


def _tasks_without_workers() -> bool:
    """True for the Tasks executor with a backend that runs tasks in the request, or never."""
    if conf.refresh_executor() != "tasks":
        return False
    return bool({"ImmediateBackend", "DummyBackend"} & _tasks_backend_names())


@register(Tags.caches)
def check_deployment(app_configs=None, **kwargs):
    """Warn where the cache or the executor cannot keep jimmypage's promises (and fail where
    they would lose data)."""
    options = (
        settings.CACHES.get(conf.cache_alias()) if isinstance(conf.cache_alias(), str) else None
    )
    if not isinstance(options, dict) or not isinstance(options.get("BACKEND"), str):
        return []  # E001 / E002 already say so
    backend = _class_names(options["BACKEND"])
    alias = conf.cache_alias()
    warnings = []
    if "LocMemCache" in backend:
        hints = _process_hints()
        if hints:
            warnings.append(
                Warning(
                    f"The page cache {alias!r} is a LocMemCache, which each process has to "
                    "itself, and this site seems to run in several processes "
                    f"({'; '.join(hints)}).",
                    hint="Each process would keep its own pages, generations and locks: a write "
                    "made in one process would not make pages stale in the others, refreshes "
                    "would run once per process, and a worker's refresh would never reach the "
                    "web processes. Use Redis or memcached.",
                    id="jimmypage.W001",
                )
            )
    if "FileBasedCache" in backend:
        warnings.append(
            Warning(
                f"The page cache {alias!r} is a FileBasedCache, whose add() and incr() are not "
                "atomic.",
                hint="Two requests (in one process or in several) may both take the refresh lock "
                "of a page, so it may be refreshed twice; the shared counters may miss counts. "
                "It is also limited to one machine. Use Redis or memcached.",
                id="jimmypage.W002",
            )
        )
    if "DummyCache" in backend:
        warnings.append(
            Warning(
                f"The page cache {alias!r} is a DummyCache, which caches nothing.",
                hint="Every request renders its view; set JIMMY_PAGE_DISABLED = True to say so.",
                id="jimmypage.W003",
            )
        )
    if "DatabaseCache" in backend and _cache_database_vendor(alias) == "sqlite":
        warnings.append(
            Error(
                f"The page cache {alias!r} is a DatabaseCache in an SQLite database.",
                hint="jimmypage makes pages stale on the connection that wrote, and on SQLite a "
                "cache write made while an INSERT ... RETURNING is still open fails and rolls "
                "that INSERT back: outside a transaction, rows would be lost. Use another cache "
                "backend, or route the cache table to another database.",
                id="jimmypage.E008",
            )
        )
    if "DatabaseCache" in backend:
        warnings.append(
            Warning(
                f"The page cache {alias!r} is a DatabaseCache, whose incr() is not atomic, and "
                "whose add() over an expired entry is not either.",
                hint="The shared counters may miss counts, and when a lost refresh's lock "
                "expires, two requests may both take it and refresh that page twice. Use Redis "
                "or memcached for exact counts and locks.",
                id="jimmypage.W005",
            )
        )
    # Without a Tasks framework, E006 says so; its backends cannot be judged (issue 17).
    if conf.refresh_executor() == "tasks" and _tasks_framework():
        names = _tasks_backend_names()
        backend_alias = conf.get("JIMMY_PAGE_TASKS_BACKEND")
        if "ImmediateBackend" in names:
            warnings.append(
                Warning(
                    f"The tasks backend {backend_alias!r} is an ImmediateBackend: refreshes "
                    "would render inside the request that found the page stale.",
                    hint="Use a backend with workers (django-tasks-db, django-tasks-rq), or the "
                    'default JIMMY_PAGE_REFRESH_EXECUTOR = "thread".',
                    id="jimmypage.W004",
                )
            )
        if "DummyBackend" in names:
            warnings.append(
                Warning(
                    f"The tasks backend {backend_alias!r} is a DummyBackend, which never runs "
                    "a task: stale pages would never be refreshed.",
                    hint="Use a backend with workers.",
                    id="jimmypage.W006",
                )
            )
    return warnings
