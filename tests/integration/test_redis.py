"""redis-py, sync and asyncio, against a real redis-server on a loopback port: key names only in
breadcrumbs, host and port (never the password) on connection errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio

import sdk_core
from integrations import _patch
from integrations.redis import RedisIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.integration.conftest import REDIS_PASSWORD
from tests.support.sdk import init_with
from tests.support.servers import free_port

PASSWORD = REDIS_PASSWORD
VALUE = "value-7d2f4b9a"


@pytest.fixture
def server(redis_address: tuple[str, int]) -> tuple[str, int]:
    return redis_address


def _init(integration: RedisIntegration | None = None) -> InMemoryTransport:
    return init_with(integration or RedisIntegration())


def _event(transport: InMemoryTransport) -> dict[str, Any]:
    assert sdk_core.flush(5.0)
    (event,) = transport.events
    return event


def _redis_crumbs(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "redis"]


def test_sync_commands_are_breadcrumbs_with_key_names_only(server: tuple[str, int]) -> None:
    transport = _init()
    client = redis.Redis(host=server[0], port=server[1], password=PASSWORD)
    client.set("user:1", VALUE)
    assert client.get("user:1") == VALUE.encode()
    client.mset({"a": VALUE, "b": VALUE})
    client.hset("profile:1", "email", VALUE)
    client.delete("a", "b")
    pipe = client.pipeline()
    pipe.set("user:2", VALUE).incr("counter")
    pipe.execute()
    sdk_core.capture_message("after commands")
    event = _event(transport)
    messages = [c["message"] for c in _redis_crumbs(event)]
    assert messages == ["SET user:1", "GET user:1", "MSET a b", "HSET profile:1", "DEL a b", "PIPELINE"]
    assert _redis_crumbs(event)[0]["data"] == {"redis.command": "SET", "redis.keys": ["user:1"]}
    pipeline = _redis_crumbs(event)[-1]["data"]
    assert pipeline["redis.commands"] == ["SET user:2", "INCRBY counter"]
    assert pipeline["redis.transaction"] is True
    assert_no_secrets(event, [VALUE, PASSWORD])


def test_asyncio_commands_are_breadcrumbs_too(server: tuple[str, int]) -> None:
    transport = _init()

    async def run() -> None:
        client = redis.asyncio.Redis(host=server[0], port=server[1], password=PASSWORD)
        await client.set("cart:9", VALUE)
        await client.get("cart:9")
        async with client.pipeline() as pipe:
            await pipe.set("x", VALUE).get("x").execute()
        await client.aclose()
        sdk_core.capture_message("after async commands")

    asyncio.run(run())
    event = _event(transport)
    assert [c["message"] for c in _redis_crumbs(event)] == ["SET cart:9", "GET cart:9", "PIPELINE"]
    assert _redis_crumbs(event)[-1]["data"]["redis.commands"] == ["SET x", "GET x"]
    assert_no_secrets(event, [VALUE, PASSWORD])


def test_connection_errors_carry_host_and_port_but_never_the_password() -> None:
    transport = _init()
    port = free_port()
    client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, retry=None)
    with pytest.raises(redis.ConnectionError) as caught:
        client.get("user:1")
    sdk_core.capture_exception(caught.value)
    event = _event(transport)
    assert event["contexts"]["redis"] == {"host": "127.0.0.1", "port": port, "db": 0}
    failed = _redis_crumbs(event)[-1]
    assert failed["level"] == "error" and failed["message"] == "GET user:1"
    assert_no_secrets(event, [PASSWORD])


def test_async_connection_errors_carry_host_and_port() -> None:
    transport = _init()
    port = free_port()

    async def run() -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=port, password=PASSWORD, retry=None)
        try:
            await client.ping()
        except redis.ConnectionError as exc:
            sdk_core.capture_exception(exc)
        await client.aclose()

    asyncio.run(run())
    event = _event(transport)
    assert event["contexts"]["redis"]["port"] == port
    assert_no_secrets(event, [PASSWORD])


def test_setup_is_idempotent_and_uninstall_restores_redis(server: tuple[str, int]) -> None:
    integration = RedisIntegration()
    transport = _init(integration)
    integration.setup_once()
    client = redis.Redis(host=server[0], port=server[1], password=PASSWORD)
    client.get("one")
    integration.uninstall()
    assert not _patch.is_wrapped(redis.Redis, "execute_command")
    client.get("two")
    sdk_core.capture_message("done")
    assert [c["message"] for c in _redis_crumbs(_event(transport))] == ["GET one"]
