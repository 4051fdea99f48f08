"""The refresh task of Django's Tasks framework (``JIMMY_PAGE_REFRESH_EXECUTOR = "tasks"``).

``django.tasks`` on Django 6, the ``django-tasks`` backport on Django 5.2. The task carries
plain data only: the snapshot of the request (``Snapshot.to_data()``) and the lock key. Its
worker must run with the web processes' settings (the same ``CACHES`` and ``JIMMY_PAGE_*``).

Without a Tasks framework this module still imports (Celery's autodiscovery imports every
installed app's ``tasks`` module), but has no task.
"""

from __future__ import annotations

from . import conf

try:  # Django 6.0 and later
    from django.tasks import task
except ImportError:  # pragma: no cover - depends on the Django version
    try:
        from django_tasks import task  # the backport, for Django 5.2
    except ImportError:
        task = None


if task is not None:

    @task()
    def refresh_page(data: dict, lock: str) -> str:
        """Render and store the snapshotted page again; always frees ``lock``."""
        from .refresh import run
        from .snapshots import Snapshot

        return run(Snapshot.from_data(data), lock)

else:  # pragma: no cover - depends on the Django version
    refresh_page = None


def enqueue(snapshot, lock: str) -> None:
    """Enqueue the refresh of ``snapshot`` on ``JIMMY_PAGE_TASKS_BACKEND``."""
    if refresh_page is None:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            'JIMMY_PAGE_REFRESH_EXECUTOR = "tasks" needs Django 6 or the django-tasks package.'
        )
    options = {"backend": conf.get("JIMMY_PAGE_TASKS_BACKEND")}
    queue = conf.get("JIMMY_PAGE_TASK_QUEUE")
    if queue:
        options["queue_name"] = queue
    refresh_page.using(**options).enqueue(snapshot.to_data(), lock)
