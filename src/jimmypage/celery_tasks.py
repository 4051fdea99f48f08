"""The refresh task for Celery (``JIMMY_PAGE_REFRESH_EXECUTOR = "celery"``).

A shared task, so it joins the project's own Celery app. Its message carries plain data only,
as JSON: the snapshot of the request (``Snapshot.to_data()``) and the lock key. jimmypage
imports this module when Django starts with the celery executor set, so a worker started with
the web processes' settings knows the task; a worker with other settings can list it in
``CELERY_IMPORTS``. A task lost with its worker is not redelivered: its lock expires after
``JIMMY_PAGE_TASK_LOCK_EXPIRES`` and the next request of the stale page enqueues it again.
"""

from __future__ import annotations

from celery import shared_task

from . import conf

TASK_NAME = "jimmypage.refresh_page"


@shared_task(name=TASK_NAME, ignore_result=True)
def refresh_page(data: dict, lock: str) -> str:
    """Render and store the snapshotted page again; always frees ``lock``."""
    from .refresh import run
    from .snapshots import Snapshot

    return run(Snapshot.from_data(data), lock)


def enqueue(snapshot, lock: str) -> None:
    """Send the refresh of ``snapshot`` to the broker, as JSON."""
    options = {"serializer": "json"}
    queue = conf.get("JIMMY_PAGE_TASK_QUEUE")
    if queue:
        options["queue"] = queue
    refresh_page.apply_async(args=(snapshot.to_data(), lock), **options)
