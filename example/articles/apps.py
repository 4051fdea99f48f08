"""App configuration of the articles app."""

from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    """The articles app."""

    name = "articles"
    default_auto_field = "django.db.models.BigAutoField"
