"""A transaction's writes make pages stale where it ends, however it ends.

Inside a transaction, the tables a write makes stale wait on the connection until the
transaction ends: a page rendered from the old rows meanwhile must not be stamped with a new
generation. They wait in ``connection.run_on_commit``, as robust on-commit hooks, so that:

* a savepoint rollback drops them with the savepoint (Django filters that list);
* ``TestCase.captureOnCommitCallbacks(execute=True)`` runs them, as it runs the site's hooks;
* manual transactions (``set_autocommit(False)``), where ``on_commit()`` refuses to register
  anything, keep them all the same.

The connection's ``_commit``, ``rollback``, ``set_autocommit`` and ``close`` are wrapped (instance
attributes, once per connection) to take them out of that list and apply them right after the
transaction ended: after COMMIT (even a failed one: whether it committed is then unknown), after
autocommit came back on (SQLite and MySQL commit then), after the connection really closed (some
drivers commit on close); a rollback drops them. A spurious change costs one refresh; a missed
one would leave a page stale for good, so every doubt is settled by making the change.

They are applied before Django runs the site's own hooks, so a site hook that raises (a mail
server down) cannot keep pages fresh, and a hook that warms the cache finds the pages stale.

Right after COMMIT, Django's connection is still in manual mode (``atomic()`` turns autocommit
back on after committing). A page cache kept in that same database (``DatabaseCache``) then
writes in a transaction the driver opens for it: it is ended at once (committed, or rolled back
if the cache failed), so that the connection is left as the COMMIT left it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable

from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper

from . import conf, generations

# On a connection: (the run_on_commit list, the tables that already have a hook in it), while
# some of jimmypage's hooks may wait in that list. Its absence keeps commits to one lookup.
_WAITING = "_jimmypage_waiting"
_WRAPPED = "_jimmypage_wrapped"

Entry = tuple  # Django's (savepoint ids, callable, robust)


def change_hook(tables: frozenset[str]) -> Callable[[], None]:
    """An on-commit hook that makes stale the pages depending on ``tables``."""

    def change_generations() -> None:
        generations.bump_tables(tables)

    change_generations.jimmypage_tables = tables
    return change_generations


def defer(tables: frozenset[str], connection: BaseDatabaseWrapper) -> None:
    """Make ``tables``' pages stale when the current transaction commits, once per table.

    Django replaces ``run_on_commit`` when a savepoint rolls back (dropping the hooks registered
    in it): a table whose hook went with the old list gets a new one at its next write.
    """
    hooks = connection.run_on_commit
    waiting = connection.__dict__.get(_WAITING)
    if waiting is None or waiting[0] is not hooks:
        waiting = (hooks, set())
        connection.__dict__[_WAITING] = waiting
    elif tables <= waiting[1]:
        return  # the usual case inside a transaction: this table already has its hook
    new = tables - waiting[1]
    waiting[1].update(new)
    # What connection.on_commit(hook, robust=True) appends in atomic(); it refuses manual mode.
    hooks.append((set(connection.savepoint_ids), change_hook(frozenset(new)), True))


def _is_ours(entry: Entry) -> bool:
    return hasattr(entry[1], "jimmypage_tables")


def take(connection: BaseDatabaseWrapper) -> list[Entry]:
    """Take jimmypage's waiting hooks out of ``connection.run_on_commit``; the site's stay."""
    if connection.__dict__.pop(_WAITING, None) is None:
        return []
    hooks = connection.run_on_commit
    ours = [entry for entry in hooks if _is_ours(entry)]
    if ours:
        connection.run_on_commit = [entry for entry in hooks if not _is_ours(entry)]
    return ours


def put_back(connection: BaseDatabaseWrapper, entries: list[Entry]) -> None:
    """Return hooks taken for a transaction end that did not happen."""
    if entries:
        connection.run_on_commit.extend(entries)
        connection.__dict__[_WAITING] = (None, set())


def apply(entries: Iterable[Entry]) -> None:
    """Make the change the hooks stand for, once; an error is logged, never raised (the
    transaction has ended: the caller's work is done)."""
    tables = frozenset().union(*(entry[1].jimmypage_tables for entry in entries))
    if not tables:
        return
    try:
        generations.bump_tables(tables)
    except Exception:
        logging.getLogger("jimmypage").exception("jimmypage: making pages stale failed")


def ended_early(connection: BaseDatabaseWrapper, certain: bool) -> None:
    """A statement ended the transaction behind Django's back (a raw ``COMMIT``, MySQL's
    implicit commits): apply what waits now. Unless that is ``certain``, it waits on too, for
    the end Django will see (a change made early and not again could be stuck)."""
    if _WAITING not in connection.__dict__:
        return
    if certain:
        apply_ended(connection, take(connection))
    else:
        apply([entry for entry in connection.run_on_commit if _is_ours(entry)])


def watch(connection: BaseDatabaseWrapper) -> None:
    """Wrap the ways ``connection``'s transactions end, once (it survives reconnections)."""
    if connection.__dict__.get(_WRAPPED):
        return
    connection.__dict__[_WRAPPED] = True
    connection._commit = _after_commit(connection, connection._commit)
    connection.rollback = _after_rollback(connection, connection.rollback)
    connection.set_autocommit = _after_autocommit(connection, connection.set_autocommit)
    connection.close = _after_close(connection, connection.close)


def _after_commit(connection, commit):
    def _commit():
        if _WAITING not in connection.__dict__:
            return commit()
        try:
            return commit()
        finally:
            apply_ended(connection, take(connection))

    return _commit


def apply_ended(connection: BaseDatabaseWrapper, entries: list[Entry]) -> None:
    """Apply what waited for ``connection``'s transaction, which has just ended while Django's
    connection stays in manual mode: a page cache kept in this database writes in a transaction
    of its own, which is ended too, or a later rollback would undo the change."""
    apply(entries)
    if entries and _cache_lives_in(connection):
        _end_the_caches_transaction(connection)


def _cache_lives_in(connection: BaseDatabaseWrapper) -> bool:
    """Whether the page cache is a ``DatabaseCache`` that writes through ``connection``."""
    cache = caches[conf.cache_alias()]
    if not isinstance(cache, BaseDatabaseCache):
        return False
    return router.db_for_write(cache.cache_model_class) == connection.alias


def _end_the_caches_transaction(connection: BaseDatabaseWrapper) -> None:
    """Commit what the cache wrote right after our COMMIT (roll it back if it failed), through
    the driver: Django's connection is still in manual mode, and would leave it open."""
    raw = connection.connection
    if raw is None or connection.get_autocommit():
        return
    try:
        raw.commit()
    except Exception:
        with contextlib.suppress(Exception):
            raw.rollback()


def _after_rollback(connection, rollback):
    def rollback_and_drop():
        result = rollback()  # Django empties run_on_commit once the rollback succeeded
        connection.__dict__.pop(_WAITING, None)
        return result

    return rollback_and_drop


def _after_autocommit(connection, set_autocommit):
    def set_autocommit_and_apply(autocommit, *args, **kwargs):
        if not autocommit or _WAITING not in connection.__dict__:
            return set_autocommit(autocommit, *args, **kwargs)
        entries = take(connection)  # before Django runs (and may stop at) the site's hooks
        try:
            return set_autocommit(autocommit, *args, **kwargs)
        finally:
            if connection.autocommit:  # switched: the driver committed (or had nothing open)
                apply(entries)
            else:
                put_back(connection, entries)

    return set_autocommit_and_apply


def _after_close(connection, close):
    def close_and_apply():
        if _WAITING not in connection.__dict__:
            return close()
        entries = take(connection)  # close() empties run_on_commit
        try:
            return close()
        finally:
            if connection.connection is None or connection.closed_in_transaction:
                apply(entries)
            else:  # not closed (SQLite in memory keeps its connection): still waiting
                put_back(connection, entries)

    return close_and_apply
