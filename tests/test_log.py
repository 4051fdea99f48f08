"""``JIMMY_PAGE_DEBUG_CACHE`` logs every decision with its reason."""

import logging

import pytest
from django.test import Client, override_settings

from tests.testapp.models import Article

pytestmark = pytest.mark.usefixtures("clean_state")


def messages(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "jimmypage"]


@override_settings(JIMMY_PAGE_DEBUG_CACHE=True)
def test_every_decision_is_logged(caplog, settle):
    client = Client()
    with caplog.at_level(logging.DEBUG, logger="jimmypage"):
        client.get("/page/")
        client.get("/page/")
        Article.objects.create(title="new")
        client.get("/page/")
        settle()
        client.post("/page/")
        client.get("/cookie/")
    logged = messages(caplog)
    assert "miss GET /page/ (no entry)" in logged
    assert "hit GET /page/ (fresh)" in logged
    assert "stale GET /page/ (refresh started)" in logged
    assert "bypass POST /page/ (method POST)" in logged
    assert "not stored GET /cookie/ (response sets cookies)" in logged


def test_nothing_is_logged_by_default(caplog):
    with caplog.at_level(logging.DEBUG, logger="jimmypage"):
        Client().get("/page/")
    assert messages(caplog) == []
