"""System checks catch settings of the wrong type and an unknown cache alias."""

import pytest
from django.test import override_settings

from jimmypage import checks
from jimmypage.checks import check_deployment, check_settings

EXECUTOR_CHECKS = {"jimmypage.E006", "jimmypage.E007", "jimmypage.W004", "jimmypage.W006"}


def ids(errors):
    return [error.id for error in errors]


def test_default_settings_pass():
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JIMMY_PAGE_CACHE_SECONDS", "300"),
        ("JIMMY_PAGE_DISABLED", "no"),
        ("JIMMY_PAGE_EXPIRATION_WHITELIST", "auth_user"),
        ("JIMMY_PAGE_TASK_LOCK_EXPIRES", True),
        ("JIMMY_PAGE_STATUS_HEADER", 1),
    ],
)
def test_wrong_types_are_errors_naming_the_setting(name, value):
    with override_settings(**{name: value}):
        errors = check_settings()
    assert ids(errors) == ["jimmypage.E001"]
    assert name in errors[0].msg


@override_settings(JIMMY_PAGE_CACHE_ALIAS="nowhere")
def test_unknown_cache_alias():
    errors = check_settings()
    assert ids(errors) == ["jimmypage.E002"] and "nowhere" in errors[0].msg


@override_settings(JIMMY_PAGE_REFRESH_THREADS=0)
def test_no_refresh_threads():
    assert ids(check_settings()) == ["jimmypage.E003"]


@override_settings(JIMMY_PAGE_REFRESH_RETRY_SECONDS=-1)
def test_negative_retry_pause():
    errors = check_settings()
    assert ids(errors) == ["jimmypage.E003"] and "RETRY_SECONDS" in errors[0].msg


@override_settings(JIMMY_PAGE_REFRESH_RETRY_SECONDS=0.5)
def test_retry_pause_in_whole_seconds():
    assert ids(check_settings()) == ["jimmypage.E001"]


@override_settings(JIMMY_PAGE_MODE="per-page")
def test_unknown_mode():
    errors = check_settings()
    assert ids(errors) == ["jimmypage.E004"] and "per-page" in errors[0].msg


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_per_table_mode_is_valid():
    assert check_settings() == []


def test_every_setting_is_type_checked_and_documented():
    from pathlib import Path

    from jimmypage import conf
    from jimmypage.checks import _EXPECTED_TYPES

    page = (Path(__file__).parents[1] / "docs" / "settings.md").read_text()
    headings = " ".join(line for line in page.splitlines() if line.startswith("## "))
    assert set(_EXPECTED_TYPES) == set(conf.DEFAULTS)
    assert [name for name in conf.DEFAULTS if f"`{name}`" not in page] == []  # the table
    assert [name for name in conf.DEFAULTS if name not in headings.split()] == []


def test_the_tasks_executor_without_a_tasks_framework_is_one_error(monkeypatch):
    """E006 alone, not also W004 about the ImmediateBackend a missing framework would default
    to: one run of the checks must not contradict itself."""
    monkeypatch.setattr(checks, "find_spec", lambda name: None)  # Django 5.2, no django-tasks
    with override_settings(JIMMY_PAGE_REFRESH_EXECUTOR="tasks"):
        messages = check_settings() + check_deployment()
    # The cell's own cache backend may add its warning (FileBasedCache: W002): not ours to judge.
    about_the_executor = [m for m in messages if m.id in EXECUTOR_CHECKS]
    assert ids(about_the_executor) == ["jimmypage.E006"]
    assert "django-tasks" in about_the_executor[0].hint
