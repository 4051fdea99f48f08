"""Every write to the database makes the pages that depend on it stale, once, on commit.

An execute wrapper on every database connection sees each SQL statement: ``save()``, ``delete()``,
``QuerySet.update()``/``delete()``, bulk operations, many-to-many changes and raw SQL alike.
After a write succeeds, the tables it wrote are recorded: outside a transaction their
generations change at once; inside ``atomic()`` once per table when the outermost transaction
commits. A rolled-back transaction or savepoint changes nothing; a failed statement neither.
"""

from __future__ import annotations

from functools import cache, partial

from django.apps import apps
from django.conf import settings
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.signals import setting_changed
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.utils.module_loading import import_string

from . import conf, generations, reads, sessions, users
from .sql import EVERYTHING, may_delete_rows, written_tables

# Tables whose writes never make pages stale, whatever the whitelist says.
ALWAYS_IGNORED = frozenset({"django_migrations"})


@cache
def _own_tables() -> frozenset[str]:
    """The database cache's tables and the task queues' tables: the cache's own bookkeeping."""
    tables = set(ALWAYS_IGNORED)
    for options in settings.CACHES.values():
        try:
            backend_class = import_string(options.get("BACKEND", ""))
        except ImportError:
            continue
        if isinstance(backend_class, type) and issubclass(backend_class, BaseDatabaseCache):
            tables.add(options["LOCATION"])
    for app_config in apps.get_app_configs():
        if app_config.name.startswith("django_tasks"):
            tables.update(model._meta.db_table for model in app_config.get_models())
    return frozenset(tables)


def _forget_what_settings_tell(setting: str, **kwargs) -> None:
    if setting in ("CACHES", "INSTALLED_APPS"):
        _own_tables.cache_clear()
        _database_cascades.cache_clear()


setting_changed.connect(_forget_what_settings_tell, dispatch_uid="jimmypage.writes.own_tables")


@cache
def _database_cascades() -> dict[str, frozenset[str]]:
    """Per table, the tables whose rows the database itself changes when rows of it go.

    Django 6.1's ``DB_CASCADE``, ``DB_SET_NULL`` and ``DB_SET_DEFAULT`` leave a deletion's
    consequences to the database: no statement names the referring table, so only the models
    can tell. A ``DB_CASCADE`` deletes rows, which may cascade further.
    """
    edges: dict[str, list[tuple[str, bool]]] = {}
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.local_fields:
            remote = field.remote_field
            on_delete = getattr(remote, "on_delete", None)
            if remote is not None and hasattr(on_delete, "on_delete_sql"):
                deletes = getattr(on_delete, "operation", "") == "CASCADE"
                parent = remote.model._meta.db_table
                edges.setdefault(parent, []).append((model._meta.db_table, deletes))
    reached: dict[str, frozenset[str]] = {}
    for start in edges:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for child, deletes in edges.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    if deletes:
                        todo.append(child)
        reached[start] = frozenset(seen - {start})
    return reached


def with_database_cascades(tables: frozenset[str], sql: str) -> frozenset[str]:
    """``tables``, plus those the database changes itself when ``sql`` deletes rows of them."""
    cascades = _database_cascades()
    if not cascades or not may_delete_rows(sql):
        return tables
    return tables.union(*(cascades.get(table, ()) for table in tables))


def ignores(table: str) -> bool:
    """True when writes to ``table`` must not make pages stale."""
    return table in _own_tables() or table in conf.whitelist()


# Statements seen, by text, and the tables whose pages each makes stale. Django sends the same
# few texts over and over (values travel as parameters), so deciding once per text keeps the
# hook to a dict lookup. Bounded, since raw SQL may inline its values.
_DECIDED_MAX = 4096


def stale_tables(sql: str) -> frozenset[str] | None:
    """The tables whose pages ``sql`` makes stale once it succeeds; ``None`` when it only reads.

    Empty when it writes only ignored tables. In global mode any other write answers
    ``{EVERYTHING}``, since one generation covers every page. A write to users, groups or
    permissions adds ``users.MARK``, even on whitelisted tables (see ``users``).
    """
    if sql.startswith("SELECT") and ";" not in sql:  # Django's reads, decided at once
        return None
    decided = conf.memo("writes.stale_tables")
    try:
        return decided[sql]
    except KeyError:
        pass
    tables = written_tables(sql)
    if tables is not None:
        tables = with_database_cascades(tables, sql)
        changed_users = users.marks(tables, sql)  # whatever the whitelist says
        tables = frozenset(table for table in tables if not ignores(table))
        if tables and not generations.per_table():
            tables = frozenset({EVERYTHING})
        if EVERYTHING not in tables:  # the global generation covers signed-in pages too
            tables |= changed_users
    if len(decided) >= _DECIDED_MAX:
        decided.clear()
    decided[sql] = tables
    return tables


def record_write(tables: frozenset[str], connection: BaseDatabaseWrapper) -> None:
    """Make stale the pages that depend on ``tables``, now or when the transaction commits.

    Django keeps a transaction's on-commit hooks in ``connection.run_on_commit`` and replaces
    that list when the transaction ends or a savepoint rolls back. Remembering which tables
    already have a hook in the current list gives one change per table and transaction, while a
    savepoint rollback (which drops our hooks with the old list) lets later writes add them again.
    """
    if not connection.in_atomic_block:
        generations.bump_tables(tables)
        return
    hooks = connection.run_on_commit
    pending = connection.__dict__.get("_jimmypage_pending")
    if pending is None or pending[0] is not hooks:
        pending = (hooks, set())
        connection._jimmypage_pending = pending
    elif tables <= pending[1]:
        return  # the usual case inside a transaction: this table already has its hook
    new = tables - pending[1]
    pending[1].update(new)
    transaction.on_commit(partial(generations.bump_tables, new), using=connection.alias)


def see_statement(execute, sql, params, many, context):
    """The execute wrapper: run the statement, then record what it wrote."""
    text = sql if type(sql) is str else str(sql)
    tables = stale_tables(text)
    if tables is None:
        reads.note(text)
        return execute(sql, params, many, context)
    result = execute(sql, params, many, context)
    tables |= sessions.marks(text, params, many)
    if tables:
        record_write(tables, context["connection"])
    return result


def watch(connection: BaseDatabaseWrapper, **kwargs) -> None:
    """Put the execute wrapper on ``connection``, once (it survives reconnections)."""
    if see_statement not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, see_statement)


def watch_all_connections() -> None:
    """Watch every connection: those made from now on, and any this thread already has."""
    connection_created.connect(watch, dispatch_uid="jimmypage.watch")
    for connection in connections.all(initialized_only=True):
        watch(connection)
