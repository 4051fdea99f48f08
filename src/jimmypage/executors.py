"""Where refreshes run, chosen by ``JIMMY_PAGE_REFRESH_EXECUTOR``.

* ``"thread"`` (the default): a bounded pool of threads in each web process. When the pool and
  its queue are full, a refresh is refused: the caller frees its lock and a later request of the
  stale page tries again.
* ``"tasks"``: a task of Django's Tasks framework (``django.tasks`` on Django 6, the
  ``django-tasks`` backport on 5.2), run by whatever worker its backend has.
* ``"celery"``: a Celery task, run by a Celery worker.

Every executor has ``submit(job, snapshot, lock) -> bool``, where ``job`` is ``refresh.run``.
The thread pool calls it in this process; the task executors send only its arguments, as plain
data (``Snapshot.to_data()`` and the lock key), and the worker calls ``refresh.run`` with them.
``False`` means the refresh was not started and the caller must free the lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from . import conf, log


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


class TaskQueueExecutor:
    """Sends a refresh to a task queue as plain data; a worker process renders it.

    The queue's own module is imported on first use, so that a project that does not use it
    needs none of its packages.
    """

    name = ""
    module = ""

    def submit(self, job: Callable, snapshot, lock: str) -> bool:
        """Enqueue the refresh; ``False`` (logged) when the queue refused it or is down."""
        try:
            queue = _import(self.module)
            queue.enqueue(snapshot, lock)
        except Exception as exc:
            _enqueue_failed(self.name, exc)
            return False
        return True


class TasksExecutor(TaskQueueExecutor):
    """Refreshes as tasks of Django's Tasks framework (``jimmypage.tasks.refresh_page``)."""

    name = "tasks"
    module = "jimmypage.tasks"


class CeleryExecutor(TaskQueueExecutor):
    """Refreshes as Celery tasks (``jimmypage.celery_tasks.refresh_page``)."""

    name = "celery"
    module = "jimmypage.celery_tasks"


def _import(module: str):
    from importlib import import_module

    return import_module(module)


def _enqueue_failed(name: str, exc: BaseException) -> None:
    log.rarely(
        f"enqueue {name}",
        "jimmypage: could not enqueue a refresh with the %s executor, pages stay stale for now:"
        " %s: %s",
        name,
        type(exc).__name__,
        exc,
        exc_info=conf.debug(),
    )


_executor: ThreadExecutor | None = None
_executor_pid: int | None = None
_executor_lock = threading.Lock()
_TASK_QUEUES = {"tasks": TasksExecutor(), "celery": CeleryExecutor()}


def thread_executor() -> ThreadExecutor:
    """The process's thread pool, made on first use (and again in a forked child)."""
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


def executor() -> ThreadExecutor | TaskQueueExecutor:
    """The executor that ``JIMMY_PAGE_REFRESH_EXECUTOR`` names.

    An unknown name is reported by the system check ``jimmypage.E005``; until it is fixed,
    refreshes run in the thread pool rather than not at all.
    """
    name = conf.refresh_executor()
    if name == "thread":
        return thread_executor()
    found = _TASK_QUEUES.get(name) if isinstance(name, str) else None
    if found is not None:
        return found
    _enqueue_failed(repr(name), ValueError("unknown JIMMY_PAGE_REFRESH_EXECUTOR; using threads"))
    return thread_executor()


def wait_for_refreshes(timeout: float | None = 30.0) -> bool:
    """Block until every refresh queued in this process's threads has finished.

    For tests and scripts; refreshes sent to a task queue run elsewhere and are not waited for.
    """
    return thread_executor().wait(timeout)
