"""Database read replicas: a page is never rendered from a replica behind the write that made it
stale (issue 13).

A real PostgreSQL primary and streaming replica (its replay 200 ms behind), and a real router
that sends the test app's reads to the replica. Each round writes a new title, lets the page be
rendered at once (a refresh, or a miss), waits until the replica has the title too, and asks
again: a page served as fresh without the title is stuck-stale. With
``JIMMY_PAGE_RENDER_ON_PRIMARY`` off (the code before issue 13), most rounds end stuck; with it,
none does.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import DatabaseError, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tests.processes import until
from tests.testapp.models import Article

from .conftest import figure
from .routers import PRIMARY, REPLICA

STATUS = "X-Jimmy-Page"
ROUNDS = 5
SITE = {
    "ROOT_URLCONF": "tests.scaling.views",
    "DATABASE_ROUTERS": ["tests.scaling.routers.PrimaryReplicaRouter"],
    "JIMMY_PAGE_STATUS_HEADER": STATUS,
}
pytestmark = [pytest.mark.backend_server]


def replica_has(title: str) -> bool:
    try:
        return Article.objects.using(REPLICA).filter(title=title).exists()
    except DatabaseError:  # the table itself is not replayed yet
        return False


def wait_for_replica(title: str) -> None:
    until(lambda: replica_has(title), 30, f"the replica to replay {title!r}", interval=0.02)


def get(client: Client, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    return response[STATUS], response.content.decode()


def stuck_after_refreshes(client: Client, path: str, manual_refreshes) -> int:
    """Rounds whose refresh, run right after the write, stored an old page as fresh."""
    article = fresh_article("round 0")
    assert get(client, path)[0] == "miss"
    stuck = 0
    for number in range(1, ROUNDS + 1):
        title = f"round {number}"
        Article.objects.filter(pk=article.pk).update(title=title)  # on the primary
        assert get(client, path)[0] == "stale"
        manual_refreshes.run()  # at once: the replica is 200 ms behind
        wait_for_replica(title)
        status, body = get(client, path)
        stuck += status == "hit" and title not in body
    return stuck


def stuck_after_misses(client: Client, path: str) -> int:
    """Rounds whose miss, rendered right after the write, stored an old page as fresh."""
    article = fresh_article("round 0")
    stuck = 0
    for number in range(1, ROUNDS + 1):
        title = f"round {number}"
        caches["default"].clear()  # the next request is a miss
        Article.objects.filter(pk=article.pk).update(title=title)
        assert get(client, path)[0] == "miss"
        wait_for_replica(title)
        status, body = get(client, path)
        stuck += status == "hit" and title not in body
    return stuck


def fresh_article(title: str) -> Article:
    Article.objects.using(PRIMARY).all().delete()
    article = Article.objects.create(title=title)
    assert article._state.db == PRIMARY
    wait_for_replica(title)
    return article


@pytest.mark.parametrize("path", ["/titles/", "/titles-template/"])
@pytest.mark.parametrize("on_primary", [True, False], ids=["fix", "without-fix"])
def test_a_refresh_right_after_a_write_never_stores_the_replicas_old_data(
    replica_databases, manual_refreshes, path, on_primary
):
    with override_settings(**SITE, JIMMY_PAGE_RENDER_ON_PRIMARY=on_primary):
        stuck = stuck_after_refreshes(Client(), path, manual_refreshes)
    figure(f"database replica, refreshes, {path}, on_primary={on_primary}", stuck=stuck)
    if on_primary:
        assert stuck == 0
    else:
        assert stuck > 0, "the replica's delay should have made the old code store old pages"


@pytest.mark.parametrize("on_primary", [True, False], ids=["fix", "without-fix"])
def test_a_miss_right_after_a_write_never_stores_the_replicas_old_data(
    replica_databases, on_primary
):
    with override_settings(**SITE, JIMMY_PAGE_RENDER_ON_PRIMARY=on_primary):
        stuck = stuck_after_misses(Client(), "/titles-template/")
    figure(f"database replica, misses, on_primary={on_primary}", stuck=stuck)
    if on_primary:
        assert stuck == 0
    else:
        assert stuck > 0, "the replica's delay should have made the old code store old pages"


def test_reads_outside_renders_follow_the_sites_routers(replica_databases):
    """A bypassed request (a POST) renders nothing to store: its reads stay on the replica,
    while a miss reads the primary."""
    with override_settings(**SITE):
        fresh_article("routed")
        client = Client()
        for method, status, database in (("post", "bypass", REPLICA), ("get", "miss", PRIMARY)):
            with CaptureQueriesContext(connections[database]) as queries:
                response = getattr(client, method)("/titles/")
            assert response[STATUS] == status
            assert any("testapp_article" in query["sql"] for query in queries), database


def test_the_router_is_back_in_front_after_the_routers_change(replica_databases):
    from django.db import router

    from jimmypage.replicas import PrimaryWhileRendering

    with override_settings(**SITE):
        fresh_article("first")
        Client().get("/titles/")
        assert isinstance(router.routers[0], PrimaryWhileRendering)
