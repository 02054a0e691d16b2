"""Tracing through aiohttp (real servers on loopback): requests are ``http.server`` transactions
named by route that continue the caller's trace; client requests are ``http.client`` spans that
carry trace headers to ``trace_propagation_targets`` only."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

import aiohttp
import httpx
import pytest
from aiohttp import web

import integrations
import sdk_core
from integrations.aiohttp import AioHttpIntegration
from sdk_core.integration import sdk_sending
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with
from tests.support.servers import aiohttp_server

TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"
_TRACE_HEADERS = ("traceparent", "sentry-trace", "baggage")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


async def echo(request: web.Request) -> web.Response:
    return web.json_response({k: request.headers.get(k) for k in _TRACE_HEADERS})


def make_app(downstream: str) -> web.Application:
    async def item(request: web.Request) -> web.Response:
        if request.match_info["item_id"] == "13":
            raise ValueError("unlucky")
        seen: dict[str, Any] = {}
        async with aiohttp.ClientSession() as session:
            for name in ("traced", "plain"):
                async with session.get(f"{downstream}/echo/{name}?token=abc") as response:
                    seen[name] = await response.json()
        return web.json_response(seen, status=201)

    app = web.Application()
    app.router.add_get("/items/{item_id}", item)
    app.router.add_get("/echo/{name}", echo)
    return app


def _transactions(t: InMemoryTransport, count: int) -> list[dict[str, Any]]:
    """At least ``count`` transactions, polled (bounded): a server ends its request's root span
    after the response went out, so the client may see the response first."""
    deadline = time.monotonic() + 10
    while True:
        assert sdk_core.flush(5)
        if len(t.transactions) >= count or time.monotonic() > deadline:
            return t.transactions
        time.sleep(0.01)


def test_server_roots_named_by_route_continue_the_trace_and_client_spans_propagate() -> None:
    t = init_with(AioHttpIntegration(), traces_sample_rate=1.0, trace_propagation_targets=["/echo/traced"])
    with aiohttp_server(make_app("")) as downstream, aiohttp_server(make_app(downstream)) as url:
        response = httpx.get(f"{url}/items/7", headers={"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
        assert response.status_code == 201
        seen = response.json()
        assert httpx.get(f"{url}/items/13").status_code == 500
        transactions = _transactions(t, 4)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for tx in transactions:
        by_name.setdefault(tx["transaction"], []).append(tx)
    (item, failed) = by_name["/items/{item_id}"]
    assert item["transaction_info"] == {"source": "route"}
    trace = item["contexts"]["trace"]
    assert trace["op"] == "http.server" and trace["origin"] == "auto.http.aiohttp"
    assert trace["trace_id"] == TRACE_ID and trace["parent_span_id"] == SPAN_ID
    assert trace["data"]["http.response.status_code"] == 201 and trace["status"] == "ok"
    clients = [s for s in item["spans"] if s["op"] == "http.client"]
    assert [s["description"] for s in clients] == [
        f"GET {downstream}/echo/traced",
        f"GET {downstream}/echo/plain",
    ]
    assert all(s["data"]["http.response.status_code"] == 200 for s in clients)
    assert all(s["origin"] == "auto.http.aiohttp" and "abc" not in str(s) for s in clients)
    # Only the target got trace headers, from the client span, and its server continued them.
    traced = seen["traced"]
    assert traced["traceparent"] == f"00-{TRACE_ID}-{clients[0]['span_id']}-01"
    assert traced["sentry-trace"] == f"{TRACE_ID}-{clients[0]['span_id']}-1"
    assert f"sentry-trace_id={TRACE_ID}" in traced["baggage"]
    assert seen["plain"] == dict.fromkeys(_TRACE_HEADERS)
    (downstream_tx,) = [tx for tx in by_name["/echo/{name}"] if tx["contexts"]["trace"]["trace_id"] == TRACE_ID]
    assert downstream_tx["contexts"]["trace"]["parent_span_id"] == clients[0]["span_id"]
    assert failed["contexts"]["trace"]["status"] == "internal_error"
    assert failed["contexts"]["trace"]["trace_id"] != TRACE_ID
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == failed["contexts"]["trace"]["trace_id"]
    for tx in transactions:
        assert conformance_errors(tx) == []


def test_sentry_trace_and_baggage_are_continued_and_tracing_off_adds_nothing() -> None:
    t = init_with(AioHttpIntegration(), traces_sample_rate=1.0)
    headers = {"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1", "baggage": f"sentry-trace_id={TRACE_ID},sentry-release=up"}
    with aiohttp_server(make_app("")) as url:
        assert httpx.get(f"{url}/echo/x", headers=headers).status_code == 200
        (tx,) = _transactions(t, 1)
    assert tx["transaction"] == "/echo/{name}"
    assert tx["contexts"]["trace"]["trace_id"] == TRACE_ID
    assert tx["contexts"]["trace"]["parent_span_id"] == SPAN_ID
    t = init_with(AioHttpIntegration())  # tracing off: no transaction, no headers sent
    with aiohttp_server(make_app("")) as downstream, aiohttp_server(make_app(downstream)) as url:
        seen = httpx.get(f"{url}/items/1").json()
    assert seen["traced"] == dict.fromkeys(_TRACE_HEADERS)
    assert sdk_core.flush(5) and t.transactions == []


def test_the_sdks_own_requests_get_no_span_and_no_trace_headers() -> None:
    t = init_with(AioHttpIntegration(), traces_sample_rate=1.0)

    async def fetch(url: str) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/echo/upload") as response:
                seen: dict[str, Any] = await response.json()
                return seen

    with aiohttp_server(make_app("")) as url:
        with sdk_core.start_span(op="task", name="job"):
            with sdk_sending():  # how the SDK marks its own uploads
                own = asyncio.run(fetch(url))
            app = asyncio.run(fetch(url))
        transactions = _transactions(t, 3)  # the job, and the two echo requests' server roots
    assert own == dict.fromkeys(_TRACE_HEADERS)
    assert app["traceparent"] is not None
    (job,) = [tx for tx in transactions if tx["transaction"] == "job"]
    assert len([s for s in job["spans"] if s["op"] == "http.client"]) == 1
