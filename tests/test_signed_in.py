"""``SignedInHitMiddleware``: signed-in hits before the stack, never past Django's session check.

Every test runs on each of Django's session engines that the middleware supports (``db``,
``cache``, ``cached_db``, ``signed_cookies``) and with Redis and memcached as the cache (each
test under a key prefix of its own, so nothing is flushed on a shared server), in the cells of
the matrix whose own cache is LocMemCache (SQLite and PostgreSQL). "Early" below
means answered by the middleware before the stack; ``stack_counter.reached`` tells.
"""

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string

from jimmypage import backend, sessions, signed_in
from tests import stack_counter
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
ENGINES = ["db", "cache", "cached_db", "signed_cookies"]
CACHES = ["redis", "memcached"]
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.django_db(transaction=True),
]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _cache_settings(name: str) -> dict:
    prefix = f"jpu{uuid.uuid4().hex[:12]}"  # a key space of this test's own: nothing to flush
    if name == "redis":
        url = urlsplit(settings.REDIS_URL)
        where, location = (url.hostname, url.port or 6379), settings.REDIS_URL
        cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    else:
        host, _, port = settings.MEMCACHED.rpartition(":")
        where, location = (host, int(port)), settings.MEMCACHED
        cache = {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache"}
    if not _reachable(*where):
        if os.environ.get("CI"):
            pytest.fail(f"CI requires {name} at {location}")
        pytest.skip(f"{name} is not running at {location}")
    return {**cache, "LOCATION": location, "KEY_PREFIX": prefix}


@pytest.fixture(params=[(e, c) for c in CACHES for e in ENGINES], ids=lambda p: f"{p[0]}-{p[1]}")
def site(request):
    """The middleware first, on one session engine and one cache server."""
    if settings.TEST_CACHE != "locmem":
        # These tests bring their own Redis and memcached: once per database is enough.
        pytest.skip("runs in the LocMemCache cells of the matrix, on Redis and memcached")
    engine, cache = request.param
    overrides = override_settings(
        SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}",
        CACHES={**settings.CACHES, "default": _cache_settings(cache)},
        MIDDLEWARE=[
            "jimmypage.signed_in.SignedInHitMiddleware",
            "tests.stack_counter.CountingMiddleware",
            *settings.MIDDLEWARE,
        ],
        JIMMY_PAGE_STATUS_HEADER=STATUS,
    )
    overrides.enable()
    stack_counter.reached.clear()
    signed_in._vary_names.clear()
    signed_in._anonymous_sessions.clear()
    yield engine
    overrides.disable()


@pytest.fixture
def alice(site):
    return User.objects.create_user("alice", password="pw", is_staff=True)


def signed_in_client(user, password="pw"):
    client = Client()
    assert client.login(username=user.get_username(), password=password)
    return client


def session_key_of(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def early(client, path="/account/", **extra):
    """Ask, and tell whether the answer came before the stack."""
    before = len(stack_counter.reached)
    response = client.get(path, **extra)
    return response, len(stack_counter.reached) == before


def warm(client, path="/account/"):
    """Ask until the page is answered early (the first request stores, the second copies)."""
    client.get(path)
    client.get(path)
    response, was_early = early(client, path)
    assert was_early and response[STATUS] == "hit"
    return response


def replay(cookie_header: str, path="/account/"):
    """A new client sending exactly ``cookie_header``, as a replaying attacker would."""
    return early(Client(HTTP_COOKIE=cookie_header), path)


def cookie_header(client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


# A hit: no SQL, one round trip, the stack skipped; the same page as the stack gives.


@override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0)  # the tier's hits: tests/test_tier.py
def test_a_signed_in_hit_skips_the_stack_with_no_sql_and_one_round_trip(alice, monkeypatch):
    client = signed_in_client(alice)
    through = client.get("/account/")
    assert through[STATUS] == "miss" and b"user=alice" in through.content
    client.get("/account/")
    calls = []
    for name in ("get_many", "get", "put", "put_many", "add", "delete"):
        real = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _n=name, _r=real: calls.append(_n) or _r(*a))
    with CaptureQueriesContext(connection) as queries:
        answer, was_early = early(client)
    assert was_early and answer[STATUS] == "hit"
    assert answer.content == through.content
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert calls == ["get_many"]
    assert RENDERS["account_page"] == 1


def test_request_user_is_not_loaded_on_a_hit(alice):
    client = signed_in_client(alice)
    warm(client)
    reached = len(stack_counter.reached)
    for _ in range(3):
        answer, was_early = early(client)
        assert was_early
        assert not hasattr(answer.wsgi_request, "user") and not hasattr(
            answer.wsgi_request, "session"
        )
    assert len(stack_counter.reached) == reached


