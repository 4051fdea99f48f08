"""What ``manage.py jimmypage`` says about what it assumed, so that its answers are not misread."""

from __future__ import annotations

from jimmypage import conf


def assumed_host_note(host: str, why: str) -> str:
    """Says that ``inspect`` chose the host: a page is keyed by the Host a browser sends."""
    return (
        f"{host}, assumed ({why}); pages are keyed by the Host header browsers send, port "
        "included: give --host HOST[:PORT] (e.g. --host 127.0.0.1:8000) if yours differs"
    )


def flush_note() -> str:
    """When the other processes' counts reach the totals: ``stats`` shows none of theirs before."""
    seconds = conf.get("JIMMY_PAGE_STATS_FLUSH_SECONDS")
    if not seconds:
        return (
            "JIMMY_PAGE_STATS_FLUSH_SECONDS is 0: other processes add their counts only when "
            "they call jimmypage.stats.flush(), so these totals may miss them."
        )
    return (
        f"Each process adds its counts every {seconds:g} s (JIMMY_PAGE_STATS_FLUSH_SECONDS): "
        f"traffic of the last {seconds:g} s may not be counted yet."
    )
