"""Where refreshes run: a bounded pool of threads in this process.

When the pool and its queue are full, a refresh is refused: the caller frees its lock and a later
request of the stale page tries again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from . import conf


class ThreadExecutor:
    """A fixed number of threads and a bounded queue of waiting refreshes."""

    def __init__(self, threads: int, queue_size: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jimmypage")
        self._slots = threading.BoundedSemaphore(threads + queue_size)
        self._idle = threading.Condition()
        self._pending = 0

    def submit(self, job: Callable, *args) -> bool:
        """Queue ``job(*args)``; ``False`` when the pool and its queue are full."""
        if not self._slots.acquire(blocking=False):
            return False
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, job, args)
        return True

    def _run(self, job: Callable, args: tuple) -> None:
        try:
            job(*args)
        finally:
            self._slots.release()
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no refresh is queued or running; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


_executor: ThreadExecutor | None = None
_executor_pid: int | None = None
_executor_lock = threading.Lock()


def executor() -> ThreadExecutor:
    """The process's executor, made on first use (and again in a forked child)."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        with _executor_lock:
            if _executor is None or _executor_pid != os.getpid():
                _executor = ThreadExecutor(
                    int(conf.get("JIMMY_PAGE_REFRESH_THREADS")),
                    int(conf.get("JIMMY_PAGE_REFRESH_QUEUE_SIZE")),
                )
                _executor_pid = os.getpid()
    return _executor


def wait_for_refreshes(timeout: float | None = 30.0) -> bool:
    """Block until every queued refresh of this process has finished; for tests and scripts."""
    return executor().wait(timeout)
