"""A load of readers and one writer through the Django test client, and what it must prove:
no 5xx, no lost write, no stuck-stale page once it is over.

Readers ask the pages of ``PATHS`` in turn; the writer adds an article every few milliseconds
(each write changes the generation). Every page shows what the database holds, so once the load
is over a page served as fresh must show exactly the current data: ``expected(path)``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from django.db import connections
from django.test import Client

from jimmypage.executors import wait_for_refreshes
from tests.processes import until
from tests.testapp.models import Article

STATUS = "X-Jimmy-Page"
PATHS = ["/titles/", "/titles-template/", *(f"/count/{number}/" for number in range(4))]
SITE = {"ROOT_URLCONF": "tests.scaling.views", "JIMMY_PAGE_STATUS_HEADER": STATUS}


def expected(path: str) -> str:
    """The body of ``path`` rendered from the database as it is now."""
    titles = list(Article.objects.order_by("pk").values_list("title", flat=True))
    if path == "/titles/":
        return ",".join(titles)
    if path == "/titles-template/":
        return "".join(f"{title}," for title in titles)
    return f"{path.split('/')[2]}:{len(titles)}"


class Load:
    """``readers`` threads of requests and one thread of writes, until ``stop()``."""

    def __init__(self, readers: int = 4, write_every: float = 0.02) -> None:
        self.readers = readers
        self.write_every = write_every
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.statuses: Counter[str] = Counter()
        self.codes: Counter[int] = Counter()
        self.errors: list[BaseException] = []
        self.writes = 0
        self.lock = threading.Lock()

    def start(self) -> Load:
        for number in range(self.readers):
            self.spawn(self.read, number)
        self.spawn(self.write)
        return self

    def spawn(self, target, *args) -> None:
        def run():
            try:
                target(*args)
            except BaseException as error:  # reported by check(), not lost in a thread
                with self.lock:
                    self.errors.append(error)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def read(self, number: int) -> None:
        client = Client()
        turn = number
        while not self.stopping.is_set():
            response = client.get(PATHS[turn % len(PATHS)])
            turn += 1
            with self.lock:
                self.codes[response.status_code] += 1
                self.statuses[response.get(STATUS, "none")] += 1

    def write(self) -> None:
        while not self.stopping.is_set():
            Article.objects.create(title=f"write {self.writes}")
            self.writes += 1
            time.sleep(self.write_every)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive(), "a load thread still ran 60 s after the stop"

    def check(self) -> None:
        """No request failed, and every answer was a 200."""
        assert self.errors == [], self.errors[:3]
        assert set(self.codes) == {200}, self.codes


def fresh_again(client: Client, timeout: float = 60) -> float:
    """Seconds until every page is served as fresh with the current data; fails if one is not
    (a stuck-stale page stays a hit with old data)."""
    started = time.monotonic()
    last: dict[str, tuple[str, str]] = {}

    def all_fresh() -> bool:
        assert wait_for_refreshes(30), "a refresh was still running after 30 s"
        fresh = True
        for path in PATHS:
            response = client.get(path)
            assert response.status_code == 200
            body = response.content.decode()
            last[path] = (response[STATUS], body[-60:])
            fresh = fresh and response[STATUS] == "hit" and body == expected(path)
        return fresh

    try:
        until(all_fresh, timeout, "every page fresh with the current data", interval=0.05)
    except AssertionError as error:
        raise AssertionError(f"{error}; last answers: {last}") from None
    return time.monotonic() - started
