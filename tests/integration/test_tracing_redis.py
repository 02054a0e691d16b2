"""Tracing with redis-py against a real redis-server: commands are ``db.redis`` spans with key
names only (never values or credentials), sync and asyncio, pipelines as one span."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator

import pytest
import redis
import redis.asyncio

import integrations
import sdk_core
from integrations.redis import RedisIntegration
from tests.integration.conftest import REDIS_PASSWORD
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with

VALUE = "value-7d2f4b9a"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


def _spans(tx: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in tx["spans"] if s["op"] == "db.redis"]


def test_commands_are_db_redis_spans_with_key_names_only(redis_address: tuple[str, int]) -> None:
    host, port = redis_address
    t = init_with(RedisIntegration(), traces_sample_rate=1.0)
    client = redis.Redis(host=host, port=port, password=REDIS_PASSWORD)
    with sdk_core.start_span(op="task", name="cache"):
        client.set("user:1", VALUE)
        client.mset({"a": VALUE, "b": VALUE})
        pipe = client.pipeline()
        pipe.set("user:2", VALUE).incr("counter")
        pipe.execute()
        with pytest.raises(redis.ResponseError):
            client.incr("user:1")  # not an integer
    assert sdk_core.flush(5)
    (tx,) = t.transactions
    spans = _spans(tx)
    assert [s["description"] for s in spans] == ["SET user:1", "MSET a b", "PIPELINE", "INCRBY user:1"]
    first = spans[0]
    assert first["origin"] == "auto.db.redis" and first["status"] == "ok"
    assert first["data"]["db.system"] == "redis" and first["data"]["db.operation.name"] == "SET"
    assert first["data"]["db.redis.keys"] == ["user:1"]
    assert first["data"]["server.address"] == host and first["data"]["server.port"] == port
    assert spans[2]["data"]["db.redis.commands"] == ["SET user:2", "INCRBY counter"]
    assert spans[3]["status"] == "internal_error"
    text = json.dumps(tx)
    assert VALUE not in text and REDIS_PASSWORD not in text
    assert conformance_errors(tx) == []


def test_asyncio_commands_are_spans_of_the_current_trace(redis_address: tuple[str, int]) -> None:
    host, port = redis_address
    t = init_with(RedisIntegration(), traces_sample_rate=1.0)

    async def run() -> None:
        client = redis.asyncio.Redis(host=host, port=port, password=REDIS_PASSWORD)
        with sdk_core.start_span(op="task", name="async cache"):
            await client.set("cart:9", VALUE)
            async with client.pipeline() as pipe:
                await pipe.set("x", VALUE).get("x").execute()
        await client.get("cart:9")  # outside the trace: no span, no transaction
        await client.aclose()

    asyncio.run(run())
    assert sdk_core.flush(5)
    (tx,) = t.transactions
    assert [s["description"] for s in _spans(tx)] == ["SET cart:9", "PIPELINE"]
    assert VALUE not in json.dumps(tx)