# Invariant 1: nobody gets a page stored for another user or session.


def test_two_users_never_share_a_copy(alice):
    bob = User.objects.create_user("bob", password="pw")
    mine, theirs = signed_in_client(alice), signed_in_client(bob)
    warm(mine)
    answer, _ = early(theirs)
    assert b"user=bob" in answer.content and b"alice" not in answer.content
    assert b"user=bob" in warm(theirs).content
    assert b"user=alice" in warm(mine).content


@pytest.mark.parametrize("forge", ["random", "one character off", "other cookies", "no cookie"])
def test_a_forged_or_guessed_cookie_costs_a_miss_never_a_leak(alice, forge):
    client = signed_in_client(alice)
    warm(client)
    key = session_key_of(client)
    off = key[:-1] + ("a" if key[-1] != "a" else "b")
    header = {
        "random": f"{settings.SESSION_COOKIE_NAME}={uuid.uuid4().hex}",
        "one character off": f"{settings.SESSION_COOKIE_NAME}={off}",
        "other cookies": f"{settings.SESSION_COOKIE_NAME}=x; csrftoken={key}",
        "no cookie": f"other={key}",
    }[forge]
    answer, was_early = replay(header)
    assert not was_early
    assert b"alice" not in answer.content


def test_a_copy_is_keyed_by_the_whole_cookie_header(alice):
    """The response varies on ``Cookie``: another cookie (a language) is another page."""
    client = signed_in_client(alice)
    warm(client)
    client.cookies["django_language"] = "fr"
    answer, was_early = early(client)
    assert not was_early and answer.status_code == 200


def test_a_new_secret_key_makes_every_copy_unreachable(alice):
    """Django ends every session when SECRET_KEY changes: so do the copies."""
    client = signed_in_client(alice)
    warm(client)
    with override_settings(SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=[]):
        answer, was_early = early(client)
    assert not was_early
    assert b"account|anonymous" in answer.content


def test_a_rotated_cookie_is_never_answered_early(alice, site):
    client = signed_in_client(alice)
    warm(client)
    old = cookie_header(client)
    client.get("/session/cycle/")
    # (A signed cookie of the same data signed in the same second is the same cookie.)
    assert cookie_header(client) != old or site == "signed_cookies"
    answer, was_early = replay(old)
    assert not was_early
    if site != "signed_cookies":  # Django itself no longer accepts the old session
        assert b"account|anonymous" in answer.content


def test_an_expired_session_is_never_answered_early(alice, monkeypatch):
    client = signed_in_client(alice)
    warm(client)
    later = signed_in.time.time() + settings.SESSION_COOKIE_AGE + 1
    monkeypatch.setattr(signed_in.time, "time", lambda: later)
    _, was_early = early(client)
    assert not was_early


def test_the_expiry_kept_is_never_later_than_djangos(alice, site):
    from importlib import import_module

    client = signed_in_client(alice)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key_of(client))
    store.load()
    kept = sessions.expiry(store)
    if site in ("db", "cached_db"):
        row = store.get_model_class().objects.get(session_key=store.session_key)
        assert kept == row.expire_date.timestamp()
    else:
        import time

        assert kept <= time.time() + settings.SESSION_COOKIE_AGE + 1


# Invariant 2: from the very next request on, nothing of before for an ended session.


def test_after_logout_the_old_cookie_is_never_answered_early(alice, site):
    client = signed_in_client(alice)
    warm(client)
    old = cookie_header(client)
    client.get("/logout/")
    answer, was_early = replay(old)
    assert not was_early
    if site != "signed_cookies":
        assert b"account|anonymous" in answer.content


@pytest.mark.parametrize("where", ["in a request", "in another process"])
def test_after_a_flush_the_old_cookie_is_never_answered_early(alice, site, where):
    from importlib import import_module

    client = signed_in_client(alice)
    warm(client)
    old = cookie_header(client)
    if where == "in a request":
        client.get("/session/flush/")
    else:
        if site == "signed_cookies":
            pytest.skip("a signed cookie holds its session: there is nothing to flush elsewhere")
        import_module(settings.SESSION_ENGINE).SessionStore(session_key_of(client)).flush()
    answer, was_early = replay(old)
    assert not was_early
    if site != "signed_cookies":
        assert b"account|anonymous" in answer.content


