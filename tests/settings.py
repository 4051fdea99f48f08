"""Test settings: the database and cache backends come from the environment.

JIMMYPAGE_TEST_DB: sqlite (default), postgres or mariadb.
JIMMYPAGE_TEST_CACHE: locmem (default), redis (Django's RedisCache), djredis (django-redis),
memcached (PyMemcacheCache), db (DatabaseCache) or file (FileBasedCache).

So that runs on a shared machine do not clash, every server resource can be moved:
JIMMYPAGE_TEST_DB_SUFFIX (appended to the PostgreSQL test database names),
JIMMYPAGE_TEST_REDIS (the cache's Redis URL; the tests flush that database),
JIMMYPAGE_TEST_MEMCACHED (host:port; the tests flush it), JIMMYPAGE_TEST_FILE_CACHE (a folder),
JIMMYPAGE_TEST_CELERY_BROKER (the Celery broker's URL: a Redis database of its own).
"""

import os
import tempfile
from importlib.util import find_spec

TEST_DB = os.environ.get("JIMMYPAGE_TEST_DB", "sqlite")
TEST_CACHE = os.environ.get("JIMMYPAGE_TEST_CACHE", "locmem")
TEST_CACHES = ("locmem", "redis", "djredis", "memcached", "db", "file")
if TEST_CACHE not in TEST_CACHES:
    raise ValueError(f"JIMMYPAGE_TEST_CACHE={TEST_CACHE!r}: use one of {', '.join(TEST_CACHES)}")
DB_SUFFIX = os.environ.get("JIMMYPAGE_TEST_DB_SUFFIX", "")
REDIS_URL = os.environ.get("JIMMYPAGE_TEST_REDIS", "redis://127.0.0.1:6379/15")
MEMCACHED = os.environ.get("JIMMYPAGE_TEST_MEMCACHED", "127.0.0.1:11211")
FILE_CACHE = os.environ.get(
    "JIMMYPAGE_TEST_FILE_CACHE",
    os.path.join(tempfile.gettempdir(), f"jimmypage-tests-file-cache{DB_SUFFIX}"),
)
CELERY_BROKER_URL = os.environ.get("JIMMYPAGE_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/14")

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "example.com", ".example.org", "xn--bcher-kva.example"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "jimmypage",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.testapp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if TEST_DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("JIMMYPAGE_TEST_PGHOST", "127.0.0.1"),
            "PORT": "5432",
            "USER": "postgres",
            "NAME": "postgres",
            "TEST": {"NAME": f"test_jimmypage{DB_SUFFIX}"},
        }
    }
    DATABASES["other"] = {
        **DATABASES["default"],
        "TEST": {"NAME": f"test_jimmypage_other{DB_SUFFIX}"},
    }
elif TEST_DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "NAME": "test",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": f"test_jimmypage{DB_SUFFIX}", "CHARSET": "utf8mb4"},
        }
    }
    DATABASES["other"] = {
        **DATABASES["default"],
        "TEST": {"NAME": f"test_jimmypage_other{DB_SUFFIX}", "CHARSET": "utf8mb4"},
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }

if TEST_CACHE == "redis":
    # Django's own class, so that jimmypage's Redis fast path is what the tests exercise;
    # tests count its round trips with Redis' command statistics.
    _default_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
elif TEST_CACHE in ("djredis", "memcached", "db", "file"):
    # The real backends, through subclasses that count the calls of the cache API.
    _default_cache = {
        "BACKEND": "tests.counting_backends."
        + {
            "djredis": "CountingDjangoRedisCache",
            "memcached": "CountingPyMemcacheCache",
            "db": "CountingDatabaseCache",
            "file": "CountingFileBasedCache",
        }[TEST_CACHE],
        "LOCATION": {
            "djredis": REDIS_URL,
            "memcached": MEMCACHED,
            "db": "jimmypage_test_cache",
            "file": FILE_CACHE,
        }[TEST_CACHE],
        "OPTIONS": {"MAX_ENTRIES": 100_000} if TEST_CACHE in ("db", "file") else {},
    }
else:
    _default_cache = {
        "BACKEND": "tests.counting.CountingLocMemCache",
        "LOCATION": "jimmypage-tests",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }

CACHES = {
    "default": _default_cache,
    # A real Redis client pointed at a port where nothing listens: every call fails.
    "broken": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}

JIMMY_PAGE_STATS_FLUSH_SECONDS = 0  # tests flush the counters themselves

# Task queues, for the "tasks" and "celery" executors. Refresh tasks are only sent by tests that
# choose those executors; the thread pool stays the default.
if find_spec("django.tasks") is None and find_spec("django_tasks") is not None:
    INSTALLED_APPS.append("django_tasks")  # the backport, on Django 5.2
_tasks = "django.tasks" if find_spec("django.tasks") is not None else "django_tasks"
TASKS = {
    "default": {"BACKEND": f"{_tasks}.backends.immediate.ImmediateBackend"},
    "immediate": {"BACKEND": f"{_tasks}.backends.immediate.ImmediateBackend"},
    # Records what is enqueued; an empty QUEUES accepts any queue name.
    "dummy": {"BACKEND": f"{_tasks}.backends.dummy.DummyBackend", "QUEUES": []},
}
# django-tasks-db's worker only runs where processes share the database and the cache: its
# tables (flushed after every test) are installed there only.
SHARED_BY_PROCESSES = TEST_DB == "postgres" and TEST_CACHE != "locmem"
if (
    SHARED_BY_PROCESSES
    and find_spec("django_tasks_db") is not None
    and (find_spec("django.tasks") is not None or find_spec("django_tasks") is not None)
):
    INSTALLED_APPS.append("django_tasks_db")
    TASKS["default"] = {"BACKEND": "django_tasks_db.DatabaseBackend"}
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"jimmypage": {"level": "DEBUG", "propagate": True}},
}
