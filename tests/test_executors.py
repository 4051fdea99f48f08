"""Choosing the executor, and what the task executors send: plain data, after commit.

These run in this process with any database and cache; ``test_workers`` runs real workers.
"""

import json
import logging

import pytest
from django.core.cache import caches
from django.db import transaction
from django.test import Client, override_settings

from jimmypage import executors, generations, keys, log, refresh
from tests.processes import require_module
from tests.testapp.models import Article
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")


def _require_tasks() -> None:
    from importlib.util import find_spec

    if find_spec("django.tasks") is None:
        require_module("django_tasks")


@pytest.fixture
def dummy_tasks():
    """The ``dummy`` task backend of the test settings, emptied: it records what is enqueued."""
    _require_tasks()
    from jimmypage import tasks

    backend = tasks.refresh_page.using(backend="dummy").get_backend()
    backend.results.clear()
    yield backend
    backend.results.clear()


def _stale_page(client: Client, url: str = "/page/") -> None:
    client.get(url)
    Article.objects.create(title="new")


def _lock_for(response) -> str:
    """The refresh lock of the page ``response`` answered, at the current generation."""
    return keys.lock_key(keys.base_key(response.wsgi_request), generations.read())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("thread", executors.ThreadExecutor),
        ("tasks", executors.TasksExecutor),
        ("celery", executors.CeleryExecutor),
    ],
)
def test_the_setting_chooses_the_executor(name, kind):
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR=name):
        assert isinstance(executors.executor(), kind)


@override_settings(JIMMY_PAGE_REFRESH_EXECUTOR="nowhere")
def test_an_unknown_executor_falls_back_to_threads_and_says_so(caplog):
    caplog.set_level(logging.ERROR, logger="jimmypage")
    log._last_error_at.clear()
    assert isinstance(executors.executor(), executors.ThreadExecutor)
    assert any("'nowhere'" in record.getMessage() for record in caplog.records)


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="dummy",
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_a_task_carries_plain_data_and_the_worker_side_renders_it(dummy_tasks):
    client = Client()
    _stale_page(client)
    assert client.get("/page/")[STATUS] == "stale"
    [result] = dummy_tasks.results
    assert result.task.module_path == "jimmypage.tasks.refresh_page"
    assert result.kwargs == {}
    data, lock = result.args
    assert json.loads(json.dumps([data, lock])) == [data, lock], "JSON, nothing else"
    assert refresh.Snapshot.from_data(data).path_info == "/page/"
    assert caches["default"].get(lock) is not None, "the lock stands until the task ran"
    renders = RENDERS["page"]
    assert result.task.call(*result.args) == refresh.STORED  # what a worker does
    assert RENDERS["page"] == renders + 1
    assert caches["default"].get(lock) is None
    assert client.get("/page/")[STATUS] == "hit"


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="dummy",
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_a_task_is_enqueued_when_the_transaction_commits(dummy_tasks):
    client = Client()
    _stale_page(client)
    with transaction.atomic():
        response = client.get("/page/")
        assert response[STATUS] == "stale"
        lock = _lock_for(response)
        assert dummy_tasks.results == [], "not before the commit"
        assert caches["default"].get(lock) is None, "nor is the lock taken"
    [result] = dummy_tasks.results
    assert result.args[1] == lock
    assert caches["default"].get(lock) is not None


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="dummy",
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_a_rolled_back_request_enqueues_nothing_and_leaves_no_lock(dummy_tasks):
    client = Client()
    _stale_page(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert client.get("/page/")[STATUS] == "stale"
        raise RuntimeError("the request failed")
    assert dummy_tasks.results == []
    assert client.get("/page/")[STATUS] == "stale"
    [result] = dummy_tasks.results
    assert caches["default"].get(result.args[1]) is not None


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="immediate",
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_the_immediate_backend_refreshes_inside_the_request():
    _require_tasks()
    client = Client()
    _stale_page(client)
    assert client.get("/page/")[STATUS] == "stale"
    assert client.get("/page/")[STATUS] == "hit", "no thread to wait for: it already ran"


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="nowhere",
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_a_queue_that_refuses_the_task_frees_the_lock_and_logs(caplog):
    _require_tasks()
    caplog.set_level(logging.WARNING, logger="jimmypage")
    log._last_error_at.clear()
    client = Client()
    _stale_page(client)
    assert client.get("/page/")[STATUS] == "stale"
    messages = [record.getMessage() for record in caplog.records]
    assert any("could not enqueue a refresh with the tasks executor" in m for m in messages)
    assert any("stays stale for now" in m for m in messages)
    response = client.get("/page/")
    assert response[STATUS] == "stale"
    assert caches["default"].get(_lock_for(response)) is None, "freed: later requests retry"


@override_settings(JIMMY_PAGE_REFRESH_EXECUTOR="celery", JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_celery_task_carries_plain_json_and_the_worker_side_renders_it(monkeypatch):
    require_module("celery")
    import tests.celery_app  # noqa: F401  (the project's Celery app, as its celery.py)
    from jimmypage import celery_tasks

    sent = []
    task = celery_tasks.refresh_page._get_current_object()
    monkeypatch.setattr(
        task, "apply_async", lambda args=None, **options: sent.append((args, options))
    )
    client = Client()
    _stale_page(client)
    assert client.get("/page/")[STATUS] == "stale"
    [(args, options)] = sent
    assert options["serializer"] == "json"
    data, lock = args
    assert json.loads(json.dumps([data, lock])) == [data, lock]
    assert celery_tasks.refresh_page.name == "jimmypage.refresh_page"
    assert celery_tasks.refresh_page(data, lock) == refresh.STORED  # what a worker does
    assert client.get("/page/")[STATUS] == "hit"


@override_settings(
    JIMMY_PAGE_REFRESH_EXECUTOR="tasks",
    JIMMY_PAGE_TASKS_BACKEND="dummy",
    JIMMY_PAGE_TASK_QUEUE="pages",
)
def test_the_task_queue_setting_names_the_queue(dummy_tasks):
    client = Client()
    _stale_page(client)
    client.get("/page/")
    [result] = dummy_tasks.results
    assert result.task.queue_name == "pages"
