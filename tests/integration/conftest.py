from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.servers import redis_server

REDIS_PASSWORD = "redis-pw-5c1e8a"


@pytest.fixture(scope="session")
def redis_address() -> Iterator[tuple[str, int]]:
    """A private redis-server (password ``REDIS_PASSWORD``) on a free loopback port, in a
    temporary directory; stopped at the end of the session."""
    with redis_server(password=REDIS_PASSWORD) as address:
        yield address
