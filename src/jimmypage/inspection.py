"""What the cache holds for a request, read without rendering: ``manage.py jimmypage inspect``."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from . import backend, conf, entries, generations, keys, users


def view_name(request: HttpRequest) -> str | None:
    try:
        return resolve(request.path_info)._func_path
    except Resolver404:
        return None


def inspect_page(request: HttpRequest) -> dict:
    """What the cache holds for ``request``, read the way ``PageCache.lookup`` reads it."""
    base = keys.base_key(request)
    report = {
        "url": request.build_absolute_uri(),
        "language": translation.get_language(),
        "time_zone": timezone.get_current_timezone_name(),
        "key": base,
        "vary": None,
        "variant_key": None,
        "entry": None,
    }
    generation_keys = generations.fetch_keys(())
    found = backend.get_many([base, *generation_keys, *users.fetch_keys(request)])
    if found is None:
        raise CommandError(f"The cache {conf.cache_alias()!r} is unavailable.")
    global_token = found.get(generation_keys[0])
    entry = found.get(base)
    if entries.is_vary_marker(entry):
        meta_names = entry[1]
        report["vary"] = [header_name(name) for name in meta_names]
        report["variant_key"] = keys.variant_key(base, request, meta_names)
        entry = backend.get(report["variant_key"])
    if not entries.is_page(entry):
        return report
    stamp = entries.stamp_of(entry)
    needed = generations.needed_keys(stamp)
    tokens = {**found, **(backend.get_many(list(needed)) or {})} if needed else found
    status, headers, body = entry[1:4]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    report.update(
        entry="page",
        status_code=status,
        content_type=content_type,
        size=len(body),
        stamp=users.inner(stamp),
        generation=global_token,
        fresh=generations.is_fresh(stamp, global_token, tokens, [*generation_keys, *needed]),
        age=entries.age_of(entry),
        changed_tables=changed_tables(users.inner(stamp), tokens),
    )
    return report


def changed_tables(stamp, tokens: dict) -> list[str]:
    """The tables of a per-table stamp whose generation changed since the page was rendered."""
    if type(stamp) is not tuple:
        return []
    return [table for table, token in stamp[1] if tokens.get(generations.table_key(table)) != token]


def header_name(meta_name: str) -> str:
    """``HTTP_ACCEPT_LANGUAGE`` -> ``Accept-Language``."""
    name = meta_name.removeprefix("HTTP_")
    return "-".join(part.capitalize() for part in name.split("_"))


def format_stamp(stamp) -> str:
    if type(stamp) is not tuple:
        return f"{stamp} (global generation)"
    global_token, tables = stamp
    listed = ", ".join(f"{table}={token}" for table, token in tables) or "no table"
    return f"{global_token} (global), tables read: {listed}"


def freshness(report: dict) -> str:
    if report["fresh"]:
        return "yes: requests are served this page (hit)"
    why = "the generations changed since it was rendered"
    if report["generation"] is None:
        why = "the generation is missing from the cache"
    elif type(report["stamp"]) is not tuple:
        why = "a write (or invalidate) changed the generation since it was rendered"
    elif report["stamp"][0] != report["generation"]:
        why = "every page was made stale since it was rendered"
    elif report["changed_tables"]:
        why = f"{', '.join(report['changed_tables'])} changed since it was rendered"
    return f"no, stale: {why}; the next request is served it and starts a refresh"
