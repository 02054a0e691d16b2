"""FastAPI and Starlette, instrumented without any middleware, under real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator

import httpx
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.routing import Mount, Route

import sdk_core
from integrations.asgi import AsgiMiddleware
from integrations.starlette import StarletteIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with
from tests.support.servers import uvicorn_server

PASSWORD = "hunter2-secret"
PARKED = threading.Event()


def _init(integration: StarletteIntegration | None = None, **options: Any) -> InMemoryTransport:
    return init_with(integration or StarletteIntegration(), **options)


def _mechanism(exception: dict[str, Any]) -> tuple[str, bool]:
    return exception["mechanism"]["type"], exception["mechanism"]["handled"]


def _crumbs(event: dict[str, Any]) -> list[str]:
    return [c.get("message", "") for c in event.get("breadcrumbs", {}).get("values", [])]


class Item(BaseModel):
    name: str
    password: str


def _dependency() -> Iterator[str]:
    sdk_core.add_breadcrumb(message="dependency entered")  # a sync dependency: runs in the thread pool
    yield "db"
    sdk_core.add_breadcrumb(message="dependency left")


def _background(order: str) -> None:
    sdk_core.add_breadcrumb(message=f"background for {order}")
    raise RuntimeError(f"background task failed for {order}")


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        sdk_core.add_breadcrumb(message=f"reading {item_id}")
        raise ValueError(f"item {item_id} is broken")

    @app.post("/items")
    async def create_item(item: Item) -> dict[str, str]:
        raise ValueError("cannot store " + item.name)

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        await request.body()
        raise ValueError("form failed")

    @app.get("/unavailable/{code}")
    async def unavailable(code: int) -> dict[str, str]:
        raise HTTPException(status_code=code, detail="try later")

    @app.get("/plain/{code}")
    async def plain(code: int) -> Response:
        return JSONResponse({"status": code}, status_code=code)

    released = asyncio.Event()

    @app.get("/wait")
    async def wait() -> dict[str, str]:
        sdk_core.add_breadcrumb(message="waiting request")
        PARKED.set()
        await asyncio.wait_for(released.wait(), 10)
        raise LookupError("after the other request")

    @app.get("/release")
    async def release() -> dict[str, str]:
        sdk_core.add_breadcrumb(message="releasing request")
        sdk_core.set_tag("released", "yes")
        released.set()
        return {"released": "yes"}

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        sdk_core.add_breadcrumb(message="ok request")
        return {"ok": "yes"}

    @app.get("/orders/{order}")
    def order(order: str, tasks: BackgroundTasks, db: str = Depends(_dependency)) -> dict[str, str]:
        sdk_core.add_breadcrumb(message=f"handling {order}")
        tasks.add_task(_background, order)
        return {"order": order}

    return app


@pytest.fixture
def fastapi_url() -> Iterator[str]:
    with uvicorn_server(fastapi_app()) as url:
        yield url


def test_unhandled_error_is_reported_with_route_template_and_request(fastapi_url: str) -> None:
    transport = _init()
    response = httpx.get(f"{fastapi_url}/items/42?debug=1", headers={"X-Trace-Me": "yes"})
    assert response.status_code == 500
    (event,) = _events(transport)
    assert event["transaction"] == "/items/{item_id}"
    assert event["transaction_info"] == {"source": "route"}
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "ValueError" and exception["value"] == "item 42 is broken"
    assert _mechanism(exception) == ("starlette", False)
    assert event["request"]["url"] == f"{fastapi_url}/items/42"
    assert event["request"]["method"] == "GET"
    assert event["request"]["query_string"] == "debug=1"
    assert event["request"]["headers"]["X-Trace-Me"] == "yes"
    assert "reading 42" in _crumbs(event)


def test_json_body_is_captured_and_scrubbed(fastapi_url: str) -> None:
    transport = _init(max_request_body_size="medium")
    httpx.post(f"{fastapi_url}/items", json={"name": "lamp", "password": PASSWORD})
    (event,) = _events(transport)
    assert event["request"]["data"]["name"] == "lamp"
    assert event["request"]["data"]["password"] != PASSWORD
    assert_no_secrets(event, [PASSWORD])


def test_form_body_is_captured(fastapi_url: str) -> None:
    transport = _init(max_request_body_size="medium")
    httpx.post(f"{fastapi_url}/form", data={"colour": "blue", "size": "xl"})
    (event,) = _events(transport)
    assert event["request"]["data"] == {"colour": "blue", "size": "xl"}


def test_body_over_the_limit_is_left_out_with_a_remark(fastapi_url: str) -> None:
    transport = _init(max_request_body_size="small")
    httpx.post(f"{fastapi_url}/form", data={"blob": "x" * 6000})
    (event,) = _events(transport)
    assert event["request"]["data"] == ""
    assert event["_meta"]["request"]["data"][""]["rem"] == [["!config", "x"]]


def test_body_is_not_captured_when_switched_off(fastapi_url: str) -> None:
    transport = _init(max_request_body_size="never")
    httpx.post(f"{fastapi_url}/items", json={"name": "lamp", "password": PASSWORD})
    (event,) = _events(transport)
    assert "data" not in event["request"]


def test_http_exception_with_a_failing_status_is_reported(fastapi_url: str) -> None:
    transport = _init()
    assert httpx.get(f"{fastapi_url}/unavailable/503").status_code == 503
    assert httpx.get(f"{fastapi_url}/unavailable/404").status_code == 404
    (event,) = _events(transport)
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "HTTPException"
    assert _mechanism(exception) == ("starlette", False)
    assert event["transaction"] == "/unavailable/{code}"


@pytest.mark.parametrize("codes", [{404}, [range(400, 500)]], ids=["set", "sentry-1.x-ranges"])
def test_failing_statuses_are_configurable(fastapi_url: str, codes: Any) -> None:
    transport = _init(StarletteIntegration(failed_request_status_codes=codes))
    httpx.get(f"{fastapi_url}/unavailable/503")
    httpx.get(f"{fastapi_url}/unavailable/404")
    (event,) = _events(transport)
    assert "404" in event["exception"]["values"][-1]["value"]


def test_a_failing_response_without_exception_is_reported_as_a_message(fastapi_url: str) -> None:
    transport = _init()
    assert httpx.get(f"{fastapi_url}/plain/502").status_code == 502
    assert httpx.get(f"{fastapi_url}/plain/200").status_code == 200
    (event,) = _events(transport)
    assert event["logentry"]["message"] == "HTTP 502 response"
    assert event["level"] == "error"
    assert event["transaction"] == "/plain/{code}"


def test_background_tasks_and_dependencies_stay_in_the_request_scope(fastapi_url: str) -> None:
    transport = _init()
    assert httpx.get(f"{fastapi_url}/ok").status_code == 200
    assert httpx.get(f"{fastapi_url}/orders/A-17").status_code == 200  # the task fails after the response
    assert httpx.get(f"{fastapi_url}/ok").status_code == 200
    assert sdk_core.flush(5.0)
    (event,) = [e for e in transport.events if e.get("exception")]
    crumbs = _crumbs(event)
    # FastAPI leaves the dependency after the background tasks ran, so after this capture.
    assert crumbs[:3] == ["dependency entered", "handling A-17", "background for A-17"]
    assert event["transaction"] == "/orders/{order}"
    assert "ok request" not in crumbs


def test_concurrent_requests_do_not_share_breadcrumbs_or_tags(fastapi_url: str) -> None:
    transport = _init()
    waiting = threading.Thread(target=httpx.get, args=(f"{fastapi_url}/wait",), kwargs={"timeout": 15})
    PARKED.clear()
    waiting.start()
    assert PARKED.wait(10)  # the first request is inside its endpoint while the second one runs
    assert httpx.get(f"{fastapi_url}/release", timeout=15).status_code == 200
    waiting.join(15)
    (event,) = _events(transport)
    assert event["exception"]["values"][-1]["type"] == "LookupError"
    assert "releasing request" not in _crumbs(event)
    assert "released" not in event.get("tags", {})


def test_endpoint_style_names_events_after_the_function(fastapi_url: str) -> None:
    transport = _init(StarletteIntegration(transaction_style="endpoint"))
    httpx.get(f"{fastapi_url}/items/5")
    (event,) = _events(transport)
    assert event["transaction"].endswith("fastapi_app.<locals>.read_item")
    assert event["transaction_info"] == {"source": "component"}


class _Backend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        name = conn.headers.get("X-User")
        return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name else None


async def _boom(request: Request) -> Response:
    raise KeyError("missing")


def starlette_app() -> Starlette:
    inner = Starlette(routes=[Route("/things/{thing_id:int}", _boom)])
    return Starlette(
        routes=[Route("/fail", _boom), Mount("/api", app=inner)],
        middleware=[Middleware(AuthenticationMiddleware, backend=_Backend())],
    )


@pytest.mark.parametrize("pii", [True, False])
def test_authenticated_user_is_reported_only_with_pii(pii: bool) -> None:
    transport = _init(send_default_pii=pii)
    with uvicorn_server(starlette_app()) as url:
        httpx.get(f"{url}/fail", headers={"X-User": "alice"})
        httpx.get(f"{url}/fail")
    first, anonymous = _events(transport)
    if pii:
        assert first["user"]["username"] == "alice" and first["user"]["id"] == "alice"
    else:
        assert "user" not in first
    assert "username" not in anonymous.get("user", {})


def test_mounted_apps_are_named_by_the_full_template_and_reported_once() -> None:
    transport = _init()
    with uvicorn_server(starlette_app()) as url:
        assert httpx.get(f"{url}/api/things/7").status_code == 500
    (event,) = _events(transport)
    assert event["transaction"] == "/api/things/{thing_id:int}"
    assert event["exception"]["values"][-1]["type"] == "KeyError"


def test_an_app_already_wrapped_in_asgi_middleware_reports_each_error_once() -> None:
    transport = _init()
    with uvicorn_server(AsgiMiddleware(starlette_app())) as url:
        assert httpx.get(f"{url}/api/things/3").status_code == 500
        assert httpx.get(f"{url}/fail", headers={"X-User": "bob"}).status_code == 500
    nested, plain = _events(transport)
    assert nested["transaction"] == "/api/things/{thing_id:int}"
    assert plain["transaction"] == "/fail"


def test_setup_is_idempotent_and_uninstall_restores_starlette(fastapi_url: str) -> None:
    original = Starlette.__dict__["__call__"]
    integration = StarletteIntegration()
    transport = _init(integration)
    integration.setup_once()
    httpx.get(f"{fastapi_url}/items/1")
    assert len(_events(transport)) == 1
    integration.uninstall()
    assert Starlette.__dict__["__call__"] is original
    httpx.get(f"{fastapi_url}/items/2")
    assert len(_events(transport)) == 1


def test_a_plain_starlette_app_is_not_mistaken_for_an_app_factory() -> None:
    _init()
    app = starlette_app()
    with pytest.raises(TypeError):
        app()  # type: ignore[call-arg]  # uvicorn's probe: only a factory may be called without arguments


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="transaction_style"):
        StarletteIntegration(transaction_style="path")
    with pytest.raises(TypeError, match="failed_request_status_codes"):
        StarletteIntegration(failed_request_status_codes="500")
    with pytest.raises(TypeError, match="failed_request_status_codes"):
        StarletteIntegration(failed_request_status_codes=[500, "502"])
