"""Settings of the site that the load and fault tests serve with gunicorn.

Its own servers only, from the environment that ``tests.reliability.site.LiveSite`` sets: a
private PostgreSQL database (``JP_SITE_DB_NAME``, reached through ``JP_SITE_DB_PORT``, which
may be a proxy that a test cuts) and a private redis-server (``JP_SITE_REDIS_URL``).
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import ALLOWED_HOSTS

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.testapp.reliability_views"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("JP_SITE_DB_PORT", "5432"),
        "USER": "postgres",
        "NAME": os.environ.get("JP_SITE_DB_NAME", "jimmypage_reliability"),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": 2},
    }
}
_timeout = float(os.environ.get("JP_SITE_REDIS_TIMEOUT", "0.5"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("JP_SITE_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "OPTIONS": {"socket_timeout": _timeout, "socket_connect_timeout": _timeout},
    }
}
JIMMY_PAGE_STATUS_HEADER = "X-Jimmy-Page"
JIMMY_PAGE_EXPIRATION_WHITELIST = ["django_session", "auth_user", "testapp_hit"]
JIMMY_PAGE_REFRESH_THREADS = int(os.environ.get("JP_SITE_REFRESH_THREADS", "2"))
JIMMY_PAGE_STATS_FLUSH_SECONDS = 0
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "jimmypage": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
