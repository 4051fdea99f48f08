"""Every database connection is watched: its statements, its cursors and its transactions;
its database's views are read (``relations``)."""

from __future__ import annotations

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from . import cursors, relations, transactions, writes


def watch(connection: BaseDatabaseWrapper, **kwargs) -> None:
    """Watch ``connection``, once (what is put on it survives reconnections)."""
    if writes.see_statement not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, writes.see_statement)
    cursors.watch(connection)
    transactions.watch(connection)


def watch_all_connections() -> None:
    """Watch every connection: those made from now on, and any this thread already has."""
    connection_created.connect(watch, dispatch_uid="jimmypage.watch")
    connection_created.connect(relations.on_connection_created, dispatch_uid="jimmypage.views")
    post_migrate.connect(relations.on_post_migrate, dispatch_uid="jimmypage.views")
    for connection in connections.all(initialized_only=True):
        watch(connection)
