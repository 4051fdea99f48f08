"""What an SQL statement writes, and which tables it names; plain text in, table names out.

The parsing is deliberately coarse and errs on the safe side: a statement that may write but
whose tables cannot be told answers ``EVERYTHING``.
"""

from __future__ import annotations

import re

EVERYTHING = "*"  # stands for "every table": the written tables could not be told

_IDENT = r'(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})*"
_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z]+")

_TARGETS = {
    "INSERT": re.compile(
        rf"INSERT\s+(?:OR\s+\w+\s+)?(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*"
        rf"(?:INTO\s+)?({_NAME})",
        re.I,
    ),
    "REPLACE": re.compile(
        rf"REPLACE\s+(?:(?:LOW_PRIORITY|DELAYED)\s+)?(?:INTO\s+)?({_NAME})", re.I
    ),
    "UPDATE": re.compile(
        rf"UPDATE\s+(?:OR\s+\w+\s+)?(?:(?:ONLY|LOW_PRIORITY|IGNORE)\s+)*({_NAME})", re.I
    ),
    "DELETE": re.compile(
        rf"DELETE\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)*(?:FROM\s+)?(?:ONLY\s+)?({_NAME})", re.I
    ),
    "MERGE": re.compile(rf"MERGE\s+INTO\s+({_NAME})", re.I),
    "COPY": re.compile(rf"COPY\s+({_NAME})\s*(?:\([^)]*\)\s*)?FROM\b", re.I),
}
_TRUNCATE = re.compile(
    rf"TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?({_NAME}(?:\s*,\s*(?:ONLY\s+)?{_NAME})*)(.*)",
    re.I | re.S,
)
_DDL_TABLE = re.compile(
    rf"(?:ALTER|DROP|CREATE|RENAME)\s+(?:(?:TEMPORARY|TEMP|UNLOGGED|GLOBAL|LOCAL)\s+)*TABLE\s+"
    rf"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?({_NAME})(.*)",
    re.I | re.S,
)
# MySQL writes several tables in one statement: ``UPDATE a JOIN b ... SET``, ``UPDATE a, b SET``,
# ``DELETE a, b FROM ...`` and ``DELETE FROM a, b USING ...``. A single-table UPDATE has only an
# alias between its table and SET; the tables a DELETE lists before FROM are the ones it deletes.
_UPDATE_THEN_SET = re.compile(rf"\s*(?:(?:AS\s+)?(?!SET\b){_IDENT}\s+)?SET\b", re.I)
_DELETE_LISTED = re.compile(
    rf"DELETE\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)*(?!FROM\b)({_NAME}(?:\s*,\s*{_NAME})*)"
    rf"\s+FROM\b",
    re.I,
)
# COPY ... TO writes a file or the client, from a table or a query (which may itself write:
# ``COPY (DELETE ... RETURNING *) TO STDOUT``).
_COPY_OUT = re.compile(rf"COPY\s+(?:{_NAME}\s*(?:\([^)]*\)\s*)?|(\(.*\))\s*)TO\b", re.I | re.S)
_IDENT_ONLY = re.compile(_IDENT)
_WRITE_KEYWORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|REPLACE|TRUNCATE)\b", re.I)
_ANALYZE = re.compile(r"\bANALY[SZ]E\b", re.I)
_NAMES_IN_SELECT = re.compile(r'"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*)')

# Statements that never change table data.
_READ_ONLY = frozenset(
    {
        "SELECT",
        "SHOW",
        "SET",
        "RESET",
        "PRAGMA",
        "SAVEPOINT",
        "RELEASE",
        "ROLLBACK",
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "DESCRIBE",
        "DESC",
        "VALUES",
        "FETCH",
        "DECLARE",
        "CLOSE",
        "LISTEN",
        "UNLISTEN",
        "NOTIFY",
        "PREPARE",
        "DEALLOCATE",
        "LOCK",
        "USE",
        "VACUUM",
        "ANALYZE",
        "CHECKPOINT",
        "DISCARD",
        "GRANT",
        "REVOKE",
        "DETACH",
        "ATTACH",
        "REINDEX",
    }
)
_DDL = frozenset({"ALTER", "DROP", "CREATE", "RENAME", "COMMENT"})


