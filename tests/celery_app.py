"""The Celery app of the tests: a project's usual ``celery.py``.

Its broker is ``CELERY_BROKER_URL`` of the test settings (a Redis database of its own). The
worker runs with ``tests.server_settings``, where ``JIMMY_PAGE_REFRESH_EXECUTOR = "celery"``
makes jimmypage register its refresh task when Django starts.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.server_settings")

app = Celery("jimmypage_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
