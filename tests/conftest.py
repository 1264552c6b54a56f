"""Fixtures of the cross-app tests."""

from collections.abc import Iterator

import pytest

from tests.redisserver import RedisServer


@pytest.fixture
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A private redis-server (tests/redisserver.py), started, and killed after the test."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