def identifier(name: str) -> str:
    """A pattern for the SQL identifier ``name`` as any database quotes it, or unquoted."""
    plain = re.escape(name)
    return rf'(?:"{plain}"|`{plain}`|\[{plain}\]|{plain}\b)'


def unquote(name: str) -> str:
    """The table name of a possibly quoted, possibly schema-qualified identifier."""
    last = _IDENT_ONLY.findall(name)[-1]
    if last[0] == '"':
        return last[1:-1].replace('""', '"')
    if last[0] in "`[":
        return last[1:-1]
    return last


def first_keyword(sql: str) -> str:
    """The statement's first word, upper-cased, after leading blanks and comments."""
    start = _LEADING_COMMENTS.match(sql).end()
    word = _FIRST_WORD.match(sql, start)
    return word.group().upper() if word else ""


# What a semicolon may hide in: string literals, quoted names and comments.
_QUOTED_OR_SEMICOLON = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/|;", re.S
)


def statements(sql: str) -> list[str]:
    """The statements of ``sql`` (raw SQL may send several at once), without empty ones.

    Django's own SQL never holds a semicolon (values travel as parameters), so the common case
    costs one ``in`` test.
    """
    if ";" not in sql:
        return [sql]
    parts, start = [], 0
    for token in _QUOTED_OR_SEMICOLON.finditer(sql):
        if token.group() == ";":
            parts.append(sql[start : token.start()])
            start = token.end()
    parts.append(sql[start:])
    return [part for part in parts if first_keyword(part)] or [sql]


# Statements that end the open transaction: by committing it everywhere, or implicitly where
# DDL is not transactional (MySQL commits before DDL, BEGIN, LOCK TABLES, SET autocommit = 1...).
COMMITS = "commits"
MAY_COMMIT = "may commit"
_COMMIT_KEYWORDS = frozenset({"COMMIT", "END"})
_IMPLICIT_COMMIT_KEYWORDS = frozenset(
    {
        *_DDL,
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "BEGIN",
        "START",
        "LOCK",
        "UNLOCK",
        "ANALYZE",
        "OPTIMIZE",
        "REPAIR",
        "CHECK",
        "FLUSH",
        "RESET",
        "CACHE",
        "LOAD",
    }
)
_SET_AUTOCOMMIT_ON = re.compile(
    r"SET\s+(?:@@(?:SESSION\.)?|SESSION\s+)?autocommit\s*=\s*(?:1|ON|TRUE)\b", re.I
)


def transaction_end(sql: str) -> str | None:
    """``COMMITS`` when ``sql`` commits the open transaction, ``MAY_COMMIT`` when it does on
    databases without transactional DDL, else ``None``."""
    ending = None
    for statement in statements(sql):
        keyword = first_keyword(statement)
        if keyword in _COMMIT_KEYWORDS:
            return COMMITS
        body = statement[_LEADING_COMMENTS.match(statement).end() :]
        if keyword in _IMPLICIT_COMMIT_KEYWORDS or _SET_AUTOCOMMIT_ON.match(body):
            ending = MAY_COMMIT
    return ending


_DELETES_ROWS = frozenset({"DELETE", "REPLACE", "MERGE", "TRUNCATE"})
_INSERT_OR_REPLACE = re.compile(r"INSERT\s+OR\s+REPLACE\b", re.I)


def may_delete_rows(sql: str) -> bool:
    """True when ``sql`` may delete rows (so that foreign keys may act in the database)."""
    return any(_may_delete_rows(statement) for statement in statements(sql))


