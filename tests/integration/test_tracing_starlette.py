"""FastAPI and Starlette under real uvicorn on loopback: routes are ``http.server`` transactions
named by the route template, and requests count as release-health sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest
from fastapi import FastAPI, HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import integrations
import sdk_core
from integrations.asgi import AsgiMiddleware
from integrations.starlette import StarletteIntegration
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with
from tests.support.servers import uvicorn_server

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


async def thing(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"thing {request.path_params['thing_id']}")


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, Any]:
        with sdk_core.start_span(op="db", name="fetch", attributes={"db.system": "postgresql"}):
            pass
        if item_id == 13:
            raise ValueError("unlucky")
        if item_id == 404:
            raise HTTPException(404)
        return {"item": item_id}

    @app.get("/handled")
    async def handled() -> dict[str, Any]:
        try:
            raise KeyError("caught")
        except KeyError:
            sdk_core.capture_exception()
        return {}

    app.mount("/api", Starlette(routes=[Mount("/v1", routes=[Route("/things/{thing_id}", thing)])]))
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


def test_fastapi_routes_are_transactions_named_by_template_under_uvicorn() -> None:
    t = init_with(StarletteIntegration(), traces_sample_rate=1.0)
    with uvicorn_server(make_app()) as url:
        headers = {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"}
        assert httpx.get(f"{url}/items/7", headers=headers).status_code == 200
        assert httpx.get(f"{url}/items/13").status_code == 500
        assert httpx.get(f"{url}/items/404").status_code == 404
        assert httpx.get(f"{url}/api/v1/things/9").status_code == 200
        transactions = _transactions(t, 4)
    ok, failed, missing, mounted = sorted(transactions, key=lambda tx: tx["timestamp"])
    for tx in (ok, failed, missing):
        assert tx["transaction"] == "/items/{item_id}" and tx["transaction_info"] == {"source": "route"}
        assert tx["contexts"]["trace"]["op"] == "http.server"
        assert tx["contexts"]["trace"]["origin"] == "auto.http.starlette"
        assert tx["contexts"]["trace"]["data"]["http.route"] == "/items/{item_id}"
    assert ok["contexts"]["trace"]["trace_id"] == TRACE_ID
    assert ok["contexts"]["trace"]["parent_span_id"] == SPAN_ID
    assert ok["contexts"]["trace"]["status"] == "ok"
    assert [s["op"] for s in ok["spans"]] == ["db"]
    assert failed["contexts"]["trace"]["status"] == "internal_error"
    assert missing["contexts"]["trace"]["status"] == "not_found"
    assert mounted["transaction"] == "/api/v1/things/{thing_id}"
    assert mounted["transaction_info"] == {"source": "route"}
    for tx in transactions:
        assert conformance_errors(tx) == []


def _sessions(t: InMemoryTransport) -> dict[str, int]:
    out = {"exited": 0, "errored": 0, "crashed": 0}
    for env in list(t.envelopes):
        for item in env.items:
            if item.type == "sessions":
                payload = orjson.loads(item.payload)
                assert payload["attrs"]["release"] == "shop@2.0"
                for bucket in payload["aggregates"]:
                    for key in out:
                        out[key] += bucket.get(key, 0)
    return out


def test_fastapi_requests_are_counted_as_sessions_with_a_release() -> None:
    t = init_with(StarletteIntegration(), release="shop@2.0")
    with uvicorn_server(make_app()) as url:
        for path in ("/items/1", "/items/404", "/api/v1/things/2", "/handled", "/items/13"):
            httpx.get(f"{url}{path}")
    sdk_core.close()
    assert _sessions(t) == {"exited": 3, "errored": 1, "crashed": 1}


def test_fastapi_imported_after_init_with_an_explicit_instance_makes_one_transaction() -> None:
    # A fresh interpreter: the explicit instance waits for starlette's import (framework_module),
    # and FastAPI's class, created after init, is patched as it is defined.
    code = textwrap.dedent(
        """
        import asyncio, json, sys
        import sdk_core
        from integrations.starlette import StarletteIntegration
        from sdk_core.transport.memory import InMemoryTransport

        t = InMemoryTransport()
        sdk_core.init(transport=t, default_integrations=False, traces_sample_rate=1.0,
                      integrations=[StarletteIntegration()])
        waited = "starlette" not in sys.modules and "fastapi" not in sys.modules
        import httpx
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/items/{item_id}")
        async def item(item_id: int) -> dict:
            return {"item": item_id}

        async def go() -> int:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return (await client.get("/items/3")).status_code

        status = asyncio.run(go())
        sdk_core.flush(5)
        names = [(tx["transaction"], tx["contexts"]["trace"]["origin"]) for tx in t.transactions]
        print(json.dumps({"waited": waited, "status": status, "names": names}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"waited": True, "status": 200, "names": [["/items/{item_id}", "auto.http.starlette"]]}


def test_fastapi_behind_the_generic_asgi_middleware_is_one_transaction() -> None:
    t = init_with(traces_sample_rate=1.0)  # no StarletteIntegration: AsgiMiddleware only
    with uvicorn_server(AsgiMiddleware(make_app())) as url:
        assert httpx.get(f"{url}/items/5").status_code == 200
        (tx,) = _transactions(t, 1)
    assert tx["transaction"] == "/items/{item_id}"
    assert tx["contexts"]["trace"]["origin"] == "auto.http.asgi"
