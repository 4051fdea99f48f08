"""Closing the database connections that a thread of the tests opened."""

from __future__ import annotations

import threading

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


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
