"""Test settings: the database and cache backends come from the environment.

JIMMYPAGE_TEST_DB: sqlite (default), postgres or mariadb;
JIMMYPAGE_TEST_CACHE: locmem (default) or redis.
"""

import os

TEST_DB = os.environ.get("JIMMYPAGE_TEST_DB", "sqlite")
TEST_CACHE = os.environ.get("JIMMYPAGE_TEST_CACHE", "locmem")
REDIS_URL = os.environ.get("JIMMYPAGE_TEST_REDIS", "redis://127.0.0.1:6379/15")

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
            "TEST": {"NAME": "test_jimmypage"},
        }
    }
    DATABASES["other"] = {**DATABASES["default"], "TEST": {"NAME": "test_jimmypage_other"}}
elif TEST_DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "NAME": "test",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": "test_jimmypage", "CHARSET": "utf8mb4"},
        }
    }
    DATABASES["other"] = {
        **DATABASES["default"],
        "TEST": {"NAME": "test_jimmypage_other", "CHARSET": "utf8mb4"},
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"jimmypage": {"level": "DEBUG", "propagate": True}},
}
