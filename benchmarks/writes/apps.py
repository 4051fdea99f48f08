from django.apps import AppConfig


class WritesConfig(AppConfig):
    name = "benchmarks.writes"
    label = "writes"
