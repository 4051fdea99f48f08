"""What ``SignedInHitMiddleware`` knows of sessions: when one ends or changes, and how to tell.

Each session the middleware answered from the cache has a token, a per-session generation at
``<prefix>:gen:session:<digest of the session key>``, read (or created) before the stack loads the
session. A copy of a page records it; the copy is served only while the token is unchanged.
The token goes whenever the session may have changed or ended:

* a request through the stack rotated or removed the session cookie, or changed the session
  (``flush()``, ``cycle_key()``, login, logout, a new cart): the middleware sees it afterwards;
* ``user_logged_in`` and ``user_logged_out``, wherever they are sent from;
* with the database engines (``db``, ``cached_db``), any SQL write to the session table: an
  UPDATE or DELETE of named sessions removes their tokens, on commit; any other write to it but
  an INSERT (``clearsessions``, a bulk delete) makes every signed-in page stale.

Each engine ends a session its own way, and a copy also records what lets a hit tell:

* ``db`` and ``cached_db``: the row's ``expire_date``, read when the copy is stored.
* ``cache`` (with the session in jimmypage's own cache): the session's own cache entry, fetched
  in the same round trip as the copy; it must be there and hold what it held (by digest).
* ``signed_cookies``: the cookie's own signing time plus ``SESSION_COOKIE_AGE``, as Django checks.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from functools import cache
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core import signing
from django.core.signals import setting_changed
from django.dispatch import Signal
from django.utils.module_loading import import_string

from . import backend, conf
from .sql import identifier

# Stands, among the tables a write changed, for "the session with this key digest changed".
SESSION_MARK = "<jimmypage session>"
DB, CACHE, SIGNED = "db", "cache", "signed"
_MIDDLEWARE_PATH = "jimmypage.signed_in.SignedInHitMiddleware"


def token_key(session_key: str) -> str:
    """The key of a session's token (a generation: under the generation prefix)."""
    return f"{conf.key_prefix()}:gen:session:{digest(session_key)}"


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def middleware_installed() -> bool:
    """True when ``SignedInHitMiddleware`` (or a subclass) is in ``MIDDLEWARE`` (decided once
    per settings)."""
    memo = conf.memo("sessions")
    try:
        return memo["installed"]
    except KeyError:
        installed = any(_is_the_middleware(path) for path in settings.MIDDLEWARE)
        memo["installed"] = installed
        return installed


def _is_the_middleware(path: str) -> bool:
    """True for ``SignedInHitMiddleware`` or a subclass of it (a site's own, say)."""
    if path == _MIDDLEWARE_PATH:
        return True
    from .signed_in import SignedInHitMiddleware

    try:
        found = import_string(path)
    except Exception:  # asked from the write hook: a broken import must not fail a save
        return False
    return isinstance(found, type) and issubclass(found, SignedInHitMiddleware)


def kind() -> str | None:
    """How the session engine keeps sessions: ``DB``, ``CACHE``, ``SIGNED``; ``None``: unknown.

    The ``cache`` engine counts only when its sessions live in jimmypage's cache (then a hit
    fetches the session with the page). Any other engine is not supported: every request goes
    through the stack.
    """
    memo = conf.memo("sessions")
    try:
        return memo["kind"]
    except KeyError:
        try:
            found = _kind_of(import_module(settings.SESSION_ENGINE).SessionStore)
        except Exception:  # no such engine, or its app is not installed: nothing to answer
            found = None
        memo["kind"] = found
        return found


def _kind_of(store: type) -> str | None:
    from django.contrib.sessions.backends import cache as cache_engine
    from django.contrib.sessions.backends import db, signed_cookies

    if issubclass(store, db.SessionStore):  # cached_db included: it writes every change there
        return DB
    if issubclass(store, cache_engine.SessionStore):
        same = getattr(settings, "SESSION_CACHE_ALIAS", "default") == conf.cache_alias()
        return CACHE if same else None
    if issubclass(store, signed_cookies.SessionStore):
        return SIGNED
    return None


def engine_key(session_key: str) -> str:
    """The key under which the ``cache`` engine keeps this session."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store.cache_key_prefix + session_key


def data_digest(data) -> str:
    """A digest of a session's data, to tell that the cache still holds what the page saw."""
    return digest(repr(sorted(data.items(), key=lambda item: item[0])))


def ensure_token(session_key: str, current: str | None) -> str | None:
    """The session's token, created if missing (atomically); ``None`` if the cache failed."""
    if current is not None:
        return current
    key = token_key(session_key)
    token = secrets.token_hex(8)
    if backend.add(key, token, settings.SESSION_COOKIE_AGE):
        return token
    return backend.get(key)


def forget(session_key: str | None) -> None:
    """Replace the session's token: no copy stored for it before is served again."""
    if session_key and not _replace(token_key(session_key)):
        from . import generations

        generations._bump_pending = True  # replayed as a global bump: the safe side


# Sent with a token's key when this process replaced it: its local tier drops the token at once
# rather than when Redis's invalidation arrives (the session's next request must not hit).
token_replaced = Signal()


