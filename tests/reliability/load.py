"""Load on the live site: client threads read pages as fast as they can while a writer saves an
article every ``write_every`` seconds. Every answer is checked: 200, and a page of the visitor
who asked (never another visitor's).

Run on its own (the long profile, a 60 s run, figures printed as JSON)::

    .venv/bin/python -m tests.reliability.load --seconds 60

or through ``JIMMYPAGE_LONG=1 .venv/bin/python -m pytest tests/reliability/test_load.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

PAGES = [
    "/articles/",
    "/articles/one/",
    "/articles/two/",
    "/tags/",
    "/tagged/",
    "/static/",
    "/template/",
    "/async/",
    "/articles/?page=1",
    "/articles/?page=2&page=3",
    "/tags/?q=x",
    "/vary/",
]


@dataclass
class Result:
    """One answer: when (seconds since the start), what for, how it went."""

    at: float
    path: str
    status: int  # 0: no answer (connection error)
    cache: str = ""
    seconds: float = 0.0
    error: str = ""


@dataclass
class LoadFigures:
    requests: int = 0
    errors: int = 0
    server_errors: int = 0
    leaks: int = 0
    writes: int = 0
    failed_writes: int = 0
    statuses: Counter = field(default_factory=Counter)
    max_seconds: float = 0.0
    p99_seconds: float = 0.0
    started: float = 0.0  # time.monotonic() at the start of the load
    seconds: float = 0.0  # how long it lasted
    results: list[Result] = field(default_factory=list)
    write_results: list[Result] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "5xx": self.server_errors,
            "leaks": self.leaks,
            "writes": self.writes,
            "failed_writes": self.failed_writes,
            "statuses": dict(self.statuses),
            "max_latency_s": round(self.max_seconds, 3),
            "p99_latency_s": round(self.p99_seconds, 3),
        }


class Visitor:
    """A keep-alive connection and, for a logged-in visitor, a session cookie."""

    def __init__(self, base: tuple[str, int], username: str | None = None) -> None:
        self.base = base
        self.username = username
        self.cookie = ""
        self.connection: http.client.HTTPConnection | None = None
        if username:
            status, headers, _ = self.request("GET", f"/login/{username}/")
            assert status == 200, f"login of {username}: {status}"
            cookies = [value for name, value in headers if name.lower() == "set-cookie"]
            self.cookie = "; ".join(cookie.split(";", 1)[0] for cookie in cookies)

    def request(self, method: str, path: str, timeout: float = 30.0):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(*self.base, timeout=timeout)
            try:
                headers = {"Cookie": self.cookie} if self.cookie else {}
                self.connection.request(method, path, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, response.getheaders(), body
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A keep-alive connection the server closed between two requests: once more,
                # on a new connection (what any HTTP client does).
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_load(
    url: str,
    seconds: float,
    clients: int = 6,
    write_every: float | None = 0.2,
    users: tuple[str, ...] = ("alice", "bob"),
    pages: list[str] = PAGES,
    events: list[tuple[float, object]] = (),
    min_requests: int = 0,
    min_writes: int = 0,
) -> LoadFigures:
    """Read ``pages`` from ``clients`` threads and write every ``write_every`` s, for ``seconds``.

    ``write_every=None``: no writer. ``events`` are ``(at_second, callable)`` run by a timer
    thread during the load (stopping a server, cutting the database...). On a slow or busy
    machine the load goes on after ``seconds`` until ``min_requests`` reads and ``min_writes``
    writes were made (for at most four times ``seconds``), so that what a test checks does
    not depend on the machine's speed.
    """
    host, port = url.removeprefix("http://").split(":")
    base = (host, int(port))
    lock = threading.Lock()
    started = time.monotonic()
    figures = LoadFigures(started=started)
    deadline, last_call = started + seconds, started + 4 * seconds
    names = [None, None, *users]  # anonymous visitors twice as often

    def going() -> bool:
        now = time.monotonic()
        if now < deadline:
            return True
        return now < last_call and (
            len(figures.results) < min_requests or len(figures.write_results) < min_writes
        )

    def reader(index: int) -> None:
        rng = random.Random(index)
        visitors = {name: Visitor(base, name) for name in names}
        while going():
            name = rng.choice(names)
            path = rng.choice(pages)
            began = time.monotonic()
            try:
                status, headers, body = visitors[name].request("GET", path)
                error = ""
            except Exception as exc:
                visitors[name].close()
                status, headers, body, error = 0, [], b"", f"{type(exc).__name__}: {exc}"
            cache = dict((k.lower(), v) for k, v in headers).get("x-jimmy-page", "")
            result = Result(began - started, path, status, cache, time.monotonic() - began, error)
            leak = status == 200 and f"|user={name or 'anonymous'}|".encode() not in body
            if path.startswith("/template/") and status == 200:
                leak = f"view=template|user={name or 'anonymous'}|".encode() not in body
            with lock:
                figures.results.append(result)
                figures.leaks += leak
        for visitor in visitors.values():
            visitor.close()

    def writer() -> None:
        visitor = Visitor(base)
        number = 0
        while going():
            began = time.monotonic()
            number += 1
            try:
                status, _, _ = visitor.request("POST", f"/write/?title=w{number}")
                error = ""
            except Exception as exc:
                visitor.close()
                status, error = 0, f"{type(exc).__name__}: {exc}"
            figures.write_results.append(
                Result(began - started, "/write/", status, "", time.monotonic() - began, error)
            )
            time.sleep(max(0.0, write_every - (time.monotonic() - began)))
        visitor.close()

    def timer() -> None:
        for at, action in sorted(events, key=lambda event: event[0]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            action()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(clients)]
    if write_every is not None:
        threads.append(threading.Thread(target=writer, daemon=True))
    if events:
        threads.append(threading.Thread(target=timer, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(4 * seconds + 120)
    figures.seconds = time.monotonic() - started
    figures.requests = len(figures.results)
    figures.errors = sum(1 for r in figures.results if r.status != 200)
    figures.server_errors = sum(1 for r in figures.results if r.status >= 500 or r.status == 0)
    figures.statuses = Counter(r.cache for r in figures.results if r.status == 200)
    figures.writes = len(figures.write_results)
    figures.failed_writes = sum(1 for r in figures.write_results if r.status != 200)
    latencies = sorted(r.seconds for r in figures.results)
    if latencies:
        figures.max_seconds = latencies[-1]
        figures.p99_seconds = latencies[int(len(latencies) * 0.99) - 1]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    from .site import LiveSite, Sampler

    with LiveSite(workers=args.workers, threads=args.threads) as site:
        with Sampler(site) as sampler:
            figures = run_load(site.url, args.seconds, clients=args.clients)
        print(
            json.dumps(
                {
                    **figures.summary(),
                    "seconds": args.seconds,
                    "max_worker_threads": sampler.max_threads,
                    "max_worker_rss_mb": round(sampler.max_rss_mb, 1),
                    "rss_growth_second_half_mb": sampler.rss_growth_mb(),
                    "max_db_connections": sampler.max_db_connections,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
