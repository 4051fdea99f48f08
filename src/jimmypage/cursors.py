"""Cursor entry points that change data without passing through Django's execute wrappers.

``execute()`` and ``executemany()`` run the execute wrappers (``writes.see_statement``); these do
not, and count here, through the same transaction-aware path (``writes.record_write``):

* ``callproc()`` (every backend; Oracle's ``callfunc()`` too): a procedure may read and write
  anything, so it makes every page stale, and a page whose render called one depends on every
  table. Counted even when it fails: MySQL commits a procedure's statements one by one.
* ``copy()`` (psycopg 3): ``COPY ... FROM`` makes its table's pages stale once the ``with``
  block ends without error (then the rows are in); ``COPY ... TO`` is a read.
* ``copy_expert()`` and ``copy_from()`` (psycopg2), once they return; ``copy_to()`` reads.
* ``stream()`` (psycopg 3) of a writing statement (``UPDATE ... RETURNING``), once iterated.
* ``executescript()`` (SQLite): what its statements write. Python's sqlite3 commits an open
  transaction before the script: that ends the transaction, so what waited in it applies too.

Each connection makes its cursor wrappers from a subclass of the class it would have used,
with these methods overridden where the wrapper or the driver's cursor has them (made once per
pair of classes), so that every other attribute costs what it cost before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import cache

from django.db.backends import utils
from django.db.backends.base.base import BaseDatabaseWrapper

from . import reads, transactions, writes
from .sql import EVERYTHING

_ANYTHING = frozenset({EVERYTHING})


def _text(statement, raw_cursor) -> str | None:
    """The SQL text of ``statement`` (a string, bytes or psycopg's ``sql.Composable``)."""
    if isinstance(statement, str):
        return statement
    if isinstance(statement, bytes):
        return statement.decode(errors="replace")
    try:
        return statement.as_string(raw_cursor)
    except Exception:
        return None  # unknown: taken as writing anything


def _decide(statement, wrapper) -> frozenset[str] | None:
    """The tables ``statement`` makes stale (``None`` for a read, noted for the render)."""
    text = _text(statement, wrapper.cursor)
    if text is None:
        return _ANYTHING
    tables = writes.stale_tables(text)
    if tables is None:
        reads.note(text)
    return tables


def _procedure(wrapper, call: Callable) -> Callable:
    def call_procedure(*args, **kwargs):
        reads.note_everything()
        try:
            return call(*args, **kwargs)
        finally:
            writes.record_write(_ANYTHING, wrapper.db)

    return call_procedure


def _script(wrapper, call: Callable) -> Callable:
    def execute_script(script, *args, **kwargs):
        tables = _decide(script, wrapper)
        try:
            return call(script, *args, **kwargs)
        finally:
            transactions.ended_early(wrapper.db, certain=False)  # sqlite3 commits first
            if tables:
                writes.record_write(tables, wrapper.db)

    return execute_script


def _copy_block(wrapper, call: Callable) -> Callable:
    def copy(statement, *args, **kwargs):
        tables = _decide(statement, wrapper)
        block = call(statement, *args, **kwargs)
        return _RecordOnClean(block, tables, wrapper.db) if tables else block

    return copy


def _copy_statement(wrapper, call: Callable) -> Callable:
    def copy_expert(statement, *args, **kwargs):
        tables = _decide(statement, wrapper)
        result = call(statement, *args, **kwargs)
        if tables:
            writes.record_write(tables, wrapper.db)
        return result

    return copy_expert


def _copy_into(wrapper, call: Callable) -> Callable:
    def copy_from(file, table, *args, **kwargs):
        tables = _decide(f"COPY {table} FROM STDIN", wrapper)
        result = call(file, table, *args, **kwargs)
        if tables:
            writes.record_write(tables, wrapper.db)
        return result

    return copy_from


def _copy_out(wrapper, call: Callable) -> Callable:
    def copy_to(file, table, *args, **kwargs):
        reads.note(f"COPY {table} TO STDOUT")
        return call(file, table, *args, **kwargs)

    return copy_to


def _stream(wrapper, call: Callable) -> Callable:
    def stream(statement, *args, **kwargs):
        tables = _decide(statement, wrapper)
        rows = call(statement, *args, **kwargs)
        return _record_after(rows, tables, wrapper.db) if tables else rows

    return stream


def _record_after(rows, tables: frozenset[str], connection: BaseDatabaseWrapper):
    try:
        yield from rows
    finally:  # once the statement ran (psycopg runs it at the first row asked for)
        writes.record_write(tables, connection)


class _RecordOnClean:
    """A ``copy()`` block that records its write once it ends without error."""

    def __init__(self, block, tables: frozenset[str], connection: BaseDatabaseWrapper) -> None:
        self._block, self._tables, self._connection = block, tables, connection

    def __enter__(self):
        return self._block.__enter__()

    def __exit__(self, exc_type, exc, traceback):
        suppressed = self._block.__exit__(exc_type, exc, traceback)
        if exc_type is None:
            writes.record_write(self._tables, self._connection)
        return suppressed

    def __getattr__(self, name):
        return getattr(self._block, name)


ENTRY_POINTS: dict[str, Callable] = {
    "callproc": _procedure,
    "callfunc": _procedure,
    "executescript": _script,
    "copy": _copy_block,
    "copy_expert": _copy_statement,
    "copy_from": _copy_into,
    "copy_to": _copy_out,
    "stream": _stream,
}


class Watched:
    """Marks the cursor wrappers whose data-changing entry points count."""


def _overridden(wrapper_class: type, name: str, wrap: Callable) -> Callable:
    def method(self, *args, **kwargs):
        defined = getattr(wrapper_class, name, None)  # at the call: others may patch it later
        if defined is not None:
            original = defined.__get__(self, type(self))
        else:  # the driver's, through CursorWrapper.__getattr__ (which wraps its errors)
            original = wrapper_class.__getattr__(self, name)
        return wrap(self, original)(*args, **kwargs)

    method.__name__ = name
    return method


@cache
def watched_class(wrapper_class: type, cursor_class: type) -> type:
    """``wrapper_class``, with the entry points it or ``cursor_class`` has made to count."""
    namespace = {
        name: _overridden(wrapper_class, name, wrap)
        for name, wrap in ENTRY_POINTS.items()
        if hasattr(wrapper_class, name) or hasattr(cursor_class, name)
    }
    return type(wrapper_class.__name__, (Watched, wrapper_class), namespace)


def _base_make_cursor(connection: BaseDatabaseWrapper) -> Callable:
    """Django's own ``make_cursor``, with the watched class: no extra call per cursor."""
    classes: dict[type, type] = {}

    def make_cursor(cursor):
        try:
            cls = classes[type(cursor)]
        except KeyError:
            cls = classes[type(cursor)] = watched_class(utils.CursorWrapper, type(cursor))
        return cls(cursor, connection)

    return make_cursor


def _watching(make: Callable) -> Callable:
    """Any other ``make_cursor``/``make_debug_cursor``: its wrapper, moved to the watched class."""

    def make_cursor(cursor):
        wrapped = make(cursor)
        if not isinstance(wrapped, Watched):
            with suppress(TypeError):  # a wrapper whose class cannot change: left as it is
                wrapped.__class__ = watched_class(type(wrapped), type(cursor))
        return wrapped

    return make_cursor


def watch(connection: BaseDatabaseWrapper) -> None:
    """Make ``connection``'s cursors count every entry point that may change data, once."""
    if getattr(connection.__dict__.get("make_cursor"), "jimmypage", False):
        return
    if type(connection).make_cursor is BaseDatabaseWrapper.make_cursor:
        make_cursor = _base_make_cursor(connection)
    else:
        make_cursor = _watching(connection.make_cursor)
    make_debug_cursor = _watching(connection.make_debug_cursor)
    make_cursor.jimmypage = make_debug_cursor.jimmypage = True
    connection.make_cursor = make_cursor
    connection.make_debug_cursor = make_debug_cursor
