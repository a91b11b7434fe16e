"""The real-server fixtures themselves work (so a cluster test failure is never the harness)."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from tests.realservers import Redis


async def test_postgres_gives_each_test_an_empty_database(pg_url: str) -> None:
    """A fresh database answers queries and has no table."""
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'") == 0
    finally:
        await conn.close()


async def test_redis_stops_and_starts_again(redis_server: Redis) -> None:
    """The Redis fixture can be stopped and started on the same port."""
    for _ in range(2):
        client = aioredis.from_url(redis_server.url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        redis_server.stop()
        redis_server.start_again()
