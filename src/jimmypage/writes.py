"""Writes to the database make pages stale, once per transaction, on commit.

``record_write(table, using)`` is the single entry point: today the model signals call it; an
SQL-level hook can call it the same way. Inside ``atomic()`` the change is applied once, when the
outermost transaction commits; a rolled-back transaction or savepoint changes nothing.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from . import conf, generations

# Tables whose writes never make pages stale, whatever the whitelist says: the cache's own.
ALWAYS_IGNORED = frozenset({"django_migrations", "django_cache_table"})

_M2M_WRITE_ACTIONS = frozenset({"post_add", "post_remove", "post_clear"})


def ignores(table: str) -> bool:
    """True when writes to ``table`` must not make pages stale."""
    return table in ALWAYS_IGNORED or table in conf.whitelist()


def record_write(table: str, using: str) -> None:
    """Make pages stale after a write to ``table`` on database ``using`` commits.

    Django keeps the on-commit hooks of a transaction in ``connection.run_on_commit`` and
    replaces that list when the transaction ends or a savepoint rolls back. Remembering which
    list we already added our hook to gives one generation change per transaction, while a
    savepoint rollback (which drops our hook with the new list) makes the next write add it again.
    """
    if ignores(table):
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        generations.bump()
        return
    hooks = connection.run_on_commit
    if getattr(connection, "_jimmypage_hooks", None) is hooks:
        return
    transaction.on_commit(generations.bump, using=using)
    connection._jimmypage_hooks = connection.run_on_commit


def _on_save_or_delete(sender, using, **kwargs) -> None:
    record_write(sender._meta.db_table, using)


def _on_m2m_changed(sender, action, using, **kwargs) -> None:
    if action in _M2M_WRITE_ACTIONS:
        record_write(sender._meta.db_table, using)


def connect_signals() -> None:
    """Listen to every model's writes; safe to call more than once."""
    post_save.connect(_on_save_or_delete, dispatch_uid="jimmypage.post_save")
    post_delete.connect(_on_save_or_delete, dispatch_uid="jimmypage.post_delete")
    m2m_changed.connect(_on_m2m_changed, dispatch_uid="jimmypage.m2m_changed")
