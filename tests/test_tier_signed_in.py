"""``SignedInHitMiddleware``'s copies in the process-local tier, over a real Redis.

A signed-in copy is served from the tier only while its session's token, the users generation
and the page's generations are all current here. These tests hold the security invariants of
``docs/signed-in.md`` on the tier's path: whatever ends or changes a session in this process
drops its token at once (the stream is paused, so it cannot help), and a change made by another
process reaches the tier through the stream.
"""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client, override_settings

from jimmypage import sessions, signed_in, tier, tracking
from tests import stack_counter
from tests.counting import round_trips
from tests.processes import until

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.skipif(
        settings.TEST_CACHE not in ("redis", "djredis"), reason="the stream needs Redis"
    ),
]


@pytest.fixture(autouse=True)
def site():
    overrides = override_settings(
        MIDDLEWARE=[
            "jimmypage.signed_in.SignedInHitMiddleware",
            "tests.stack_counter.CountingMiddleware",
            *settings.MIDDLEWARE,
        ],
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        JIMMY_PAGE_STATUS_HEADER=STATUS,
        JIMMY_PAGE_DEBUG_CACHE=True,
    )
    overrides.enable()
    stack_counter.reached.clear()
    signed_in._vary_names.clear()
    signed_in._anonymous_sessions.clear()
    yield
    overrides.disable()


@pytest.fixture
def alice():
    user = User.objects.create_user("alice", password="pw", is_staff=True)
    client = Client()
    assert client.login(username="alice", password="pw")
    return user, client


def early(client, path="/account/"):
    """Ask, and tell whether the answer came before the stack."""
    before = len(stack_counter.reached)
    response = client.get(path)
    return response, len(stack_counter.reached) == before


def early_local_hit(client, path="/account/"):
    """Ask until the middleware answers from the tier (the stream must be live and caught up)."""

    def asked():
        response, was_early = early(client, path)
        return was_early and response[STATUS] == "hit-local" and response

    return until(asked, 10, f"an early local hit of {path}")


def cookie_of(client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def replayed(cookie: str, path="/account/"):
    """A new client sending exactly ``cookie``, as a replaying attacker would."""
    return early(Client(HTTP_COOKIE=cookie), path)


def test_a_signed_in_hit_is_served_from_the_tier_with_no_round_trip(alice):
    _, client = alice
    through = client.get("/account/")
    early_local_hit(client)
    with round_trips() as counted:
        response, was_early = early(client)
    assert was_early and response[STATUS] == "hit-local"
    assert counted == {}, "a local signed-in hit sends no command to Redis"
    assert response.content == through.content and b"user=alice" in response.content
    assert response["Cache-Control"] == through["Cache-Control"]


def test_another_visitor_never_gets_the_copy(alice):
    _, client = alice
    early_local_hit(client)
    bob = User.objects.create_user("bob", password="pw")
    other = Client()
    assert other.login(username="bob", password="pw")
    assert b"user=bob" in other.get("/account/").content
    response, was_early = replayed(f"{cookie_of(client)}x")  # a forged cookie
    assert not was_early and b"user=alice" not in response.content
    assert bob.username.encode() not in early_local_hit(client).content


@pytest.mark.parametrize("how", ["logout", "flush", "cycle_key", "deleted_row", "forget"])
def test_a_session_ended_or_changed_here_is_never_a_local_hit_again(alice, how):
    user, client = alice
    cookie = cookie_of(client)
    early_local_hit(client)
    tracking.pause()  # the stream cannot help: the change itself must drop the token
    try:
        if how == "logout":
            client.logout()
        elif how in ("flush", "cycle_key"):
            session = client.session
            getattr(session, how)()
            session.save()
        elif how == "deleted_row":
            session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
            Session.objects.filter(session_key=session_key).delete()
        else:
            sessions.forget(client.cookies[settings.SESSION_COOKIE_NAME].value)
        response, was_early = replayed(cookie)
    finally:
        tracking.resume()
    assert not was_early, f"the old cookie was answered early after {how}"
    if how != "forget":
        assert b"user=alice" not in response.content


@pytest.mark.parametrize("change", ["password", "deactivated", "deleted"])
def test_a_change_to_the_user_here_is_never_a_local_hit_again(alice, change):
    user, client = alice
    cookie = cookie_of(client)
    early_local_hit(client)
    tracking.pause()
    try:
        if change == "password":
            user.set_password("new")
            user.save()
        elif change == "deactivated":
            User.objects.filter(pk=user.pk).update(is_active=False)
        else:
            user.delete()
        response, was_early = replayed(cookie)
    finally:
        tracking.resume()
    assert not was_early and b"user=alice" not in response.content


def test_a_session_ended_by_another_process_reaches_the_tier(alice):
    _, client = alice
    early_local_hit(client)
    key = sessions.token_key(client.cookies[settings.SESSION_COOKIE_NAME].value)
    caches["default"].set(key, "ended elsewhere", None)  # behind jimmypage's back
    # The session is still valid for Django: the stack answers it, and keeps a new copy.
    response = until(
        lambda: (asked := early(client)) and not asked[1] and asked[0],
        5,
        "the other process's change to reach the tier",
    )
    assert b"user=alice" in response.content


def test_a_copy_past_its_sessions_expiry_is_never_a_local_hit(alice, monkeypatch):
    _, client = alice
    early_local_hit(client)
    later = signed_in.time.time() + settings.SESSION_COOKIE_AGE + 1
    monkeypatch.setattr(tier.time, "time", lambda: later)
    _, was_early = early(client)
    assert not was_early