def _replace(key: str) -> bool:
    """Give a token a new value (never delete it: a delete cannot tell that it failed)."""
    if not backend.put(key, secrets.token_hex(8), settings.SESSION_COOKIE_AGE):
        return False
    token_replaced.send(None, key=key)
    return True


def expiry(session) -> float | None:
    """When Django stops accepting ``session`` (a Unix time), or ``None`` if it cannot be told.

    Never later than Django's own limit; the copy of a page is not served after it.
    """
    found = kind()
    if found == DB:
        model = session.get_model_class()
        expire_date = (
            model._default_manager.filter(session_key=session.session_key)
            .values_list("expire_date", flat=True)
            .first()
        )
        return expire_date.timestamp() if expire_date is not None else None
    if found == CACHE:
        return time.time() + session.get_expiry_age()  # its cache entry goes at expiry
    if found == SIGNED:
        try:
            signed_at = signing.b62_decode(session.session_key.rsplit(":", 2)[1])
        except (IndexError, ValueError):
            return None
        return signed_at + session.get_session_cookie_age()
    return None


# The SQL write hook: writes to the session table of the database engines.

_ONE_KEY = "one"  # UPDATE ... WHERE key = %s: the session is the last parameter
_KEYS = "keys"  # DELETE ... WHERE key IN (%s, ...): every parameter is a session key
_ANY = "any"  # any other write to the table: which sessions, nobody can tell


@cache
def _session_table() -> tuple[str, str] | None:
    """The database engines' session table and key column, or ``None`` for other engines."""
    if kind() != DB:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore
    meta = store.get_model_class()._meta
    return meta.db_table, meta.pk.column


def _forget_what_settings_tell(setting: str, **kwargs) -> None:
    if setting in ("SESSION_ENGINE", "INSTALLED_APPS", "MIDDLEWARE", "SESSION_CACHE_ALIAS"):
        _session_table.cache_clear()
        _shapes.cache_clear()


setting_changed.connect(_forget_what_settings_tell, dispatch_uid="jimmypage.sessions")


@cache
def _shapes():
    """Patterns for the statements Django sends for one session, and for the table at all."""
    table, column = _session_table()
    qualified = rf"(?:{identifier(table)}\s*\.\s*)?{identifier(column)}"
    one = re.compile(
        rf"\s*UPDATE\s+{identifier(table)}\s+SET\s[^;]*?\sWHERE\s+{qualified}\s*=\s*%s\s*", re.I
    )
    keys = re.compile(
        rf"\s*DELETE\s+FROM\s+{identifier(table)}\s+WHERE\s+{qualified}\s+IN\s*"
        rf"\(\s*%s(?:\s*,\s*%s)*\s*\)\s*",
        re.I,
    )
    insert = re.compile(rf"\s*INSERT\s+INTO\s+{identifier(table)}\s", re.I)
    mention = re.compile(identifier(table), re.I)
    return one, keys, insert, mention


def _shape(sql: str) -> str | None:
    """How a write names the sessions it changes; ``None`` when it changes none."""
    memo = conf.memo("sessions.shapes")
    try:
        return memo[sql]
    except KeyError:
        pass
    one, keys, insert, mention = _shapes()
    if not mention.search(sql) or insert.match(sql):
        found = None
    elif one.fullmatch(sql):
        found = _ONE_KEY
    elif keys.fullmatch(sql):
        found = _KEYS
    else:
        found = _ANY
    if len(memo) >= 1024:
        memo.clear()
    memo[sql] = found
    return found


def marks(sql: str, params, many: bool) -> frozenset[str]:
    """What a successful write ``sql`` changed in sessions, as marks for ``writes.record_write``.

    One mark per session it names; ``users.MARK`` (every signed-in page stale) when it writes
    the table in a way that names no session.
    """
    if not middleware_installed() or _session_table() is None:
        return frozenset()
    shape = _shape(sql)
    if shape is None:
        return frozenset()
    if shape == _ANY or many or not isinstance(params, (list, tuple)) or not params:
        from .users import MARK

        return frozenset({MARK})
    session_keys = [params[-1]] if shape == _ONE_KEY else list(params)
    return frozenset(SESSION_MARK + digest(str(key)) for key in session_keys)


def apply(tables: frozenset[str]) -> tuple[frozenset[str], bool]:
    """Remove the tokens of the sessions marked in ``tables``; the other tables, and success."""
    marked = [table for table in tables if table.startswith(SESSION_MARK)]
    if not marked:
        return tables, True
    done = True
    for mark in marked:
        done = _replace(f"{conf.key_prefix()}:gen:session:{mark[len(SESSION_MARK) :]}") and done
    return tables.difference(marked), done


def _forget_on_login_or_logout(sender, request=None, **kwargs) -> None:
    """A login (which rotates the session) or a logout ends what the session was."""
    if request is None or not middleware_installed():
        return
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    forget(cookie)
    session = getattr(request, "session", None)
    ending = getattr(session, "session_key", None)
    if kwargs["signal"] is user_logged_out and ending and ending != cookie:
        forget(ending)


user_logged_in.connect(_forget_on_login_or_logout, dispatch_uid="jimmypage.sessions.login")
user_logged_out.connect(_forget_on_login_or_logout, dispatch_uid="jimmypage.sessions.logout")
