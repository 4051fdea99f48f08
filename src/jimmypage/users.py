"""The pages of signed-in users go stale when users change, whatever the whitelist says.

``auth_user`` is whitelisted by default so that a login, which writes ``last_login``, does not
make every page of the site stale. But a user's own pages show what that user may do: a write
that revokes a right (``is_staff``, ``is_active``, a group, a permission, a password, the user
itself) must not leave them fresh. So the pages of signed-in users carry one more generation,
the "users" generation, which every write to the user model's table (but an UPDATE of
``last_login`` alone) and to the tables that carry groups and permissions replaces, in every mode
and whatever the whitelist says. Anonymous pages do not carry it, so such writes leave them fresh.

The users generation is fetched in the same ``get_many`` as the page: a signed-in hit stays one
round trip. A signed-in page's stamp is ``(USERS, users token, stamp)``; see ``generations``
for the inner stamp.
"""

from __future__ import annotations

import re
from functools import cache

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import Signal
from django.http import HttpRequest

from . import backend, conf, keys, log, sessions
from .sql import EVERYTHING, identifier

USERS = "u1"
# Stands, among the tables a write changed, for "a user, a group or a permission changed".
MARK = "<jimmypage users>"


def generation_key() -> str:
    """The key of the users generation (under the generation prefix, like every generation)."""
    return f"{conf.key_prefix()}:gen:users"


@cache
def user_tables() -> frozenset[str]:
    """The user model's table and those that say what users may do: groups, permissions.

    Found from the user model: its many-to-many fields (``groups``, ``user_permissions``) give
    their tables and their targets' tables, and the targets' own many-to-many fields (a group's
    ``permissions``) give theirs, so a custom user model is covered too.
    """
    if not apps.is_installed("django.contrib.auth"):
        return frozenset()
    from django.contrib.auth import get_user_model

    tables: set[str] = set()
    models = [get_user_model()]
    for depth in range(3):
        following = []
        for model in models:
            tables.add(model._meta.db_table)
            if depth == 2:
                continue
            for field in model._meta.many_to_many:
                tables.add(field.remote_field.through._meta.db_table)
                following.append(field.remote_field.model)
        models = following
    return frozenset(tables)


def _forget_what_settings_tell(setting: str, **kwargs) -> None:
    if setting in ("AUTH_USER_MODEL", "INSTALLED_APPS"):
        user_tables.cache_clear()
        _last_login_update.cache_clear()


setting_changed.connect(_forget_what_settings_tell, dispatch_uid="jimmypage.users.tables")


@cache
def _last_login_update() -> re.Pattern | None:
    """The statement Django sends on a login: ``UPDATE <user table> SET <last_login> = %s ...``."""
    if not apps.is_installed("django.contrib.auth"):
        return None
    from django.contrib.auth import get_user_model
    from django.core.exceptions import FieldDoesNotExist

    meta = get_user_model()._meta
    try:
        column = meta.get_field("last_login").column
    except FieldDoesNotExist:
        return None
    table, column = identifier(meta.db_table), identifier(column)
    return re.compile(
        rf"\s*UPDATE\s+{table}\s+SET\s+{column}\s*=\s*(?:%s|\?|NULL)\s*(?:WHERE\s[^;]*)?;?\s*",
        re.I,
    )


def is_last_login_only(sql: str) -> bool:
    """True for an UPDATE that sets the user model's ``last_login`` and nothing else."""
    pattern = _last_login_update()
    return pattern is not None and pattern.fullmatch(sql) is not None


def marks(tables: frozenset[str], sql: str) -> frozenset[str]:
    """``{MARK}`` when ``sql``, which wrote ``tables``, changed users, groups or permissions."""
    if EVERYTHING in tables or tables.isdisjoint(user_tables()) or is_last_login_only(sql):
        return frozenset()
    return frozenset({MARK})


def apply_marks(tables: frozenset[str]) -> tuple[frozenset[str], bool]:
    """Act on the marks among ``tables``: the tables left, and whether it all reached the cache.

    ``MARK`` replaces the users generation; session marks replace those sessions' tokens.
    """
    if not any(table.startswith("<jimmypage ") for table in tables):
        return tables, True
    done = True
    if MARK in tables:
        tables = tables - {MARK}
        done = bump()
    tables, sessions_done = sessions.apply(tables)
    return tables, done and sessions_done


