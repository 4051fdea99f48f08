"""Replicas without servers (issue 13): the render router, the checks, the cluster's key tags and
the failover guard's rule. The same, against real servers, is in tests/scaling/."""

from __future__ import annotations

import pytest
from django.core.cache.backends.redis import RedisCache
from django.core.signals import request_started
from django.db import router
from django.test import override_settings

from jimmypage import generations, replicas
from jimmypage.backends.cluster import tagged_key
from jimmypage.backends.failover import FailoverGuard, parse_run_id, primary_key
from jimmypage.checks import check_settings
from jimmypage.scaling_checks import check_replicas
from tests.testapp.models import Article

ROUTERS = ["tests.scaling.routers.PrimaryReplicaRouter"]
REDIS = "django.core.cache.backends.redis.RedisCache"
TWO_SERVERS = "redis://127.0.0.1:1/0,redis://127.0.0.1:2/0"


def ids(messages) -> list[str]:
    return [message.id for message in messages]


@override_settings(DATABASE_ROUTERS=ROUTERS)
def test_a_render_reads_where_the_site_writes_and_only_while_it_runs():
    assert router.db_for_read(Article) == "jp_replica"
    replicas.pin()
    try:
        assert router.db_for_read(Article) == "jp_primary"
        assert router.db_for_read(Article, instance=Article()) == "jp_primary"
    finally:
        replicas.unpin()
    assert router.db_for_read(Article) == "jp_replica"
    with replicas.on_primary():
        assert router.db_for_read(Article) == "jp_primary"
        replicas.pin()
        replicas.unpin()  # the page is stored: the refresh's own pin still holds
        assert router.db_for_read(Article) == "jp_primary"
    assert router.db_for_read(Article) == "jp_replica"


@override_settings(DATABASE_ROUTERS=ROUTERS, JIMMY_PAGE_RENDER_ON_PRIMARY=False)
def test_renders_follow_the_sites_routers_when_turned_off():
    replicas.pin()
    with replicas.on_primary():
        assert router.db_for_read(Article) == "jp_replica"
    replicas.unpin()


@override_settings(DATABASE_ROUTERS=ROUTERS)
def test_a_pin_left_by_a_render_that_raised_ends_with_the_next_request():
    replicas.pin()
    request_started.send(sender=None)
    assert router.db_for_read(Article) == "jp_replica"


def test_w007_renders_on_replicas():
    with override_settings(DATABASE_ROUTERS=ROUTERS, JIMMY_PAGE_RENDER_ON_PRIMARY=False):
        assert "jimmypage.W007" in ids(check_replicas())
    with override_settings(DATABASE_ROUTERS=ROUTERS):
        assert "jimmypage.W007" not in ids(check_replicas())
    with override_settings(JIMMY_PAGE_RENDER_ON_PRIMARY=False):
        assert "jimmypage.W007" not in ids(check_replicas())  # no routers: no replica


def test_render_on_primary_must_be_a_bool():
    with override_settings(JIMMY_PAGE_RENDER_ON_PRIMARY="yes"):
        assert "jimmypage.E001" in ids(check_settings())


@pytest.mark.parametrize(
    ("backend", "location", "warned"),
    [
        ("django_redis.cache.RedisCache", TWO_SERVERS, True),
        ("django_redis.cache.RedisCache", "redis://127.0.0.1:1/0", False),
        (REDIS, TWO_SERVERS, False),  # jimmypage reads the first LOCATION
        ("tests.test_replicas.ReadingRedisCache", TWO_SERVERS, True),
        ("jimmypage.backends.RedisSentinelCache", TWO_SERVERS, False),
        ("jimmypage.backends.RedisClusterCache", TWO_SERVERS, False),
    ],
)
def test_w008_generations_read_from_redis_replicas(backend, location, warned):
    caches = {"default": {"BACKEND": backend, "LOCATION": location}}
    with override_settings(CACHES=caches):
        assert ("jimmypage.W008" in ids(check_replicas())) is warned


class ReadingRedisCache(RedisCache):
    """A site's subclass: jimmypage goes through its methods, which read replicas."""

    def get_many(self, keys, version=None):
        return super().get_many(keys, version)


def test_the_cluster_key_function_tags_jimmypages_keys_only():
    assert tagged_key("jimmypage:page:abc", "", 1) == ":1:{jimmypage}:page:abc"
    assert tagged_key("jimmypage:gen", "site", 2) == "site:2:{jimmypage}:gen"
    assert tagged_key("jimmypage", "", 1) == ":1:{jimmypage}"
    assert tagged_key("jimmypages:other", "", 1) == ":1:jimmypages:other"
    assert tagged_key("sessions:abc", "", 1) == ":1:sessions:abc"


def test_parse_run_id():
    assert parse_run_id(b"# Server\r\nredis_version:7.0\r\nrun_id:abc123\r\n") == "abc123"
    assert parse_run_id({"run_id": "def456"}) == "def456"


class FakeServer:
    """Runs GET and SET on a dict, as a Redis server would."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def run(self, command: str, key: str, value=None):
        if command == "GET":
            return self.data.get(key)
        self.data[key] = value
        return True


def test_the_failover_guard_makes_pages_stale_once_per_new_primary():
    server = FakeServer()
    guard = FailoverGuard(lambda key: f":1:{key}", lambda value: value, lambda value: value)
    generation = f":1:{generations.generation_key()}"
    server.data[generation] = "before"
    assert guard.claim(server.run, "first primary")  # nobody claimed it: stale once
    first = server.data[generation]
    assert first != "before"
    assert server.data[f":1:{primary_key()}"] == "first primary"
    assert not guard.claim(server.run, "first primary")  # the same primary: nothing changes
    assert server.data[generation] == first
    assert guard.claim(server.run, "promoted replica")  # a failover: stale once more
    assert server.data[generation] not in (first, "before")
    assert not guard.claim(server.run, "promoted replica")
