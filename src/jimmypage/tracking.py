"""The invalidation stream: Redis tells this process when a generation key changes.

One connection per process, in a daemon thread, speaking RESP2 so that it works on Redis 6 and
7.0 alike::

    CLIENT ID                                     -> its own id
    CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX <the generation keys' prefix>
    SUBSCRIBE __redis__:invalidate

Broadcast tracking makes Redis send the name of every key under the prefix that is written,
deleted, expired or evicted, to whichever connection the tracking redirects to; redirected to
a connection subscribed to ``__redis__:invalidate``, the names come as Pub/Sub messages, even in
RESP2. A ``FLUSHDB``/``FLUSHALL`` sends a message with no names: forget everything. Redirecting
to the listener's own connection means one socket: if it dies, tracking dies with it, and the
listener sees it.

Redis writes a reply to a connection in the order of the commands it ran, so the reply to a
``PING`` comes after every invalidation of the writes Redis ran before that ``PING``. When the
listener reads the reply to a ``PING`` sent at time ``t``, it has dropped every generation that
changed before ``t``; it then trusts the tokens it knows until ``t + MAX_LAG``. It pings every
``BUSY_PING`` seconds while pages look for tokens, every ``IDLE_PING`` otherwise. Hence the
invariants (stated with the tier's, in ``jimmypage.tier``):

* a token is trusted only while this connection lives, and only up to ``MAX_LAG`` after the
  moment up to which the stream is known to be complete: a stalled listener (a paused thread,
  a lost network) stops local hits within ``MAX_LAG``, without anyone waiting for it;
* a reply that does not come within ``DEAD_AFTER``, an error or a closed connection ends the
  stream: every token is forgotten at once, and the listener reconnects with a growing pause
  (``RETRY_PAUSES``); meanwhile every request takes the remote path.

redis-py's own client-side caching is not used: it needs RESP3 and refuses servers older than
7.4, and it caches replies per command, where the tier needs only "this key changed".
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable

from . import log, stats
from .local import Tokens

MAX_LAG = 0.05  # seconds a generation change may take to reach the tier, at most
BUSY_PING = 0.015
IDLE_PING = 0.25
DEAD_AFTER = 1.0  # seconds without the reply to a PING before the stream counts as dead
RETRY_PAUSES = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
CHANNEL = b"__redis__:invalidate"

_markers = itertools.count()

# Tests hold the listener with this gate (see ``pause``); it is open in production.
_running = threading.Event()
_running.set()


def pause() -> None:
    """Hold every listener of this process where it is (tests: a stalled stream)."""
    _running.clear()


def resume() -> None:
    _running.set()


class Stream:
    """A listener thread that keeps ``tokens`` current from Redis's invalidation messages."""

    def __init__(
        self, tokens: Tokens, connect: Callable[[], object], tracked: bytes, prefix: str
    ) -> None:
        self.tokens = tokens
        self.connect = connect  # returns a new, unconnected redis-py Connection
        self.tracked = tracked  # the generation keys' prefix as Redis names them
        self.prefix = prefix  # ... and as jimmypage names them
        self.pid = os.getpid()
        self.connection = None
        self.client_id: int | None = None
        self._stopped = threading.Event()
        self._pings: collections.deque[float] = collections.deque()
        self._expected: dict[str, threading.Event] = {}  # markers ``settle`` waits for
        # A PING goes out from the listener's schedule, or from a request that found the tokens
        # untrusted (``ping_soon``): sends, and the times they are noted, go one at a time.
        self._send_lock = threading.Lock()
        self._last_ping = 0.0
        tokens.nudge = self.ping_soon
        self._thread = threading.Thread(target=self._run, name="jimmypage-tracking", daemon=True)

    def start(self) -> Stream:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the stream (settings changed); its tokens are forgotten."""
        self._stopped.set()
        self.tokens.go_live(False)
        self._close()

    def settle(self, write: Callable[[str], bool], timeout: float) -> bool:
        """Wait until the stream is live and has processed every change made before the call;
        ``False`` on timeout. ``write(key)`` writes a marker key: Redis sends its invalidation
        after those of every earlier change."""
        deadline = time.monotonic() + timeout
        while not self.tokens.live:
            if time.monotonic() > deadline or self._stopped.is_set():
                return False
            time.sleep(0.005)
        # Under the tracked prefix, but not under the table generations' ``gen:``.
        marker = f"{self.prefix}~probe:{os.getpid()}:{next(_markers)}"
        heard = self._expected[marker] = threading.Event()
        return write(marker) and heard.wait(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self._open()
                failures = 0
                self._listen()
            except Exception as exc:
                if not self._stopped.is_set():
                    log.rarely(
                        "tracking",
                        "jimmypage: the invalidation stream failed, hits take the remote path "
                        "until it is back (JIMMY_PAGE_LOCAL_CACHE_BYTES = 0 turns the local tier "
                        "off): %s: %s",
                        type(exc).__name__,
                        exc,
                    )
            finally:
                if self.tokens.live:
                    stats.count("stream_drop")
                self.tokens.go_live(False)
                self._close()
            pause = RETRY_PAUSES[min(failures, len(RETRY_PAUSES) - 1)]
            failures += 1
            self._stopped.wait(pause)

    def _open(self) -> None:
        """Connect, track the generation keys' prefix to this very connection, subscribe."""
        connection = self.connection = self.connect()
        connection.connect()
        connection.send_command("CLIENT", "ID")
        self.client_id = int(connection.read_response())
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", self.client_id, "BCAST", "PREFIX", self.tracked
        )
        _expect(connection.read_response(), b"OK")
        connection.send_command("SUBSCRIBE", CHANNEL)
        reply = connection.read_response()
        if not (isinstance(reply, list) and reply[:2] == [b"subscribe", CHANNEL]):
            raise ConnectionError(f"unexpected reply to SUBSCRIBE: {reply!r}")
        self._pings.clear()
        self.tokens.go_live(True)  # every token read from now on is covered by the stream

    def _listen(self) -> None:
        connection = self.connection
        next_ping = 0.0
        while not self._stopped.is_set():
            _running.wait()
            now = time.monotonic()
            if now >= next_ping:
                self._ping(now)
                busy, self.tokens.wanted = self.tokens.wanted, False
                next_ping = now + (BUSY_PING if busy else IDLE_PING)
            if self._pings and now - self._pings[0] > DEAD_AFTER:
                raise TimeoutError(f"no reply to PING within {DEAD_AFTER} s")
            if connection.can_read(timeout=max(0.0, next_ping - now)):
                self._handle(connection.read_response())

    def _ping(self, now: float) -> None:
        with self._send_lock:
            self._send_ping(now)

    def _send_ping(self, now: float) -> None:
        self._pings.append(now)
        self._last_ping = now
        self.connection.send_command("PING")

    def ping_soon(self) -> None:
        """A request found the tokens untrusted (the listener idles, or lags): ping now, at most
        once per ``BUSY_PING``, so that the next requests find them trusted. Never blocks on
        the network beyond one send; a failed send is the listener's to notice."""
        now = time.monotonic()
        if now - self._last_ping < BUSY_PING or not self.tokens.live:
            return
        if not self._send_lock.acquire(blocking=False):
            return  # someone is pinging right now
        try:
            # Live: the connection is subscribed, and ``_close`` waits for this lock.
            if (
                now - self._last_ping >= BUSY_PING
                and self.tokens.live
                and self.connection is not None
            ):
                with contextlib.suppress(Exception):  # a dead connection: the listener sees it
                    self._send_ping(now)
        finally:
            self._send_lock.release()

    def _handle(self, reply) -> None:
        kind = reply[0] if isinstance(reply, list) and reply else None
        if kind == b"message" and reply[1] == CHANNEL:
            self._invalidate(reply[2])
        elif kind == b"pong" and self._pings:
            sent = self._pings.popleft()
            self.tokens.trust_until(sent + MAX_LAG)

    def _invalidate(self, names: list[bytes] | None) -> None:
        stats.count("invalidation")
        if names is None:  # FLUSHDB, FLUSHALL
            self.tokens.forget()
            return
        skip, prefix = len(self.tracked), self.prefix
        changed = [prefix + name[skip:].decode(errors="replace") for name in names]
        self.tokens.drop(changed)
        if self._expected:
            for name in changed:
                event = self._expected.pop(name, None)
                if event is not None:
                    event.set()

    def _close(self) -> None:
        with self._send_lock:  # no request may ping a connection being closed
            connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            with contextlib.suppress(Exception):  # already broken: nothing more to close
                connection.disconnect()


def _expect(reply, expected: bytes) -> None:
    if reply != expected and reply != expected.decode():
        raise ConnectionError(f"unexpected reply {reply!r}, expected {expected!r}")


def connection_factory(client) -> Callable[[], object]:
    """New connections like those of the redis-py ``client``'s pool, for a listener: RESP2,
    no retries, no health checks of their own (the listener pings), no pool."""
    pool = client.connection_pool
    options = {
        name: value
        for name, value in pool.connection_kwargs.items()
        if not name.startswith(("maint", "orig_"))  # redis-py 7+: RESP3-only features
    }
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options.update(
        protocol=2,
        socket_timeout=DEAD_AFTER,
        socket_connect_timeout=min(options.get("socket_connect_timeout") or DEAD_AFTER, 2.0),
        health_check_interval=0,
        retry=Retry(NoBackoff(), 0),
        client_name="jimmypage-tracking",
    )
    connection_class = pool.connection_class
    return lambda: connection_class(**options)
