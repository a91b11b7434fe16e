"""One database per test module with empty cluster tables before each test, for the lease,
node and keeper tests (creating a database per test is slow). Import the fixtures into a
test module to use them: ``pg_url`` there overrides the per-test database of conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from riskd.cluster import nodes
from tests.realservers import Postgres


@pytest.fixture(scope="module")
def module_db(postgres: Postgres) -> str:
    """One database for this module (creating one per test is slow)."""
    return postgres.new_database()


@pytest.fixture
async def pg_url(module_db: str) -> str:
    """This module's database with empty cluster tables (overrides the per-test database)."""
    conn = await asyncpg.connect(module_db)
    try:
        await nodes.ensure_schema(conn)
        await conn.execute("TRUNCATE riskd_nodes, riskd_leases")
    finally:
        await conn.close()
    return module_db


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to that database, its cluster tables created."""
    c = await asyncpg.connect(pg_url)
    await nodes.ensure_schema(c)
    try:
        yield c
    finally:
        await c.close()


__all__ = ["conn", "module_db", "pg_url"]
