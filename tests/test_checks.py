"""System checks catch settings of the wrong type and an unknown cache alias."""

import pytest
from django.test import override_settings

from jimmypage.checks import check_settings


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


@override_settings(JIMMY_PAGE_MODE="per-page")
def test_unknown_mode():
    errors = check_settings()
    assert ids(errors) == ["jimmypage.E004"] and "per-page" in errors[0].msg


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_per_table_mode_is_valid():
    assert check_settings() == []
