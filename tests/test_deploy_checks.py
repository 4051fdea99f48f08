"""System checks about deployment: caches that cannot keep jimmypage's promises, executors."""

import pytest
from django.conf import settings
from django.test import override_settings

from jimmypage import checks
from jimmypage.checks import check_deployment, check_settings

pytestmark = pytest.mark.usefixtures("clean_state")

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "checks"}
FILES = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/x"}
DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
DATABASE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "jp_checks"}
REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://h:1/0"}
MEMCACHED = {
    "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
    "LOCATION": "127.0.0.1:1",
}


def ids(messages):
    return sorted(message.id for message in messages)


def pages_in(cache: dict, **more):
    """Settings whose page cache is ``cache``."""
    return override_settings(
        CACHES={**settings.CACHES, "pages": cache}, JIMMY_PAGE_CACHE_ALIAS="pages", **more
    )


@pytest.fixture(autouse=True)
def one_process(monkeypatch):
    """No sign of several processes unless a test gives one."""
    for name in ("WEB_CONCURRENCY", "SERVER_SOFTWARE", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("cache", [LOCMEM, REDIS, MEMCACHED])
def test_a_fitting_cache_passes(cache):
    with pages_in(cache):
        assert check_deployment() == []


def test_locmem_with_several_web_processes(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with pages_in(LOCMEM):
        [warning] = check_deployment()
    assert warning.id == "jimmypage.W001" and "WEB_CONCURRENCY=4" in warning.msg


def test_locmem_under_gunicorn(monkeypatch):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    with pages_in(LOCMEM):
        [warning] = check_deployment()
    assert warning.id == "jimmypage.W001" and "gunicorn" in warning.msg


WORKER_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.parametrize("executor", ["celery", "tasks"])
def test_locmem_with_refreshes_in_worker_processes(executor):
    with pages_in(LOCMEM, JIMMY_PAGE_REFRESH_EXECUTOR=executor, TASKS=WORKER_TASKS):
        found = check_deployment()
    assert "jimmypage.W001" in ids(found)
    assert any("worker processes" in message.msg for message in found)


def test_one_web_process_is_fine_with_locmem(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    with pages_in(LOCMEM):
        assert check_deployment() == []


def test_file_based_cache_locks_are_not_atomic():
    with pages_in(FILES):
        assert ids(check_deployment()) == ["jimmypage.W002"]


def test_dummy_cache_caches_nothing():
    with pages_in(DUMMY):
        assert ids(check_deployment()) == ["jimmypage.W003"]


def test_database_cache_counters_are_not_atomic():
    with pages_in(DATABASE):
        found = ids(check_deployment())
    expected = ["jimmypage.W005"]
    if settings.TEST_DB == "sqlite":
        expected = ["jimmypage.E008", "jimmypage.W005"]
    assert found == expected


@pytest.mark.parametrize(("alias", "expected"), [("immediate", "W004"), ("dummy", "W006")])
def test_tasks_backends_that_do_not_run_refreshes_in_workers(alias, expected):
    with pages_in(REDIS, JIMMY_PAGE_REFRESH_EXECUTOR="tasks", JIMMY_PAGE_TASKS_BACKEND=alias):
        assert ids(check_deployment()) == [f"jimmypage.{expected}"]


def test_an_unknown_executor_is_an_error():
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR="rq"):
        assert ids(check_settings()) == ["jimmypage.E005"]


def test_an_executor_of_the_wrong_type_is_an_error():
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR=None):
        assert ids(check_settings()) == ["jimmypage.E001"]


def test_an_unknown_tasks_backend_is_an_error():
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR="tasks", JIMMY_PAGE_TASKS_BACKEND="nope"):
        errors = check_settings()
    assert ids(errors) == ["jimmypage.E007"] and "nope" in errors[0].msg


@pytest.mark.parametrize("executor", ["tasks", "celery"])
def test_an_executor_whose_package_is_missing_is_an_error(executor, monkeypatch):
    monkeypatch.setattr(checks, "find_spec", lambda name: None)
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR=executor):
        assert ids(check_settings()) == ["jimmypage.E006"]


@pytest.mark.parametrize("executor", ["thread", "tasks", "celery"])
def test_each_executor_passes_when_installed(executor):
    pytest.importorskip("celery" if executor == "celery" else "jimmypage.tasks")
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR=executor):
        assert check_settings() == []
