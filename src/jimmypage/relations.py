"""SQL views and the tables they read, from the database's catalogue (per-table mode).

A page that reads a view depends on the tables the view reads, and a write through an
updatable view writes them: both are expanded to those tables (recursively, for views on
views) where a page is stamped and where generations change. A relation whose tables cannot be
told "depends on everything": a page that read it is stamped with every table (any write makes
it stale) and a write to it replaces the global generation (every page goes stale). That is:

* a view whose definition could not be read, or names no relation;
* an unmanaged model's table that no catalogue lists (before any catalogue was read, or in a
  database whose catalogue could not be read): it may be a view.

Each database's catalogue is read once per process, when its first connection opens in
autocommit (never inside a transaction, where a failing query would break it), and again after
``migrate`` applied migrations (``post_migrate``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.apps import apps
from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper

from . import conf
from .sql import EVERYTHING, named_tables

_DEFINITIONS = {
    "postgresql": "SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c "
    "WHERE c.relkind IN ('v', 'm') AND pg_catalog.pg_table_is_visible(c.oid)",
    "mysql": "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
    "WHERE TABLE_SCHEMA = DATABASE()",
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'view'",
}
_FOLDS_CASE = {"mysql", "sqlite"}  # names match whatever their case

# Per (alias, database name): the relations its catalogue lists, and per view the relations its
# definition names (None: unreadable).
_catalogues: dict[tuple[str, str], tuple[frozenset[str], dict[str, frozenset[str] | None]]] = {}
# Per relation that is not simply itself: what it stands for; and every view's name. Rebuilt
# when a catalogue is read.
_expansions: dict[str, frozenset[str]] | None = None
_views: frozenset[str] = frozenset()
_last_plan = None


def expand(tables: Iterable[str]) -> frozenset[str]:
    """``tables``, plus what their views read; ``EVERYTHING`` for a relation not resolved."""
    expansions = _expansions if _expansions is not None else _build()
    tables = frozenset(tables)
    if not expansions:  # no view, nothing unresolved: the common case
        return tables
    found = [expansions[table] for table in tables if table in expansions]
    return tables.union(*found) if found else tables


def views() -> frozenset[str]:
    """Every view of every catalogue read: names a read may depend on, as tables are."""
    if _expansions is None:
        _build()
    return _views


def _model_tables() -> tuple[frozenset[str], frozenset[str]]:
    """Every model's table, and the unmanaged models' tables (which may be views)."""
    models = apps.get_models(include_auto_created=True)
    every = frozenset(model._meta.db_table for model in models)
    return every, frozenset(model._meta.db_table for model in models if not model._meta.managed)


def _build() -> dict[str, frozenset[str]]:
    """What each view and each unresolved relation stands for, from the catalogues read."""
    global _expansions, _views
    _, unmanaged = _model_tables()
    listed: set[str] = set()
    definitions: dict[str, frozenset[str] | None] = {}
    for relations, views_named in _catalogues.values():
        listed.update(relations)
        for view, named in views_named.items():
            known = definitions.get(view, frozenset())
            definitions[view] = None if named is None or known is None else known | named
    expansions = {view: _resolve(view, definitions) for view in definitions}
    for table in unmanaged - listed:
        expansions[table] = frozenset({EVERYTHING})
    _views = frozenset(definitions)
    _expansions = expansions
    return expansions


def _resolve(view: str, definitions: dict, seen: frozenset[str] = frozenset()) -> frozenset:
    """The relations ``view`` reads, through views on views; ``{EVERYTHING}`` if unknown."""
    named = definitions[view]
    if not named:
        return frozenset({EVERYTHING})
    found = set(named)
    for relation in named - seen - {view}:
        if relation in definitions:
            found |= _resolve(relation, definitions, seen | {view})
    return frozenset(found)


def read_catalogue(connection: BaseDatabaseWrapper) -> None:
    """Read ``connection``'s views and what they read; call it in autocommit only."""
    model_tables, _ = _model_tables()
    with connection.cursor() as cursor:
        relations = connection.introspection.get_table_list(cursor)
        texts = {}
        if connection.vendor in _DEFINITIONS:
            cursor.execute(_DEFINITIONS[connection.vendor])
            texts = dict(cursor.fetchall())
    names = frozenset(info.name for info in relations)
    known = names | model_tables
    fold = connection.vendor in _FOLDS_CASE
    views_named = {}
    for info in relations:
        if info.type == "v":
            text = texts.get(info.name)
            named = named_tables(text, known, fold_case=fold) - {info.name} if text else None
            views_named[info.name] = frozenset(named) if named is not None else None
    _catalogues[_catalogue_key(connection)] = (names, views_named)
    _changed()


def _changed() -> None:
    global _expansions
    _expansions = None
    conf.memo("reads.tables_named").clear()  # what a read names depends on the views known


def _catalogue_key(connection: BaseDatabaseWrapper) -> tuple[str, str]:
    return connection.alias, str(connection.settings_dict.get("NAME"))


def _safe_to_query(connection: BaseDatabaseWrapper) -> bool:
    return connection.autocommit and not connection.in_atomic_block


def read_when_safe(connection: BaseDatabaseWrapper, again: bool = False) -> None:
    """Read ``connection``'s catalogue if not read yet (or ``again``), in autocommit only."""
    if connection.alias == NO_DB_ALIAS or not apps.ready or not _safe_to_query(connection):
        return
    if not again and _catalogue_key(connection) in _catalogues:
        return
    try:
        read_catalogue(connection)
    except DatabaseError:
        logging.getLogger("jimmypage").warning(
            "jimmypage: could not read the views of database %r: in per-table mode, pages "
            "that read unmanaged models depend on every table",
            connection.alias,
            exc_info=True,
        )


def on_connection_created(connection: BaseDatabaseWrapper, **kwargs) -> None:
    read_when_safe(connection)


def on_post_migrate(using: str = "default", plan=None, **kwargs) -> None:
    """Migrations may have made or changed views: read the catalogue again, once per run."""
    global _last_plan
    if not plan or plan is _last_plan:
        return
    _last_plan = plan
    read_when_safe(connections[using], again=True)


def forget() -> None:
    """Forget every catalogue read (tests; after views changed outside migrations)."""
    _catalogues.clear()
    _changed()
