"""Tracing through the ASGI middleware: a Starlette app, its route template names the transaction."""

from __future__ import annotations

import asyncio
from typing import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import integrations
import sdk_core
from integrations.asgi import AsgiMiddleware
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors

TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


async def _item(request: Request) -> PlainTextResponse:
    with sdk_core.start_span(op="db", name="fetch", attributes={"db.system": "postgresql"}):
        await asyncio.sleep(0)
    if request.path_params["item_id"] == 13:
        raise LookupError("unlucky")
    return PlainTextResponse("ok", status_code=202)


def _get(path: str, **headers: str) -> int:
    app = AsgiMiddleware(Starlette(routes=[Route("/items/{item_id:int}", _item)]))

    async def go() -> int:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await client.get(path, headers=headers)).status_code

    return asyncio.run(go())


def test_asgi_request_is_a_transaction_named_by_route_and_continues_the_trace() -> None:
    t = InMemoryTransport()
    sdk_core.init(transport=t, default_integrations=False, traces_sample_rate=1.0)
    assert _get("/items/7", traceparent=f"00-{TRACE_ID}-{SPAN_ID}-01") == 202
    assert _get("/items/13") == 500
    assert sdk_core.flush(5)
    ok, failed = t.transactions
    assert ok["transaction"] == "/items/{item_id:int}" and ok["transaction_info"] == {"source": "route"}
    trace = ok["contexts"]["trace"]
    assert trace["trace_id"] == TRACE_ID and trace["parent_span_id"] == SPAN_ID
    assert trace["op"] == "http.server" and trace["origin"] == "auto.http.asgi"
    assert trace["data"]["http.response.status_code"] == 202
    assert [s["op"] for s in ok["spans"]] == ["db"]
    assert failed["contexts"]["trace"]["status"] == "internal_error"
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == failed["contexts"]["trace"]["trace_id"]
    for tx in (ok, failed):
        assert conformance_errors(tx) == []