# Sent when this process replaced the users generation: its local tier drops its copy at once
# rather than when Redis's invalidation arrives (a reader right after the write must not hit).
changed = Signal()


def bump() -> bool:
    """Make every signed-in page stale: replace the users generation. ``False`` if it failed."""
    if not backend.put(generation_key(), _new_token(), None):
        return False
    changed.send(None)
    return True


def _new_token() -> str:
    import secrets

    return secrets.token_hex(8)


def ensure(current: str | None) -> str | None:
    """The users generation, created if missing (atomically); ``None`` if the cache failed."""
    if current is not None:
        return current
    token = _new_token()
    if backend.add(generation_key(), token, None):
        return token
    return backend.get(generation_key())


def read_token() -> str | None:
    """The users generation, created if missing; ``None`` if the cache failed."""
    return ensure(backend.get(generation_key()))


def signed_in(request: HttpRequest) -> bool:
    """True when the request's user is signed in (see ``keys.is_signed_in``)."""
    return keys.is_signed_in(request)


def fetch_keys(request: HttpRequest) -> tuple[str, ...]:
    """The keys to fetch along with a page for this request: the users generation if signed in."""
    return (generation_key(),) if signed_in(request) else ()


def token_for_render(request: HttpRequest, found: dict | None, fetched: tuple[str, ...]):
    """The users generation a render for ``request`` is stamped with (``None`` if anonymous).

    Raises ``LookupError`` when the request is signed in and the token cannot be had.
    """
    if not fetched:
        return None
    # Read before the user was loaded (by SignedInHitMiddleware): then no write to the user
    # can fall between the two. A token read later is stamped otherwise, and checked at store.
    earlier = getattr(request, "_jimmypage_users_token", None)
    if earlier is not None:
        return earlier
    token = ensure(found.get(fetched[0]) if found else None)
    if token is None:
        raise LookupError("users generation unavailable")
    return token


def stamped(stamp, users_token: str | None):
    """``stamp`` with the users generation added, for a signed-in user's page."""
    return stamp if users_token is None else (USERS, users_token, stamp)


def is_users_stamp(stamp) -> bool:
    return type(stamp) is tuple and len(stamp) == 3 and stamp[0] == USERS


def inner(stamp):
    """The generations part of ``stamp``, without the users generation."""
    return stamp[2] if is_users_stamp(stamp) else stamp


def is_current(stamp, found) -> bool:
    """True unless ``stamp`` holds a users generation that is no longer the one in ``found``."""
    return not is_users_stamp(stamp) or found.get(generation_key()) == stamp[1]


def fingerprint(stamp, generation: str | None, found) -> str | None:
    """A refresh lock's generation, which changes with the users generation too."""
    if generation is None or not is_users_stamp(stamp):
        return generation
    return f"{generation}:{found.get(generation_key())}"


def store_refusal(request: HttpRequest, users_token: str | None) -> str | None:
    """Why a signed-in user's page must not be stored, or ``None``.

    The user was loaded before the users generation was read (the key needs the user), so a
    write that committed in between would be missed: the user's row is read again, and the page
    is stored only if it is still what the render saw.
    """
    if not signed_in(request):
        return None
    if users_token is None:
        return "cache unavailable"
    if not _unchanged(request.user):
        return "the user changed while the page rendered"
    return None


def _unchanged(user) -> bool:
    """True when the database still holds ``user`` as loaded (``last_login`` aside)."""
    if not hasattr(user, "_meta"):
        return True  # not a model instance: no row of ours to go stale
    fields = [
        field.attname
        for field in user._meta.concrete_fields
        if field.name != "last_login" and not field.primary_key
    ]
    manager = user._meta.default_manager.db_manager(user._state.db)
    try:
        row = manager.filter(pk=user.pk).values_list(*fields).first()
    except Exception as exc:  # a database error: the view already answered; store nothing
        log.rarely("user check", "jimmypage: the user could not be read again: %s", exc)
        return False
    return row == tuple(getattr(user, name) for name in fields)