def _may_delete_rows(sql: str) -> bool:
    keyword = first_keyword(sql)
    if keyword == "INSERT":  # SQLite's INSERT OR REPLACE deletes the rows it conflicts with
        return bool(_INSERT_OR_REPLACE.match(sql, _LEADING_COMMENTS.match(sql).end()))
    return keyword in _DELETES_ROWS


def written_tables(sql: str) -> frozenset[str] | None:
    """The tables ``sql`` writes: ``None`` if it only reads, ``{EVERYTHING}`` if unknown.

    Several statements at once write what each of them writes.
    """
    several = statements(sql)
    if len(several) == 1:
        return _written_tables(sql)
    written = [tables for tables in map(_written_tables, several) if tables is not None]
    if not written:
        return None
    union = frozenset().union(*written)
    return frozenset({EVERYTHING}) if EVERYTHING in union else union


def _written_tables(sql: str) -> frozenset[str] | None:
    if sql.startswith("SELECT"):  # Django's reads: the common case, decided at once
        return None
    keyword = first_keyword(sql)
    if keyword in _READ_ONLY or not keyword:
        return None
    body = sql[_LEADING_COMMENTS.match(sql).end() :]
    if keyword == "DELETE":
        return _deleted(body)
    if keyword == "COPY":
        out = _COPY_OUT.match(body)
        if out:
            return frozenset({EVERYTHING}) if _WRITE_KEYWORD.search(out.group(1) or "") else None
    pattern = _TARGETS.get(keyword)
    if pattern is not None:
        match = pattern.match(body)
        if not match or (keyword == "UPDATE" and not _UPDATE_THEN_SET.match(body, match.end())):
            return frozenset({EVERYTHING})
        return frozenset({unquote(match.group(1))})
    if keyword == "TRUNCATE":
        return _truncated(body)
    if keyword in _DDL:
        match = _DDL_TABLE.match(body)
        if match and not re.search(r"\bCASCADE\b", match.group(2), re.I):
            return frozenset({unquote(match.group(1))})
        return frozenset({EVERYTHING})
    if keyword in ("WITH", "EXPLAIN"):
        if _WRITE_KEYWORD.search(body) and (keyword == "WITH" or _ANALYZE.search(body)):
            return frozenset({EVERYTHING})
        return None
    # CALL, DO, EXEC, LOAD and anything unknown may write anywhere.
    return frozenset({EVERYTHING})


def _deleted(body: str) -> frozenset[str]:
    listed = _DELETE_LISTED.match(body)
    if listed:
        return frozenset(unquote(name) for name in re.split(r"\s*,\s*", listed.group(1)))
    match = _TARGETS["DELETE"].match(body)
    if not match or body[match.end() :].lstrip().startswith(","):
        return frozenset({EVERYTHING})
    return frozenset({unquote(match.group(1))})


def _truncated(body: str) -> frozenset[str]:
    match = _TRUNCATE.match(body)
    if not match or re.search(r"\bCASCADE\b", match.group(2), re.I):
        return frozenset({EVERYTHING})
    names = re.split(r"\s*,\s*", match.group(1))
    return frozenset(unquote(re.sub(r"(?i)^ONLY\s+", "", name)) for name in names)


def named_tables(sql: str, known: frozenset[str], fold_case: bool = False) -> set[str]:
    """The ``known`` table names that ``sql`` mentions anywhere: what a read may depend on.

    Mentioning a table without reading it only adds a dependency, the safe side. With
    ``fold_case`` (SQLite's and MySQL's view definitions), names match whatever their case.
    """
    lookup = {name.lower(): name for name in known} if fold_case else None
    found = set()
    for quoted, backticked, bracketed, bare in _NAMES_IN_SELECT.findall(sql):
        name = quoted.replace('""', '"') if quoted else backticked or bracketed or bare
        if lookup is not None:
            name = lookup.get(name.lower(), "")
        if name in known:
            found.add(name)
    return found
