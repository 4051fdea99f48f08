"""Closing the database connections that a thread of the tests opened."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

T = TypeVar("T")


def close_thread_connections() -> None:
    """Close this thread's database connections, in-memory SQLite ones included.

    Django never closes a connection to an in-memory SQLite database, since closing the last one
    drops the database; a thread's is not the last one, the main thread holds the database. A
    thread that ends with its connection open leaves it to the garbage collector, which Python
    3.13 reports as ``ResourceWarning: unclosed database``.
    """
    if threading.current_thread() is threading.main_thread():
        raise RuntimeError("the main thread's connections hold the in-memory test databases")
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            BaseDatabaseWrapper.close(connection)
        else:
            connection.close()


def in_another_thread(function: Callable[[], T]) -> T:
    """``function()``, called on another thread with database connections of its own: what
    another request would see (only what is committed, when the cache lives in the database),
    and never a query on this thread's connection, which may be busy (a COPY) or in a
    transaction that the call must not join."""
    results: list[T] = []

    def call() -> None:
        try:
            results.append(function())
        finally:
            close_thread_connections()

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(30)
    if not results:
        raise RuntimeError("the call on another thread failed or did not end")
    return results[0]
