"""Figure 4's probe: save an article every INTERVAL seconds and watch the page for each write.

Two threads, started at the same monotonic instant ``start_at`` (CLOCK_MONOTONIC is the same
clock in every process, so the harness can start wrk and this probe together):

- the writer saves one of the page's 20 articles with a unique title, ``writes`` times, one
  every ``interval`` seconds, through the ORM (so every cache's invalidation runs as in an app);
- the poller requests the page about every 5 ms on its own connection, records each request's
  latency, and notes when each written title first appears in the page.

Every loop is bounded by a deadline. Run as
``python -m harness.probe OUT.json PORT PATH WRITES INTERVAL GRACE START_AT WATCH [TARGET]``,
where TARGET is ``article`` (the default) or ``visit``: a row added to a table the page never
reads (section 6), whose writes have nothing to show in the page.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time

from . import django_env
from .server import fetch

POLL_PERIOD = 0.005


class Probe:
    def __init__(
        self,
        port: int,
        path: str,
        writes: int,
        interval: float,
        grace: float,
        start_at: float,
        watch: bool,
        target: str = "article",
    ) -> None:
        self.port, self.path = port, path
        self.writes, self.interval = writes, interval
        self.start_at = start_at
        self.deadline = start_at + writes * interval + grace
        self.target = target
        self.watch = watch and target == "article"  # False when nothing written shows
        self.nonce = secrets.token_hex(3)
        self.committed: dict[str, float] = {}  # title token -> monotonic time of the commit
        self.seen: dict[str, float] = {}  # title token -> when the poller first saw it
        self.samples: list[tuple[float, float, str]] = []  # (start - start_at, ms, label)
        self.failures = 0
        self.lock = threading.Lock()

    def token(self, number: int) -> str:
        return f"upd-{self.nonce}-{number:04d}-end"

    def write(self) -> None:
        from benchsite.models import Article, Visit
        from django.db import connections

        ids = list(Article.objects.values_list("pk", flat=True)[:20])
        try:
            for number in range(self.writes):
                time.sleep(max(0.0, self.start_at + number * self.interval - time.monotonic()))
                token = self.token(number)
                if self.target == "visit":
                    Visit.objects.create(path=f"/{token}/")
                else:
                    article = Article.objects.get(pk=ids[number % len(ids)])
                    article.title = f"Breaking {token}"
                    article.save()  # autocommit: committed when save() returns
                with self.lock:
                    self.committed[token] = time.monotonic()
        finally:
            connections.close_all()

    def poll(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        next_start = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                return
            time.sleep(max(0.0, next_start - now))
            started = time.monotonic()
            next_start = started + POLL_PERIOD
            try:
                reply = fetch(self.port, self.path)
            except OSError:
                self.failures += 1
                continue
            finished = time.monotonic()
            label = reply.headers.get("X-Jimmy-Page", "")
            self.samples.append((started - self.start_at, (finished - started) * 1000, label))
            if reply.status != 200:
                self.failures += 1
            elif self.watch:
                body = reply.body.decode()
                with self.lock:
                    pending = [token for token in self.committed if token not in self.seen]
                for token in pending:
                    if token in body:
                        self.seen[token] = finished

    def run(self) -> dict:
        threads = [threading.Thread(target=self.write), threading.Thread(target=self.poll)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.deadline - time.monotonic() + 30)
        writes = [
            {
                "token": token,
                "at": committed - self.start_at,
                "freshness_ms": (self.seen[token] - committed) * 1000
                if token in self.seen
                else None,
            }
            for token, committed in self.committed.items()
        ]
        return {"writes": writes, "samples": self.samples, "poll_failures": self.failures}


def main(argv: list[str]) -> None:
    out, port, path = argv[0], int(argv[1]), argv[2]
    writes, interval, grace, start_at = int(argv[3]), float(argv[4]), float(argv[5]), float(argv[6])
    watch = argv[7] == "1"
    target = argv[8] if len(argv) > 8 else "article"
    django_env.setup()
    result = Probe(port, path, writes, interval, grace, start_at, watch, target).run()
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
