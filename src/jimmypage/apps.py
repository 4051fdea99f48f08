from contextlib import suppress

from django.apps import AppConfig


class JimmyPageConfig(AppConfig):
    name = "jimmypage"
    verbose_name = "Jimmy Page"

    def ready(self) -> None:
        # checks register themselves; purge connects its receiver of generation changes
        from . import (  # noqa: F401
            checks,
            conf,
            local_checks,
            purge,
            scaling_checks,
            signed_in_checks,
            watching,
        )

        watching.watch_all_connections()
        if conf.refresh_executor() == "celery":
            # Register the refresh task with Celery in every process that runs these settings,
            # the worker's included. Without Celery installed, check jimmypage.E006 says so.
            with suppress(ImportError):
                from . import celery_tasks  # noqa: F401
