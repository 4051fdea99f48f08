"""Every write to the database makes the pages that depend on it stale, once, on commit.

An execute wrapper on every database connection sees each SQL statement: ``save()``, ``delete()``,
``QuerySet.update()``/``delete()``, bulk operations, many-to-many changes and raw SQL alike.
After a write succeeds, the tables it wrote are recorded: outside a transaction their
generations change at once; inside a transaction (``atomic()`` or manual) once per table where
the transaction ends (``transactions``). A rolled-back transaction or savepoint changes nothing;
a failed statement neither.
"""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.conf import settings
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.signals import setting_changed
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.module_loading import import_string

from . import conf, generations, reads, sessions, transactions, users
from .sql import COMMITS, EVERYTHING, may_delete_rows, transaction_end, written_tables

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
    ending = transaction_end(sql)
    if ending is not None:
        tables = Ending(tables or (), ending)
    if len(decided) >= _DECIDED_MAX:
        decided.clear()
    decided[sql] = tables
    return tables


class Ending(frozenset):
    """The tables a statement writes, when the statement may also end the open transaction
    (``sql.transaction_end``): never empty of work, since the end itself counts."""

    __slots__ = ("how",)

    def __new__(cls, tables, how: str):
        ending = super().__new__(cls, tables)
        ending.how = how
        return ending

    def __bool__(self) -> bool:
        return True


def record_write(tables: frozenset[str], connection: BaseDatabaseWrapper) -> None:
    """Make stale the pages that depend on ``tables``: now in autocommit, else where the
    transaction ends (see ``transactions``)."""
    if type(tables) is Ending:
        tables = _transaction_ended(tables, connection)
        if not tables:
            return
    if not connection.in_atomic_block and connection.autocommit:
        generations.bump_tables(tables)
    else:
        transactions.defer(tables, connection)


def _transaction_ended(ending: Ending, connection: BaseDatabaseWrapper) -> frozenset[str]:
    """What waited in the transaction ``ending``'s statement ended takes effect now; what the
    statement itself wrote is left to record."""
    tables = frozenset(ending)
    if connection.autocommit and not connection.in_atomic_block:
        return tables  # no transaction was open
    if ending.how == COMMITS:
        transactions.ended_early(connection, certain=True)
    elif not connection.features.can_rollback_ddl:  # MySQL committed before the statement
        transactions.ended_early(connection, certain=False)
        if tables:
            generations.bump_tables(tables)  # and with it; recorded for the end Django sees too
    return tables


def see_statement(execute, sql, params, many, context):
    """The execute wrapper: run the statement, then record what it wrote."""
    text = sql if type(sql) is str else str(sql)
    tables = stale_tables(text)
    if tables is None:
        reads.note(text)
        return execute(sql, params, many, context)
    result = execute(sql, params, many, context)
    marks = sessions.marks(text, params, many)
    if marks:  # keeps an Ending an Ending
        tables = Ending(tables | marks, tables.how) if type(tables) is Ending else tables | marks
    if tables:
        record_write(tables, context["connection"])
    return result
