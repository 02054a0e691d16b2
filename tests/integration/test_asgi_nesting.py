"""Nested ASGI layers of one request share its scope, even after a layer re-reads the headers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import sdk_core
from integrations.asgi import AsgiMiddleware
from tests.support.sdk import init_with as init_memory


class _ReadsHeaders:
    """A plain ASGI middleware that reads the headers (Starlette then replaces ``scope["headers"]``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            tenant = Headers(scope=scope).get("x-tenant", "none")
            sdk_core.set_tag("tenant", tenant)
        await self.app(scope, receive, send)


def _inner() -> Any:
    async def boom(request: Request) -> PlainTextResponse:
        assert request.headers["x-tenant"] == "acme"
        sdk_core.add_breadcrumb(message="inside the inner app")
        raise RuntimeError("inner failure")

    return AsgiMiddleware(Starlette(routes=[Route("/boom", boom)]))


def test_a_nested_layer_after_a_header_read_is_the_same_request() -> None:
    transport = init_memory()
    outer = AsgiMiddleware(_ReadsHeaders(Starlette(routes=[Mount("/inner", _inner())])))

    async def call() -> int:
        transport_ = httpx.ASGITransport(app=outer, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport_, base_url="http://app") as client:
            return (await client.get("/inner/boom", headers={"X-Tenant": "acme"})).status_code

    assert asyncio.run(call()) == 500
    assert sdk_core.flush(5)
    (event,) = transport.events
    assert event["exception"]["values"][-1]["value"] == "inner failure"
    assert event["tags"]["tenant"] == "acme"  # set by the outer layer, inside the same request scope
    messages = [c.get("message") for c in event["breadcrumbs"]["values"]]
    assert "inside the inner app" in messages