def test_signed_cookies_a_server_side_flush_leaves_the_cookie_valid_for_django_too(alice, site):
    """What "as safe as Django" means with signed cookies: Django keeps accepting them."""
    if site != "signed_cookies":
        pytest.skip("signed cookies only")
    from importlib import import_module

    client = signed_in_client(alice)
    import_module(settings.SESSION_ENGINE).SessionStore(session_key_of(client)).flush()
    with override_settings(MIDDLEWARE=settings.MIDDLEWARE[2:]):  # Django alone
        assert b"user=alice" in client.get("/account/").content


def test_login_as_another_user_is_never_answered_from_the_first_users_copy(alice):
    User.objects.create_user("bob", password="pw")
    client = signed_in_client(alice)
    warm(client)
    old = cookie_header(client)
    client.get("/login-as/bob/")
    answer, was_early = early(client)
    assert not was_early and b"user=bob" in answer.content
    replayed, was_early = replay(old)
    assert not was_early


def test_after_a_password_change_no_copy_is_served(alice):
    client = signed_in_client(alice)
    warm(client)
    alice.set_password("new")
    alice.save()
    answer, was_early = early(client)
    assert not was_early
    assert b"account|anonymous" in answer.content, "Django ended the session: its hash is old"


@pytest.mark.parametrize("change", ["deactivated", "deleted", "staff revoked"])
def test_after_a_change_to_the_user_no_copy_is_served(alice, change):
    client = signed_in_client(alice)
    warm(client)
    users = User.objects.filter(pk=alice.pk)
    if change == "deactivated":
        users.update(is_active=False)
    elif change == "deleted":
        users.delete()
    else:
        users.update(is_staff=False)
    answer, was_early = early(client)
    assert not was_early
    if change != "staff revoked":
        assert b"account|anonymous" in answer.content


def test_a_session_changed_in_another_request_is_never_answered_from_before(alice):
    client = signed_in_client(alice)
    assert b"cart=None" in warm(client).content
    client.get("/cart/put/apple/")
    answer, was_early = early(client)
    assert not was_early and b"cart=apple" in answer.content


def test_a_session_changed_outside_a_request_is_never_answered_from_before(alice, site):
    if site == "signed_cookies":
        pytest.skip("a signed cookie holds its session: only its client can change it")
    from importlib import import_module

    client = signed_in_client(alice)
    warm(client)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key_of(client))
    store["cart"] = "pear"
    store.save()
    answer, was_early = early(client)
    assert not was_early and b"cart=pear" in answer.content


@pytest.mark.parametrize("how", ["bulk delete", "clearsessions", "expire by update"])
def test_sessions_ended_in_the_database_are_never_answered_early(alice, site, how):
    if site not in ("db", "cached_db"):
        pytest.skip("database engines only")
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = signed_in_client(alice)
    warm(client)
    rows = Session.objects.filter(session_key=session_key_of(client))
    if how == "bulk delete":
        Session.objects.all().delete()  # "log out everywhere"
    elif how == "expire by update":
        rows.update(expire_date=timezone.now())
    else:  # which sessions it ends, no statement says: every signed-in copy goes
        Session.get_session_store_class().clear_expired()
    _, was_early = early(client)
    assert not was_early


# Invariant 3: what is not answered early runs the whole stack, as without the middleware.


def test_what_is_not_answered_early_runs_the_whole_stack(alice):
    client = signed_in_client(alice)
    warm(client)
    reached = len(stack_counter.reached)
    assert client.post("/account/")[STATUS] == "bypass"
    assert client.get("/account/", HTTP_AUTHORIZATION="Bearer x")[STATUS] == "miss"
    assert len(stack_counter.reached) == reached + 2


def test_pending_messages_go_through_the_stack_and_are_shown(alice):
    client = signed_in_client(alice)
    warm(client, "/messages/")
    client.get("/add-message/")
    shown, was_early = early(client, "/messages/")
    assert not was_early and b"hello" in shown.content


def test_anonymous_sessions_and_pages_of_nobody_are_not_copied(site):
    client = Client()
    client.get("/cart/put/apple/")  # an anonymous session with data
    for _ in range(3):
        _, was_early = early(client, "/cart/")
        assert not was_early


def test_an_anonymous_session_goes_straight_through_after_its_first_request(alice, monkeypatch):
    client = Client()
    client.get("/cart/put/apple/")
    client.get("/cart/")  # cache_page keys it as a session of its own, not a user's
    calls = []
    real = backend.get_many
    monkeypatch.setattr(backend, "get_many", lambda keys: calls.append(keys) or real(keys))
    answer, was_early = early(client, "/cart/")
    assert not was_early and b"cart=apple" in answer.content
    assert len(calls) == 1, "only cache_page's own lookup"
    client.get("/login-as/alice/")  # a login gives the session a new key: looked at again
    calls.clear()
    client.get("/account/")
    assert len(calls) == 2


