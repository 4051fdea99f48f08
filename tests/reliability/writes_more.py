"""Writes that reach the database other than by a save in autocommit or in ``atomic()``
(issue 15): manual transactions ended each way, an ``atomic()`` block whose site hook fails,
stored procedures and ``COPY``, where the database has them.

``kinds()`` depends only on the database vendor, so that a run draws the same kinds for the
same draws; each write draws its details from ``data`` only.
"""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from hypothesis import strategies as st

TITLES = ["alpha", "beta", "gamma", "delta"]
MANUAL = ["manual commit", "manual rollback", "manual autocommit", "raw commit", "failing hook"]
HARMLESS = {"manual rollback"}
_PROCEDURES = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION jp_retitle(new_title text) RETURNS void LANGUAGE sql AS "
        "$$ UPDATE testapp_article SET title = new_title "
        "WHERE id = (SELECT max(id) FROM testapp_article) $$"
    ],
    "mysql": [
        "DROP PROCEDURE IF EXISTS jp_retitle",
        "CREATE PROCEDURE jp_retitle(IN new_title VARCHAR(200)) "
        "UPDATE testapp_article SET title = new_title ORDER BY id DESC LIMIT 1",
    ],
}


# Called while a transaction is open, after its write (the freshness property runs the queued
# refreshes there: they render from the old rows, on their own connections). SQLite would make
# them wait for the writer's lock: not there.
between = None


def _in_between() -> None:
    if between is not None and connection.vendor != "sqlite":
        between()


def kinds() -> list[str]:
    """The kinds of write this database offers."""
    found = list(MANUAL)
    if connection.vendor in _PROCEDURES:
        found.append("procedure")
    if connection.vendor == "postgresql":
        found.append("copy")
    return found


def prepare() -> None:
    """Make the stored procedure, once per test, before any example (it is DDL: a write)."""
    with connection.cursor() as cursor:
        for statement in _PROCEDURES.get(connection.vendor, ()):
            cursor.execute(statement)


class HookFailed(Exception):
    pass


def _fail() -> None:
    raise HookFailed("the site's own on-commit hook failed")


def _retitle(title: str) -> None:
    from tests.testapp.models import Article

    last = Article.objects.order_by("-pk").values_list("pk", flat=True).first()
    Article.objects.filter(pk=last).update(title=title)


def write(kind: str, data) -> None:
    """One write of ``kind`` (one of ``kinds()``); it leaves the connection in autocommit."""
    title = data.draw(st.sampled_from(TITLES), label="title")
    if kind == "failing hook":
        try:
            with transaction.atomic():
                transaction.on_commit(_fail)
                _retitle(title)
                _in_between()
        except HookFailed:
            pass
    elif kind == "procedure":
        with connection.cursor() as cursor:
            cursor.callproc("jp_retitle", [title])
    elif kind == "copy":
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY testapp_article (title) FROM STDIN") as copy,
        ):
            copy.write_row([title])
    else:
        _manual(kind, title)


def _manual(kind: str, title: str) -> None:
    transaction.set_autocommit(False)
    try:
        _retitle(title)
        _in_between()
        if kind == "manual commit":
            transaction.commit()
        elif kind == "manual rollback":
            transaction.rollback()
        elif kind == "raw commit":
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
        elif kind == "manual autocommit":
            try:
                transaction.set_autocommit(True)  # SQLite and MySQL commit here
            except DatabaseError:  # psycopg refuses in a transaction
                transaction.commit()
    finally:
        if not connection.get_autocommit():
            transaction.rollback()
            transaction.set_autocommit(True)
