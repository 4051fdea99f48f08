"""Visitors, requests and the oracle shared by the property tests.

A ``Visitor`` is a test client with an identity: anonymous without a session, anonymous with a
session holding a cart, logged in, with an ``Authorization`` header, or a mix. Its ``cls`` is the
class of visitors that may share pages: every anonymous visitor without session data shares
``"anonymous"`` (a session cookie the server does not know is no session); every other visitor
is a class of its own.

An ``Ask`` is one request (method, host, scheme, path, query, languages, Vary'd headers). The
oracle sends it twice: once with jimmypage disabled (what the uncached view gives that request
now) and once through the cache.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import strategies as st

import jimmypage
from tests.testapp.models import Article, Author, Hit, Tag
from tests.testapp.reliability_views import body_digest

from . import writes_more
from .replay import INDEXES, choose
from .support import STATUS

HOSTS = [
    "testserver",
    "example.com",
    "example.com:8080",
    "www.example.org",
    "xn--bcher-kva.example",
]
LANGUAGES = [None, "en", "fr", "fr-CA,fr;q=0.8", "de"]
PATHS = [
    "/articles/",
    "/articles/one/",
    "/articles/two/",
    "/tags/",
    "/tagged/",
    "/static/",
    "/vary/",
    "/async/",
    "/template/",
]
QUERY_KEYS = ["a", "b", "page"]
QUERY_VALUES = ["1", "2", "x y", "é", ""]
ACCEPTS = [None, "text/html", "application/json"]
FLAVOURS = [None, "vanilla", "chocolate"]


@dataclass
class Visitor:
    name: str
    cls: str
    client: Client
    session_cookie: str | None = None  # sent with every request, whatever the server says

    def prepare(self) -> Client:
        if self.session_cookie is not None:
            self.client.cookies["sessionid"] = self.session_cookie
        return self.client


def make_visitors() -> dict[str, Visitor]:
    """The cast: anonymous visitors with and without sessions, users, bearers of tokens."""
    names = ("alice", "bob", "carol")
    users = {name: User.objects.get_or_create(username=name)[0] for name in names}

    def logged_in(name: str, **headers) -> Client:
        client = Client(**headers)
        client.force_login(users[name])
        return client

    def with_cart(item: str) -> Client:
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = fixed_session(f"cart{item}")
        assert client.get(f"/put/{item}/").status_code == 200
        return client

    cast = [
        Visitor("anon-1", "anonymous", Client()),
        Visitor("anon-2", "anonymous", Client()),
        Visitor("cart-apple", "cart-apple", with_cart("apple")),
        Visitor("cart-pear", "cart-pear", with_cart("pear")),
        # A session cookie the server never issued (it asks the client to drop it: it is sent
        # again all the same). Its session is empty: it may share the anonymous pages.
        Visitor("unknown-session", "anonymous", Client(), session_cookie="x" * 32),
        Visitor("alice", "alice", logged_in("alice")),
        Visitor("bob", "bob", logged_in("bob")),
        Visitor("carol", "carol", logged_in("carol")),
        Visitor("token-1", "token-1", Client(HTTP_AUTHORIZATION="Bearer one")),
        Visitor("token-2", "token-2", Client(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")),
        Visitor(
            "alice+token-1", "alice+token-1", logged_in("alice", HTTP_AUTHORIZATION="Bearer one")
        ),
    ]
    return {visitor.name: visitor for visitor in cast}


def fixed_session(name: str) -> str:
    """The key of an empty session, the same in every run.

    A cart visitor's page keys hold their session key: with a fixed one, the keys of a run are
    the same in every run, and so are the choices an example makes among them (``replay.py``).
    """
    key = f"reliability{name}".ljust(32, "0")
    Session.objects.update_or_create(
        session_key=key,
        defaults={
            "session_data": SessionStore().encode({}),
            "expire_date": timezone.now() + timedelta(days=1),
        },
    )
    return key


VISITOR_NAMES = [
    "anon-1",
    "anon-2",
    "cart-apple",
    "cart-pear",
    "unknown-session",
    "alice",
    "bob",
    "carol",
    "token-1",
    "token-2",
    "alice+token-1",
]


@dataclass(frozen=True)
class Ask:
    visitor: str
    method: str = "GET"
    path: str = "/articles/"
    query: tuple[tuple[str, str], ...] = ()
    host: str = "testserver"
    secure: bool = False
    language: str | None = None
    accept: str | None = None
    flavour: str | None = None

    def extra(self) -> dict:
        headers = {"HTTP_HOST": self.host, "QUERY_STRING": urlencode(self.query)}
        if self.language is not None:
            headers["HTTP_ACCEPT_LANGUAGE"] = self.language
        if self.accept is not None:
            headers["HTTP_ACCEPT"] = self.accept
        if self.flavour is not None:
            headers["HTTP_X_FLAVOUR"] = self.flavour
        return headers


def asks(visitors=VISITOR_NAMES, paths=PATHS, hosts=HOSTS, languages=LANGUAGES):
    """Random requests."""
    return st.builds(
        Ask,
        visitor=st.sampled_from(visitors),
        method=st.sampled_from(["GET", "GET", "GET", "HEAD"]),
        path=st.sampled_from(paths),
        query=st.lists(
            st.tuples(st.sampled_from(QUERY_KEYS), st.sampled_from(QUERY_VALUES)), max_size=3
        ).map(tuple),
        host=st.sampled_from(hosts),
        secure=st.booleans(),
        language=st.sampled_from(languages),
        accept=st.sampled_from(ACCEPTS),
        flavour=st.sampled_from(FLAVOURS),
    )


def ask_again(data, pages: list[Ask], visitors=VISITOR_NAMES) -> Ask:
    """One of the ``pages`` already asked for, now by any of ``visitors``, with GET or HEAD."""
    return replace(
        data.draw(st.sampled_from(pages), label="known page"),
        visitor=data.draw(st.sampled_from(visitors), label="visitor"),
        method=data.draw(st.sampled_from(["GET", "GET", "HEAD"]), label="method"),
    )


UNCACHED = override_settings(JIMMY_PAGE_DISABLED=True)


def send(visitor: Visitor, ask: Ask, method: str | None = None, uncached: bool = False):
    method = method or ask.method
    client = visitor.prepare()
    if uncached:
        with UNCACHED:
            return client.generic(method, ask.path, secure=ask.secure, **ask.extra())
    return client.generic(method, ask.path, secure=ask.secure, **ask.extra())


_CART = re.compile(rb"\|cart=[^|]*")


def cart_of(body: bytes) -> bytes:
    found = _CART.search(body.split(b"||", 1)[0])
    return found.group() if found else b""


def identity_of(body: bytes) -> bytes:
    """What a body says about the request, less the cart: a visitor's cart is data of their
    session, which changes (a page with an earlier cart is an earlier version of their page)."""
    return _CART.sub(b"", body.split(b"||", 1)[0])


@dataclass
class Oracle:
    """What the uncached view gave each (visitor class, page), and the tally of answers.

    A page is identified by the identity part of the uncached body (everything it echoes about
    the request); the history holds every body the uncached view gave for it so far.
    """

    history: dict[tuple[str, bytes], set[bytes]] = field(default_factory=lambda: defaultdict(set))
    requests: int = 0
    leaks: int = 0
    outdated: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    by_digest: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    carts: dict[str, set[bytes]] = field(default_factory=lambda: defaultdict(set))

    def record(self, visitor: Visitor, body: bytes) -> set[bytes]:
        page = (visitor.cls, identity_of(body))
        known = self.history[page]
        known.add(body)
        self.by_digest[body_digest(body)] = page
        self.carts[visitor.cls].add(cart_of(body))
        return known

    def check(self, visitor: Visitor, ask: Ask, cached, raw) -> None:
        """The cached answer must be the uncached one, or an earlier one of the same page and
        visitor class. Raises ``AssertionError`` with the evidence otherwise."""
        self.requests += 1
        status = cached.get(STATUS, "none")
        self.statuses[status] += 1
        assert raw.status_code == 200, (ask, raw.status_code)
        assert cached.status_code == 200, (ask, cached.status_code, status)
        known = self.record(visitor, raw.content)
        if ask.method == "HEAD":
            digests = {body_digest(body) for body in known}
            ok = cached["X-Body-Digest"] in digests
            body = cached["X-Body-Digest"].encode()
        else:
            body = cached.content
            ok = body in known
        if ok:
            return
        if ask.method == "HEAD":  # whose page has this digest, if any?
            owner = self.by_digest.get(cached["X-Body-Digest"])
            same_page = owner is None or owner == (visitor.cls, identity_of(raw.content))
        else:  # the same page, with a cart this visitor has had
            same_page = identity_of(body) == identity_of(raw.content) and (
                cart_of(body) in self.carts[visitor.cls]
            )
        if same_page:
            self.outdated += 1
        else:
            self.leaks += 1
        raise AssertionError(
            f"{'never-seen version' if same_page else 'LEAK'}: {visitor.name} ({visitor.cls}) "
            f"asked {ask}\n got ({status}): {body!r}\n uncached now: {raw.content!r}\n"
            f" history: {sorted(known)!r}"
        )


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


TITLES = ["alpha", "beta", "gamma", "delta"]
WRITES = [
    "create",
    "rename",
    "delete",
    "tag",
    "update",
    "raw",
    "rollback",
    "whitelisted",
    "cart",
    "author",
    "invalidate",
    "staff",
]
# Writes that must leave every page as fresh as it was.
HARMLESS = {"rollback", "whitelisted"}


def write(kind: str, data, visitors) -> None:
    """One write of the given kind (``data`` draws its details).

    Every detail is drawn whatever the kind and whatever rows there are, then applied to the
    rows found: the draws never depend on the database (see ``replay.py``).
    """
    title = data.draw(st.sampled_from(TITLES), label="title")
    which = data.draw(INDEXES, label="which row")
    cart = data.draw(st.sampled_from(["cart-apple", "cart-pear"]), label="whose cart")
    articles = list(Article.objects.order_by("pk"))
    if kind == "create" or not articles:
        author = choose(which, [None, *Author.objects.order_by("pk")])
        Article.objects.create(title=title, author=author)
    elif kind == "rename":
        article = choose(which, articles)
        article.title = title
        article.save()
    elif kind == "delete":
        choose(which, articles).delete()
    elif kind == "tag":
        tag = Tag.objects.create(name=title)
        choose(which, articles).tags.add(tag)
    elif kind == "update":
        Article.objects.filter(pk__lte=articles[0].pk + 1).update(title=title)
    elif kind == "raw":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE testapp_article SET title = %s WHERE id = %s", [title, articles[-1].pk]
            )
    elif kind == "rollback":
        try:
            with transaction.atomic():
                Article.objects.create(title="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
    elif kind == "whitelisted":
        Hit.objects.create(path=title)
    elif kind == "cart":  # the session of a cart visitor changes (whitelisted table)
        visitors[cart].client.get(f"/put/{title}/")
    elif kind == "author":
        Author.objects.create(name=title)
    elif kind == "invalidate":
        jimmypage.invalidate()
    elif kind == "staff":  # a signed-in user's rights change (auth_user is whitelisted)
        staff = data.draw(st.booleans(), label="staff")
        User.objects.filter(username="alice").update(is_staff=staff)
    else:  # issue 15's writes: manual transactions, failing hooks, procedures, COPY
        writes_more.write(kind, data)


def reset_data(visitors) -> None:
    """The same data at the start of every example, so that hypothesis can replay one."""
    for model in (Article, Tag, Author, Hit):
        model.objects.all().delete()
    User.objects.filter(username="alice").update(is_staff=False)
    ada = Author.objects.create(name="ada")
    Author.objects.create(name="bo")
    Article.objects.create(title="first", author=ada)
    Article.objects.create(title="second")
    for item in ("apple", "pear"):
        visitors[f"cart-{item}"].client.get(f"/put/{item}/")
