"""aiohttp's server (a real aiohttp server on loopback) and client, instrumented automatically."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import aiohttp
import httpx
import orjson
import pytest
from aiohttp import web

import sdk_core
from integrations import _patch
from integrations.aiohttp import AioHttpIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with
from tests.support.servers import aiohttp_server, free_port

SECRET = "tok-9f8e7d6c5b4a"


def _init(integration: AioHttpIntegration | None = None, **options: Any) -> InMemoryTransport:
    return init_with(integration or AioHttpIntegration(), **options)


def _crumbs(event: dict[str, Any], category: str | None = None) -> list[dict[str, Any]]:
    values = event.get("breadcrumbs", {}).get("values", [])
    return [c for c in values if category is None or c.get("category") == category]


async def read_item(request: web.Request) -> web.Response:
    sdk_core.add_breadcrumb(message=f"reading {request.match_info['item_id']}")
    raise ValueError(f"item {request.match_info['item_id']} is broken")


async def store(request: web.Request) -> web.Response:
    if request.content_type == "application/json":
        await request.json()
    else:
        await request.post()
    raise ValueError("cannot store")


async def unavailable(request: web.Request) -> web.Response:
    raise web.HTTPServiceUnavailable(text="try later")


async def not_found(request: web.Request) -> web.Response:
    raise web.HTTPNotFound()


async def plain(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="plain")


async def ok(request: web.Request) -> web.Response:
    sdk_core.add_breadcrumb(message="ok request")
    return web.json_response({"ok": True, "query": dict(request.query)})


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/items/{item_id}", read_item)
    app.router.add_post("/store", store)
    app.router.add_get("/unavailable", unavailable)
    app.router.add_get("/missing", not_found)
    app.router.add_get("/plain/{code}", plain)
    app.router.add_get("/ok", ok)
    api = web.Application()
    api.router.add_get("/things/{thing_id}", read_thing)
    app.add_subapp("/api", api)
    return app


async def read_thing(request: web.Request) -> web.Response:
    raise ValueError(f"thing {request.match_info['thing_id']} is broken")


@pytest.fixture
def url() -> Iterator[str]:
    """The server starts after the test's ``init`` (a handler aiohttp bound earlier is its own)."""
    with aiohttp_server(make_app()) as base:
        yield base


def test_unhandled_error_is_reported_with_the_route_and_request(request: pytest.FixtureRequest) -> None:
    transport = _init()
    url = request.getfixturevalue("url")
    assert httpx.get(f"{url}/ok").status_code == 200
    response = httpx.get(f"{url}/items/42?debug=1", headers={"X-Trace-Me": "yes"})
    assert response.status_code == 500
    (event,) = _events(transport)
    assert event["transaction"] == "/items/{item_id}"
    assert event["transaction_info"] == {"source": "route"}
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "ValueError"
    assert (exception["mechanism"]["type"], exception["mechanism"]["handled"]) == ("aiohttp", False)
    request = event["request"]
    assert request["url"] == f"{url}/items/42"
    assert request["method"] == "GET" and request["query_string"] == "debug=1"
    assert request["headers"]["X-Trace-Me"] == "yes"
    messages = [c.get("message") for c in _crumbs(event)]
    assert "reading 42" in messages and "ok request" not in messages


def test_sub_application_routes_are_named_with_their_prefix(request: pytest.FixtureRequest) -> None:
    transport = _init()
    url = request.getfixturevalue("url")
    httpx.get(f"{url}/api/things/7")
    (event,) = _events(transport)
    assert event["transaction"] == "/api/things/{thing_id}"


def test_the_body_the_handler_read_is_captured_and_scrubbed(request: pytest.FixtureRequest) -> None:
    transport = _init(max_request_body_size="medium")
    url = request.getfixturevalue("url")
    httpx.post(f"{url}/store", json={"name": "lamp", "password": SECRET})
    httpx.post(f"{url}/store", data={"colour": "blue"})
    json_event, form_event = _events(transport)
    assert json_event["request"]["data"]["name"] == "lamp"
    assert_no_secrets(json_event, [SECRET])
    assert form_event["request"]["data"] == {"colour": "blue"}


