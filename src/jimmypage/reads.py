"""The tables a render reads, recorded while a cached view renders (per-table mode)."""

from __future__ import annotations

from contextvars import ContextVar

from . import conf, relations
from .generations import known_tables
from .sql import EVERYTHING, named_tables

# The set of tables the current render has read, or None when no render is being recorded.
# A ContextVar follows the render into sync_to_async threads and back, for async views too.
_recording: ContextVar[set[str] | None] = ContextVar("jimmypage_reads", default=None)


def start() -> set[str]:
    """Record the tables that queries in this context name, into the returned set."""
    tables: set[str] = set()
    _recording.set(tables)
    return tables


def stop() -> None:
    _recording.set(None)


def note(sql: str) -> None:
    """Add the tables that a read statement names to the render being recorded, if any."""
    tables = _recording.get()
    if tables is not None:
        tables.update(tables_named(sql))


def note_everything() -> None:
    """The render read what cannot be told (a procedure, a relation not resolved): the page
    depends on every table."""
    tables = _recording.get()
    if tables is not None:
        tables.add(EVERYTHING)


# Like the write hook, each statement's text is parsed once: renders repeat the same queries.
_NAMED_MAX = 4096


def tables_named(sql: str) -> frozenset[str]:
    """The installed models' tables and the views that ``sql`` names, remembered by text
    (bounded)."""
    named = conf.memo("reads.tables_named")
    try:
        return named[sql]
    except KeyError:
        pass
    if len(named) >= _NAMED_MAX:
        named.clear()
    found = named[sql] = frozenset(named_tables(sql, known_tables() | relations.views()))
    return found
