"""What is never cached: each rule with a response that breaks it."""

import pytest
from django.test import Client, override_settings

from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.filterwarnings("ignore"),
]


def twice(path, **extra):
    client = Client()
    client.get(path, **extra)
    return client.get(path, **extra)


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
@pytest.mark.parametrize(
    "query",
    [
        "status=404",
        "status=500",
        "status=301",
        "status=203",
        "h=Cache-Control:private",
        "h=Cache-Control:no-cache",
        "h=Cache-Control:max-age=60, no-store",
        "h=Vary:*",
        "h=Vary:Accept-Encoding, Cookie",
        "h=Pragma:no-cache",
    ],
)
def test_responses_that_are_never_stored(query):
    response = twice(f"/headers/?{query}")
    assert response[STATUS] == "miss"
    assert RENDERS["headers_page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_harmless_headers_are_stored_and_replayed():
    response = twice("/headers/?h=Cache-Control:max-age=60&h=X-Extra:kept")
    assert response[STATUS] == "hit"
    assert response["X-Extra"] == "kept" and response["Cache-Control"] == "max-age=60"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_response_setting_a_cookie_is_not_stored():
    assert twice("/cookie/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_streaming_response_is_not_stored():
    assert twice("/streaming/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_render_that_used_the_csrf_token_is_not_stored():
    first = Client().get("/csrf/")
    second = Client().get("/csrf/")
    assert second[STATUS] == "miss"
    assert first.content != second.content, "each visitor gets their own token"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_template_that_uses_csrf_token_is_not_stored():
    assert twice("/csrf-template/")[STATUS] == "miss"
    assert RENDERS["csrf_template_page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_request_with_pending_messages_bypasses():
    client = Client()
    client.get("/messages/")
    client.get("/add-message/")
    with_message = client.get("/messages/")
    assert with_message[STATUS] == "bypass" and b"hello" in with_message.content
    assert client.get("/messages/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_render_that_adds_a_message_is_not_stored():
    client = Client()
    assert client.get("/adds-message/")[STATUS] == "miss"
    assert Client().get("/adds-message/")[STATUS] == "miss"
