"""The cluster tests run against real PostgreSQL and Redis servers (tests/realservers.py)."""

from tests.realservers import pg_url, postgres, redis_server

__all__ = ["pg_url", "postgres", "redis_server"]
