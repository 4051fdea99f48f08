from django.apps import AppConfig


class JimmyPageConfig(AppConfig):
    name = "jimmypage"
    verbose_name = "Jimmy Page"

    def ready(self) -> None:
        from . import checks, writes  # noqa: F401  (checks register themselves)

        writes.watch_all_connections()
