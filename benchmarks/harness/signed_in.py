"""Section 7: signed-in visitors, each request with the session cookie of a signed-in user.

Three ways to cache a page of one's own: Django's ``cache_page`` + ``vary_on_cookie``, jimmypage's
``cache_page`` alone (which must load the session and the user to key the page), and jimmypage
with ``SignedInHitMiddleware`` first in the stack. Measured in the same interleaved rounds as
the anonymous references (the floor and jimmypage's anonymous hits, asked without a cookie):
in-process warm-hit time; SQL queries, cache round trips and Redis commands per warm hit; and
over HTTP, wrk with one thread per connection, each sending the cookie of a user of its own.

Run as ``python -m harness.signed_in OUT.json ROUNDS FAST_N COUNT_N``: creates the users and
sessions (their cookies go into OUT.json for the HTTP step, ``measure_http``).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections import Counter

from benchsite.contenders import REFERENCES, SIGNED_IN

from . import django_env, server, stats, wrk
from .inprocess import time_batch

USERS = wrk.CONNECTIONS  # one signed-in user per wrk connection


def session_cookies(count: int) -> list[str]:
    """``count`` users, each signed in with a session of the database engine: their cookies."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    cookies = []
    for number in range(count):
        user, _ = User.objects.get_or_create(username=f"reader{number}")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def timings(client, rounds: int, count: int, cookie: str) -> dict:
    """Warm-hit time of each contender, interleaved rounds; the references without a cookie."""
    from .wsgi_client import warm

    asked = [(c, cookie) for c in SIGNED_IN] + [(c, None) for c in REFERENCES]
    for contender, sent in asked:
        warm(client, contender.path, cookie=sent)
        for _ in range(200):  # discarded: template loaders, connection pools, code paths
            client.get(contender.path, sent)
    result = {c.key: {"median_us": [], "p99_us": [], "count": count} for c, _ in asked}
    for _ in range(rounds):
        for contender, sent in asked:
            warm(client, contender.path, cookie=sent)
            gc.collect()
            samples = time_batch(client, contender.path, count, sent)
            result[contender.key]["median_us"].append(stats.percentile(samples, 0.5))
            result[contender.key]["p99_us"].append(stats.percentile(samples, 0.99))
    return result


def counts(client, count: int, cookie: str) -> dict:
    """Per warm hit: SQL queries, cache round trips, Redis commands, clients built."""
    from django.db import connection

    from .roundtrips import COUNTS
    from .wsgi_client import warm

    queries = Counter()

    def count_query(execute, sql, params, many, context):
        queries["sql"] += 1
        return execute(sql, params, many, context)

    result = {}
    for contender in (*SIGNED_IN, *REFERENCES):
        sent = cookie if contender in SIGNED_IN else None
        warm(client, contender.path, cookie=sent)
        COUNTS.clear()
        queries.clear()
        with connection.execute_wrapper(count_query):
            for _ in range(count):
                client.get(contender.path, sent)
        result[contender.key] = {
            "requests": count,
            "sql_queries": queries["sql"] / count,
            "round_trips": COUNTS["round_trips"] / count,
            "redis_commands": COUNTS["commands"] / count,
            "clients_built": COUNTS["clients"] / count,
        }
    return result


def measure_http(plan, out_dir: str, log, cookies: list[str]) -> dict:
    """req/s and latency under wrk, one thread per connection and a cookie per thread."""
    script = os.path.join(out_dir, "signed-in.lua")
    with open(script, "w") as handle:
        handle.write(lua_script(cookies))
    results = {c.key: [] for c in (*SIGNED_IN, *REFERENCES)}
    with server.gunicorn(os.path.join(out_dir, "gunicorn-signed-in.log")) as port:
        for number in range(plan.rounds):
            for contender in (*SIGNED_IN, *REFERENCES):
                signed = contender in SIGNED_IN
                for cookie in cookies if signed else [None]:
                    server.warm(port, contender.path, cookie=cookie)
                url = f"http://{server.HOST}:{port}{contender.path}"
                options = {"threads": len(cookies), "connections": len(cookies)}
                found = wrk.run(url, plan.seconds, script=script if signed else None, **options)
                results[contender.key].append(found.as_dict())
                log(
                    f"  round {number + 1}/{plan.rounds} {contender.key:17} "
                    f"{found.requests_per_s:8.0f} req/s, p99 {found.p99_ms:7.1f} ms"
                )
    return results


def lua_script(cookies: list[str]) -> str:
    """A wrk script giving each thread (one connection each) the cookie of a user of its own."""
    listed = ", ".join(json.dumps(cookie) for cookie in cookies)
    return (
        f"local cookies = {{{listed}}}\n"
        "local made = 0\n"
        "function setup(thread)\n"
        "  made = made + 1\n"
        "  thread:set('cookie', cookies[(made - 1) % #cookies + 1])\n"
        "end\n"
        "function init(args)\n"
        "  wrk.headers['Cookie'] = cookie\n"
        "end\n"
    )


def main(argv: list[str]) -> None:
    out, rounds, fast_n, count_n = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    django_env.setup()
    from .roundtrips import install_counters
    from .wsgi_client import Client

    cookies = session_cookies(USERS)
    client = Client()
    result = {"rounds": rounds, "cookies": cookies}
    result["contenders"] = timings(client, rounds, fast_n, cookies[0])
    install_counters()  # only now: counting must not weigh on the timings
    result["per_hit"] = counts(client, count_n, cookies[1])
    with open(out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