def test_saving_the_session_on_every_request_turns_it_off(alice):
    client = signed_in_client(alice)
    with override_settings(SESSION_SAVE_EVERY_REQUEST=True):
        for _ in range(3):
            _, was_early = early(client)
            assert not was_early


def test_an_unsupported_engine_turns_it_off(alice):
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.file"):
        client = signed_in_client(alice)
        for _ in range(3):
            _, was_early = early(client)
            assert not was_early


def test_an_unreachable_cache_lets_every_request_through(alice):
    client = signed_in_client(alice)
    warm(client)
    with override_settings(JIMMY_PAGE_CACHE_ALIAS="broken"):
        answer, was_early = early(client)
    assert not was_early and b"user=alice" in answer.content


def test_the_session_engines_are_told_apart():
    for engine, kind in [
        ("db", sessions.DB),
        ("cached_db", sessions.DB),
        ("cache", sessions.CACHE),
        ("signed_cookies", sessions.SIGNED),
        ("file", None),
    ]:
        store = import_string(f"django.contrib.sessions.backends.{engine}.SessionStore")
        with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
            assert sessions.kind() == kind, store
    with override_settings(
        SESSION_ENGINE="django.contrib.sessions.backends.cache", SESSION_CACHE_ALIAS="broken"
    ):
        assert sessions.kind() is None, "a session cache of its own: its evictions are unseen"


def test_system_checks_say_when_it_could_never_answer():
    from jimmypage.signed_in import MIDDLEWARE_PATH
    from jimmypage.signed_in_checks import check_signed_in

    def ids(**overrides):
        with override_settings(**overrides):
            return [warning.id for warning in check_signed_in()]

    assert ids() == [], "not installed: nothing to say"
    assert ids(MIDDLEWARE=[MIDDLEWARE_PATH, *settings.MIDDLEWARE]) == []
    assert ids(MIDDLEWARE=[*settings.MIDDLEWARE, MIDDLEWARE_PATH]) == ["jimmypage.W011"]
    assert ids(
        MIDDLEWARE=[MIDDLEWARE_PATH], SESSION_ENGINE="django.contrib.sessions.backends.file"
    ) == ["jimmypage.W012"]
    assert ids(MIDDLEWARE=[MIDDLEWARE_PATH], SESSION_SAVE_EVERY_REQUEST=True) == ["jimmypage.W013"]


REVOKE_AFTER_LOADING: list = []


class LoadsPermissionsFirst:
    """A site's middleware that reads the user's permissions before the view (and a hook)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            request.user.has_perm("testapp.change_article")  # loads and caches them
            while REVOKE_AFTER_LOADING:
                REVOKE_AFTER_LOADING.pop()()
        return self.get_response(request)


def test_a_right_revoked_after_a_middleware_read_it_leaves_the_page_stale(site, settle):
    """The users generation is read before the stack: a write after that is never missed."""
    from django.contrib.auth.models import Group, Permission

    from jimmypage import users

    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_article"))
    alice = User.objects.create_user("alice", password="pw")
    alice.groups.add(editors)
    client = signed_in_client(alice)
    with override_settings(
        MIDDLEWARE=[*settings.MIDDLEWARE, "tests.test_signed_in.LoadsPermissionsFirst"],
        JIMMY_PAGE_EXPIRATION_WHITELIST=sorted(users.user_tables()),  # only users count
    ):
        REVOKE_AFTER_LOADING.append(lambda: alice.groups.remove(editors))
        first = client.get("/account/")
        assert b"may_change=True" in first.content, "rendered with what the middleware read"
        again = client.get("/account/")
        assert again[STATUS] == "stale", "stored with the users generation of before the write"
        settle()
        assert b"may_change=False" in client.get("/account/").content


def test_an_early_hit_is_private_downstream_and_revalidates(alice):
    """The copy answers as the stack would: a page of one visitor, a 304 for its own ETag."""
    client = signed_in_client(alice)
    hit = warm(client)
    assert hit["Cache-Control"] == "private, no-cache"
    assert hit.has_header("ETag") and hit.has_header("Age")
    revalidated, was_early = early(client, HTTP_IF_NONE_MATCH=hit["ETag"])
    assert was_early and revalidated.status_code == 304 and revalidated.content == b""
