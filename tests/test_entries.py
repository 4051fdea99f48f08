"""Entries: a response stored as a plain tuple comes back as the response it was."""

import pytest
from django.http import BadHeaderError, HttpResponse

from jimmypage import entries


def round_trip(response: HttpResponse) -> HttpResponse:
    return entries.to_response(entries.page_entry(response, None))


@pytest.fixture(params=["made", "headers-as-stored", "headers-checked"])
def each_way(request, monkeypatch):
    """Each way of making a hit's response (the later ones where Django's internals differ)."""
    if request.param != "made":
        monkeypatch.setattr(entries, "_FIXED", None)
    if request.param == "headers-checked":
        monkeypatch.setattr(entries, "_HEADERS_STORE", False)


@pytest.mark.usefixtures("each_way")
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


def test_a_response_made_from_its_parts_is_one_the_constructor_would_make():
    assert entries._FIXED is not None, "Django's HttpResponse has an unknown attribute"
    original = HttpResponse(b"body", status=201, headers={"X-A": "1"})
    made = round_trip(original)
    built = HttpResponse(b"body", status=201, headers=dict(original.headers.items()))
    assert vars(made).keys() == vars(built).keys()
    for name, value in vars(built).items():
        if name not in ("headers", "cookies"):
            assert vars(made)[name] == value, name
    assert made.headers == built.headers and made.text == "body" and not made.cookies


def test_each_response_made_owns_its_mutable_parts():
    entry = entries.page_entry(HttpResponse(b"body"), None)
    first, second = entries.to_response(entry), entries.to_response(entry)
    first["X-Added"] = "1"
    first.set_cookie("c", "1")
    first.write(b" more")
    first._resource_closers.append(print)
    assert "X-Added" not in second and not second.cookies
    assert second.content == b"body" and second._resource_closers == []


def test_hits_use_the_constructor_when_a_new_response_holds_unknown_state(monkeypatch):
    monkeypatch.setitem(entries._DEFAULTS, "_new_in_django", [])
    assert entries._fixed_attributes() is None


def test_a_plain_header_is_set_as_django_would_set_it():
    made, checked = HttpResponse(), HttpResponse()
    entries.set_plain_header(made, "X-Jimmy-Page", "hit")
    checked["X-Jimmy-Page"] = "hit"
    assert list(made.headers.items()) == list(checked.headers.items())


def test_a_header_that_is_not_plain_goes_through_djangos_checks():
    response = HttpResponse()
    entries.set_plain_header(response, "X-Name", "café")
    assert response["X-Name"] == "café"  # latin-1: Django accepts it
    with pytest.raises(BadHeaderError):
        entries.set_plain_header(response, "X-Name", "a\r\nSet-Cookie: x=1")
    assert response["X-Name"] == "café"
