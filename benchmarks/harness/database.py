"""The benchmark's own PostgreSQL database and Redis database: created, emptied, seeded."""

from __future__ import annotations

import os

import psycopg
import redis

PG_DB = os.environ.get("BENCH_PG_DB", "jimmypage_bench")
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def recreate_database() -> None:
    """Drop and create the benchmark database, connecting to the ``postgres`` database."""
    with psycopg.connect(
        host=PG_HOST, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{PG_DB}"')


def postgres_version() -> str:
    with psycopg.connect(host=PG_HOST, user="postgres", dbname="postgres") as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def redis_client() -> redis.Redis:
    """A client of the benchmark's Redis database (only that database is ever flushed)."""
    return redis.Redis.from_url(REDIS_URL)


def flush_redis() -> None:
    redis_client().flushdb()
