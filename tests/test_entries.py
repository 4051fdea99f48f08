"""Entries: a response stored as a plain tuple comes back as the response it was."""

import pytest
from django.http import HttpResponse

from jimmypage import entries


def round_trip(response: HttpResponse) -> HttpResponse:
    return entries.to_response(entries.page_entry(response, None))


@pytest.fixture(params=[True, False], ids=["headers-as-stored", "headers-checked"])
def both_ways(request, monkeypatch):
    """Both ways of setting the stored headers (the second where Django's internals differ)."""
    monkeypatch.setattr(entries, "_HEADERS_STORE", request.param and entries._HEADERS_STORE)


@pytest.mark.usefixtures("both_ways")
def test_a_response_comes_back_with_its_status_headers_and_body():
    original = HttpResponse(b"<p>hi</p>", status=203, content_type="text/html; charset=utf-8")
    original["X-Frame-Options"] = "DENY"
    original["Vary"] = "Cookie, Accept-Language"
    original["x-lower-case"] = "kept as spelled"
    again = round_trip(original)
    assert again.status_code == 203 and again.content == b"<p>hi</p>"
    assert list(again.headers.items()) == list(original.headers.items())
    assert again["x-frame-options"] == "DENY" and again.has_header("X-LOWER-CASE")
    again["Age"] = "3"  # the copy's headers are its own
    assert "Age" not in original and "Age" not in round_trip(original)


def test_a_response_without_content_type_gets_none_on_a_hit():
    original = HttpResponse(b"", status=200)
    del original["Content-Type"]
    assert "Content-Type" not in round_trip(original)
