"""Settings of the benchmark project: PostgreSQL, Redis, the default middleware stack.

Every caching app is installed at once, and each contender's URL uses only its own cache, so
every contender runs in the same project with the same page and the same backends. The
environment can point the project elsewhere: BENCH_PG_DB, BENCH_PG_HOST, BENCH_REDIS_URL.
"""

import os

PG_DB = os.environ.get("BENCH_PG_DB", "jimmypage_bench")
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

# Seconds a cached page may live; the same for every contender, longer than any run.
PAGE_TIMEOUT = 600
# Count renders (one Redis INCR per render) only where the harness asks: the HTTP phases.
COUNT_RENDERS = os.environ.get("BENCH_COUNT_RENDERS") == "1"

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cacheops",
    "cachalot",
    "jimmypage",
    "benchsite",
]

# Django's default stack, as `startproject` writes it.
MIDDLEWARE = [
    "benchsite.early.EarlyForOneContender",
    "benchsite.early.SignedInForOneContender",
    "benchsite.early.NoQueryCacheWhenSignedIn",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": PG_DB,
        "USER": "postgres",
        "HOST": PG_HOST,
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}

# Django's own Redis backend: Django's cache_page, cachalot and jimmypage all use it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
}

# django-cacheops keeps its own client; the same Redis database. Empty ops: nothing is cached
# by default, but writes to these models invalidate what `cached_view_as` stored.
CACHEOPS_REDIS = REDIS_URL
CACHEOPS = {"benchsite.*": {"ops": (), "timeout": PAGE_TIMEOUT}}

# django-cachalot caches every ORM query, except where a view turns it off (see views.py).
CACHALOT_CACHE = "default"
CACHALOT_TIMEOUT = PAGE_TIMEOUT

# jimmypage labels each response hit, stale, miss or bypass: the harness checks warm-ups by it.
JIMMY_PAGE_STATUS_HEADER = "X-Jimmy-Page"
# "global" everywhere but on section 6's second server, which runs per-table mode.
JIMMY_PAGE_MODE = os.environ.get("BENCH_JIMMY_MODE", "global")

STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
