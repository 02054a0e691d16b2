from __future__ import annotations

from typing import Any, Iterator

import pytest

import sdk_core
from sdk_core import _api, scope
from sdk_core.transport.memory import InMemoryTransport
from tests.support.loopback import LoopbackServer


@pytest.fixture(autouse=True)
def _reset_sdk() -> Iterator[None]:
    """Every test starts and ends with no client and empty scopes."""
    sdk_core.close(0.5)
    scope._reset_for_tests()
    yield
    sdk_core.close(0.5)
    scope._reset_for_tests()


@pytest.fixture
def memory() -> Iterator[InMemoryTransport]:
    transport = InMemoryTransport()
    yield transport


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def _client() -> Any:
    return _api.get_client()