def test_a_body_over_the_limit_is_left_out(request: pytest.FixtureRequest) -> None:
    transport = _init(max_request_body_size="small")
    url = request.getfixturevalue("url")
    httpx.post(f"{url}/store", data={"blob": "x" * 6000})
    (event,) = _events(transport)
    assert event["request"]["data"] == ""
    assert event["_meta"]["request"]["data"][""]["rem"] == [["!config", "x"]]


def test_failing_statuses_are_reported_and_configurable(request: pytest.FixtureRequest) -> None:
    transport = _init()
    url = request.getfixturevalue("url")
    assert httpx.get(f"{url}/unavailable").status_code == 503
    assert httpx.get(f"{url}/missing").status_code == 404
    assert httpx.get(f"{url}/plain/502").status_code == 502
    http_exception, message = _events(transport)
    assert http_exception["exception"]["values"][-1]["type"] == "HTTPServiceUnavailable"
    assert message["logentry"]["message"] == "HTTP 502 response"
    assert message["transaction"] == "/plain/{code}"
    sdk_core.close(1.0)
    transport = _init(AioHttpIntegration(failed_request_status_codes={404}))
    with aiohttp_server(make_app()) as again:  # a runner binds the handler when it starts
        httpx.get(f"{again}/unavailable")
        httpx.get(f"{again}/missing")
    (event,) = _events(transport)
    assert event["exception"]["values"][-1]["type"] == "HTTPNotFound"


def test_client_requests_are_breadcrumbs_without_query_values(request: pytest.FixtureRequest) -> None:
    transport = _init()
    url = request.getfixturevalue("url")
    dead = f"http://127.0.0.1:{free_port()}/down"

    async def calls() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/ok?token={SECRET}&page=2") as response:
                assert (await response.json())["query"]["token"] == SECRET
            async with session.get(f"{url}/ok", params={"token": SECRET}) as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.post(dead)
        sdk_core.capture_message("after calls")

    asyncio.run(calls())
    (event,) = [e for e in _events(transport) if e.get("logentry", {}).get("message") == "after calls"]
    first, second, failed = _crumbs(event, "http")
    assert first["data"] == {"method": "GET", "url": f"{url}/ok", "http.query": "token&page", "status_code": 200}
    assert second["data"]["http.query"] == "token"
    assert failed["data"]["url"] == dead and failed["level"] == "error"
    assert failed["data"]["reason"].startswith("Client")
    assert_no_secrets(event, [SECRET])


def test_setup_is_idempotent_and_uninstall_restores_aiohttp(request: pytest.FixtureRequest) -> None:
    integration = AioHttpIntegration()
    transport = _init(integration)
    url = request.getfixturevalue("url")
    integration.setup_once()
    httpx.get(f"{url}/items/1")
    assert len(_events(transport)) == 1
    integration.uninstall()
    assert not _patch.is_wrapped(web.Application, "_handle")
    httpx.get(f"{url}/items/2")
    assert len(_events(transport)) == 1


def _session_totals(transport: InMemoryTransport) -> dict[str, int]:
    out = {"exited": 0, "errored": 0, "crashed": 0}
    for env in list(transport.envelopes):
        for item in env.items:
            if item.type == "sessions":
                payload = orjson.loads(item.payload)
                assert payload["attrs"]["release"] == "shop@4.2"
                for bucket in payload["aggregates"]:
                    for key in out:
                        out[key] += bucket.get(key, 0)
    return out


async def handled(request: web.Request) -> web.Response:
    try:
        raise KeyError("caught")
    except KeyError:
        sdk_core.capture_exception()
    return web.Response(text="handled")


def test_requests_are_counted_as_release_health_sessions() -> None:
    transport = _init(release="shop@4.2")
    app = make_app()
    app.router.add_get("/handled", handled)
    with aiohttp_server(app) as url:
        for path in ("/ok", "/ok", "/missing", "/handled", "/items/3"):
            httpx.get(f"{url}{path}")
    sdk_core.close()
    # /missing (404) exited; /handled captured an error; /items/3 raised out of the handler.
    assert _session_totals(transport) == {"exited": 3, "errored": 1, "crashed": 1}
