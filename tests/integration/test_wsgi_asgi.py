"""Generic WSGI and ASGI middlewares, driven by werkzeug's WSGI client and a real Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from typing import Any, AsyncIterator, Callable, Iterable, Iterator
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from werkzeug.test import Client as WsgiClient

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx is what this project pins.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import sdk_core
from integrations.asgi import AsgiMiddleware
from integrations.wsgi import WsgiMiddleware
from sdk_core.integration import parse_sentry_trace, parse_traceparent
from sdk_core.testing import assert_no_secrets
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with as _init

PASSWORD = "hunter2"
TOKEN = "abc.def.ghi"
CARD = "4111 1111 1111 1111"
SECRETS = [PASSWORD, TOKEN, CARD, CARD.replace(" ", "")]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


def _mechanism(exception: dict[str, Any]) -> tuple[str, bool]:
    return exception["mechanism"]["type"], exception["mechanism"]["handled"]


class CardDeclined(Exception):
    pass


def _charge(card_number: str) -> None:
    raise CardDeclined(f"card {card_number} declined")


# -- a plain WSGI application ---------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path.startswith("/fail"):
        sdk_core.set_tag("order", environ.get("HTTP_X_ORDER", "none"))
        sdk_core.set_user({"id": environ.get("HTTP_X_USER", "anon")})
        card = CARD
        _charge(card)
    if path == "/stream-fail":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _failing_stream()
    if path == "/closing":
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-App", "yes")])
        return _ClosingBody(environ["test.closed"])
    start_response("202 Accepted", [("Content-Type", "text/plain"), ("X-App", "yes")])
    return [b"hello ", b"world"]


def _failing_stream() -> Iterator[bytes]:
    yield b"first chunk"
    raise RuntimeError("stream broke")


class _ClosingBody:
    def __init__(self, closed: list[bool]) -> None:
        self._closed = closed

    def __iter__(self) -> Iterator[bytes]:
        yield b"body"

    def close(self) -> None:
        self._closed.append(True)


def _client(app: Any) -> WsgiClient:
    # Without its cookie jar, werkzeug sends the Cookie header a test gives it.
    return WsgiClient(app, use_cookies=False)


def _fail_request(client: WsgiClient, environ: dict[str, Any] | None = None, **headers: str) -> None:
    with pytest.raises(CardDeclined):
        client.post(
            f"/fail/7?password={PASSWORD}&page=2",
            environ_overrides=environ,
            data=f"password={PASSWORD}",
            content_type="application/x-www-form-urlencoded",
            headers={**AUTH, "X-Order": "o-7", "X-User": "u-7", **headers},
        )


class TestWsgiMiddleware:
    def test_app_exception_is_captured_with_request_data_and_reraised(self) -> None:
        """The app's exception is re-raised unchanged and sent as an unhandled ``wsgi`` event with the request."""
        transport = _init()
        _fail_request(_client(WsgiMiddleware(wsgi_app)), Cookie="sessionid=s3cr3t-session")
        (event,) = _events(transport)
        (exc,) = event["exception"]["values"]
        assert exc["type"] == "CardDeclined"
        assert _mechanism(exc) == ("wsgi", False)
        request = event["request"]
        assert request["method"] == "POST"
        assert request["url"] == "http://localhost/fail/7"
        assert request["query_string"].startswith("password=") and request["query_string"].endswith("&page=2")
        assert request["headers"]["X-Order"] == "o-7"
        assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        assert request["headers"]["Authorization"] == "[Filtered]"
        assert "data" not in request  # the raw WSGI stream is never re-read
        assert "cookies" not in request and "env" not in request  # without send_default_pii
        assert event["transaction"] == "/fail/7"
        assert event["transaction_info"] == {"source": "url"}
        assert event["tags"]["order"] == "o-7"
        assert event["user"] == {"id": "u-7"}
        assert_no_secrets([event], [*SECRETS, "s3cr3t-session"])

    def test_send_default_pii_adds_cookies_env_and_user_ip(self) -> None:
        """Cookies, REMOTE_ADDR and the user's address are attached only with send_default_pii."""
        transport = _init(send_default_pii=True, scrubbing=False)
        _fail_request(
            _client(WsgiMiddleware(wsgi_app)),
            {"REMOTE_ADDR": "198.51.100.4"},
            Cookie="theme=dark; lang=en",
            **{"X-Forwarded-For": "203.0.113.9, 10.0.0.1"},
        )
        (event,) = _events(transport)
        assert event["request"]["cookies"] == {"theme": "dark", "lang": "en"}
        assert event["request"]["env"] == {"REMOTE_ADDR": "198.51.100.4"}
        assert event["user"] == {"id": "u-7", "ip_address": "203.0.113.9"}

    def test_responses_are_identical_with_and_without_the_sdk(self) -> None:
        """Status, headers and body pass through untouched, and nothing is sent for a good request."""
        closed: list[bool] = []
        before = _client(WsgiMiddleware(wsgi_app)).get("/ok")
        transport = _init()
        after = _client(WsgiMiddleware(wsgi_app)).get("/ok")
        closing = _client(WsgiMiddleware(wsgi_app)).get("/closing", environ_overrides={"test.closed": closed})
        assert (after.status, after.headers.to_wsgi_list(), after.data) == (
            before.status,
            before.headers.to_wsgi_list(),
            before.data,
        )
        assert after.data == b"hello world" and after.status == "202 Accepted"
        assert (closing.status_code, closing.data, closing.headers["X-App"]) == (201, b"body", "yes")
        closing.close()
        assert closed == [True]
        assert _events(transport) == []

    def test_exception_while_streaming_the_response_is_captured(self) -> None:
        """An error raised while the server iterates the body is captured in the request's scope and re-raised."""
        transport = _init()
        response = _client(WsgiMiddleware(wsgi_app)).get("/stream-fail", headers={"X-Order": "stream"})
        with pytest.raises(RuntimeError, match="stream broke"):
            response.get_data()
        (event,) = _events(transport)
        assert _mechanism(event["exception"]["values"][-1]) == ("wsgi", False)
        assert event["request"]["headers"]["X-Order"] == "stream"
        assert event["transaction"] == "/stream-fail"

    def test_list_and_file_wrapper_responses_are_returned_as_is(self) -> None:
        """Lists and ``wsgi.file_wrapper`` objects are not wrapped, so servers keep their fast paths."""
        _init()

        class FileWrapper:
            def __init__(self, data: bytes) -> None:
                self.data = data

        body = FileWrapper(b"x")

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            start_response("200 OK", [])
            return body if environ["PATH_INFO"] == "/file" else [b"x"]

        middleware = WsgiMiddleware(app)
        env = {"PATH_INFO": "/file", "REQUEST_METHOD": "GET", "wsgi.file_wrapper": FileWrapper}
        assert middleware(env, lambda *a: None) is body
        assert middleware({**env, "PATH_INFO": "/"}, lambda *a: None) == [b"x"]

    def test_sized_iterables_keep_their_length(self) -> None:
        """A sized response keeps ``len()`` (servers derive Content-Length from a one-block body)."""
        _init()

        class OneBlock:
            def __iter__(self) -> Iterator[bytes]:
                yield b"abc"

            def __len__(self) -> int:
                return 1

        middleware = WsgiMiddleware(lambda environ, start_response: OneBlock())
        result = middleware({"PATH_INFO": "/", "REQUEST_METHOD": "GET"}, lambda *a: None)
        assert len(result) == 1  # type: ignore[arg-type]
        assert list(result) == [b"abc"]

    def test_without_the_sdk_the_middleware_is_a_pass_through(self) -> None:
        """Before init the app's own result object is returned and exceptions simply propagate."""
        body = [b"x"]
        middleware = WsgiMiddleware(lambda environ, start_response: body)
        assert middleware({"PATH_INFO": "/"}, lambda *a: None) is body
        with pytest.raises(CardDeclined):
            _client(WsgiMiddleware(wsgi_app)).get("/fail")

    def test_incoming_sentry_trace_is_continued(self) -> None:
        """``sentry-trace`` sets the event's trace id and parent span."""
        transport = _init()
        _fail_request(_client(WsgiMiddleware(wsgi_app)), **{"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1"})
        (event,) = _events(transport)
        trace = event["contexts"]["trace"]
        assert trace["trace_id"] == TRACE_ID and trace["parent_span_id"] == SPAN_ID
        assert len(trace["span_id"]) == 16 and trace["span_id"] != SPAN_ID

    def test_incoming_traceparent_is_continued_and_garbage_starts_a_new_trace(self) -> None:
        """W3C ``traceparent`` is continued; a malformed header starts a fresh trace per request."""
        transport = _init()
        client = _client(WsgiMiddleware(wsgi_app))
        _fail_request(client, traceparent=f"00-{TRACE_ID}-{SPAN_ID}-01")
        _fail_request(client, traceparent="00-zz-yy-01")
        _fail_request(client)
        first, second, third = (e["contexts"]["trace"] for e in _events(transport))
        assert (first["trace_id"], first["parent_span_id"]) == (TRACE_ID, SPAN_ID)
        assert "parent_span_id" not in second and "parent_span_id" not in third
        assert len({first["trace_id"], second["trace_id"], third["trace_id"]}) == 3

    def test_concurrent_requests_do_not_share_scope_data(self) -> None:
        """Twenty requests in threads each carry their own tag and user."""
        transport = _init()
        middleware = WsgiMiddleware(wsgi_app)
        barrier = threading.Barrier(20)

        def one(n: int) -> None:
            barrier.wait(5)
            with pytest.raises(CardDeclined):
                _client(middleware).get("/fail", headers={"X-Order": f"o-{n}", "X-User": f"u-{n}"})

        threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        events = _events(transport)
        assert len(events) == 20
        for event in events:
            n = event["request"]["headers"]["X-Order"].split("-")[1]
            assert event["tags"]["order"] == f"o-{n}"
            assert event["user"] == {"id": f"u-{n}"}
        assert len({e["contexts"]["trace"]["trace_id"] for e in events}) == 20

    def test_nested_middlewares_capture_once(self) -> None:
        """Two layers (e.g. a framework integration plus this middleware) open one scope and send one event."""
        transport = _init()
        _fail_request(_client(WsgiMiddleware(WsgiMiddleware(wsgi_app))))
        assert len(_events(transport)) == 1


class TestTraceHeaders:
    def test_sentry_trace_parsing(self) -> None:
        """Valid ``sentry-trace`` values give (trace, span); anything else gives None."""
        assert parse_sentry_trace(f"{TRACE_ID}-{SPAN_ID}") == (TRACE_ID, SPAN_ID)
        assert parse_sentry_trace(f" {TRACE_ID.upper()}-{SPAN_ID}-0 ") == (TRACE_ID, SPAN_ID)
        for bad in ("", "-", f"{TRACE_ID}", f"{TRACE_ID}-{SPAN_ID}-2", f"{TRACE_ID[:-1]}-{SPAN_ID}", "x" * 49):
            assert parse_sentry_trace(bad) is None

    def test_traceparent_parsing(self) -> None:
        """Valid W3C values give (trace, parent); version ff and all-zero ids are rejected."""
        assert parse_traceparent(f"00-{TRACE_ID}-{SPAN_ID}-01") == (TRACE_ID, SPAN_ID)
        for bad in (
            f"ff-{TRACE_ID}-{SPAN_ID}-01",
            f"00-{'0' * 32}-{SPAN_ID}-01",
            f"00-{TRACE_ID}-{'0' * 16}-01",
            f"00-{TRACE_ID}-{SPAN_ID}",
            None,
        ):
            assert parse_traceparent(bad) is None


# -- a real Starlette application -----------------------------------------------------------


async def order(request: Request) -> Response:
    # A form parsed by hand: Starlette's request.form() needs python-multipart, which is not installed.
    form = dict(parse_qsl((await request.body()).decode()))
    sdk_core.set_tag("order", request.path_params["order_id"])
    sdk_core.set_user({"id": request.headers.get("x-user", "anon")})
    if form.get("fail") == "no":
        return PlainTextResponse("ok", status_code=201)
    card = CARD
    _charge(card)
    return PlainTextResponse("unreachable")


async def echo_json(request: Request) -> Response:
    payload = await request.json()
    if payload.get("fail"):
        raise ValueError("json failure")
    return JSONResponse(payload)


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    raise RuntimeError("websocket handler failed")


def _starlette(started: list[bool] | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if started is not None:
            started.append(True)
        yield

    routes = [
        Route("/orders/{order_id:int}", order, methods=["POST"]),
        Route("/json", echo_json, methods=["POST"]),
        Mount("/api", routes=[Route("/items/{item_id}", order, methods=["POST"])]),
        WebSocketRoute("/ws", ws_endpoint),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _post_order(client: TestClient, path: str = "/orders/42", **headers: str) -> Any:
    return client.post(
        f"{path}?password={PASSWORD}&page=2",
        data={"password": PASSWORD, "note": "gift"},
        headers={**AUTH, "X-User": "u-42", **headers},
    )


class TestAsgiMiddleware:
    def test_route_exception_is_captured_with_request_body_and_route(self) -> None:
        """A failing Starlette route sends one unhandled ``asgi`` event with the request and route template."""
        transport = _init()
        client = TestClient(AsgiMiddleware(_starlette()), raise_server_exceptions=False)
        response = _post_order(client)
        assert response.status_code == 500
        (event,) = _events(transport)
        (exc,) = event["exception"]["values"]
        assert exc["type"] == "CardDeclined" and _mechanism(exc) == ("asgi", False)
        request = event["request"]
        assert request["method"] == "POST"
        assert request["url"] == "http://testserver/orders/42"
        assert request["query_string"].endswith("&page=2")
        assert request["headers"]["X-User"] == "u-42"
        assert request["headers"]["Authorization"] == "[Filtered]"
        assert request["data"] == {"password": "[Filtered]", "note": "gift"}
        assert event["transaction"] == "/orders/{order_id:int}"
        assert event["transaction_info"] == {"source": "route"}
        assert event["tags"]["order"] == "42"
        assert event["user"] == {"id": "u-42"}
        assert_no_secrets([event], SECRETS)

    def test_mounted_routes_and_endpoint_style_name_the_transaction(self) -> None:
        """A mount prefix is kept in the route name; ``endpoint`` style uses the endpoint's dotted name."""
        transport = _init()
        _post_order(TestClient(AsgiMiddleware(_starlette()), raise_server_exceptions=False), "/api/items/9")
        styled = AsgiMiddleware(_starlette(), transaction_style="endpoint")
        _post_order(TestClient(styled, raise_server_exceptions=False))
        mounted, endpoint = _events(transport)
        assert mounted["transaction"] == "/api/items/{item_id}"
        assert endpoint["transaction"] == f"{__name__}.order"
        assert endpoint["transaction_info"] == {"source": "component"}

    def test_unknown_transaction_style_is_rejected(self) -> None:
        """A typo in ``transaction_style`` fails at construction, naming the field."""
        with pytest.raises(ValueError, match="transaction_style"):
            AsgiMiddleware(_starlette(), transaction_style="path")

    def test_json_body_within_limits_and_oversize_body_is_left_out(self) -> None:
        """JSON bodies are parsed; a body over ``max_request_body_size`` becomes "" with a ``_meta`` remark."""
        transport = _init(max_request_body_size="small")
        client = TestClient(AsgiMiddleware(_starlette()), raise_server_exceptions=False)
        assert client.post("/json", json={"fail": True, "password": PASSWORD}).status_code == 500
        assert client.post("/json", json={"fail": True, "blob": "x" * 5000}).status_code == 500
        small, big = _events(transport)
        assert small["request"]["data"] == {"fail": True, "password": "[Filtered]"}
        assert big["request"]["data"] == ""
        assert big["_meta"]["request"]["data"][""]["rem"] == [["!config", "x"]]

    def test_never_attaches_no_body(self) -> None:
        """``max_request_body_size="never"`` leaves ``data`` out entirely."""
        transport = _init(max_request_body_size="never")
        _post_order(TestClient(AsgiMiddleware(_starlette()), raise_server_exceptions=False))
        (event,) = _events(transport)
        assert "data" not in event["request"]

    def test_responses_are_identical_with_and_without_the_sdk(self) -> None:
        """Good and failing requests give the same status, headers and body with the SDK as without."""

        def run() -> list[tuple[int, bytes, str]]:
            client = TestClient(AsgiMiddleware(_starlette()), raise_server_exceptions=False)
            ok = client.post("/orders/1", data={"fail": "no"})
            bad = _post_order(client)
            echo = client.post("/json", json={"a": 1})
            return [(r.status_code, r.content, r.headers.get("content-type", "")) for r in (ok, bad, echo)]

        before = run()
        transport = _init()
        assert run() == before
        assert before[0] == (201, b"ok", "text/plain; charset=utf-8")
        assert len(_events(transport)) == 1

    def test_exceptions_propagate_unchanged(self) -> None:
        """The application's exception object reaches the server as it was raised."""
        _init()
        with pytest.raises(CardDeclined, match="declined"):
            _post_order(TestClient(AsgiMiddleware(_starlette())))

    def test_websocket_errors_are_captured(self) -> None:
        """An exception in a websocket handler is captured with the ws:// URL and re-raised."""
        transport = _init()
        client = TestClient(AsgiMiddleware(_starlette()))
        with pytest.raises(RuntimeError, match="websocket handler failed"):
            with client.websocket_connect("/ws?room=1", headers={"sentry-trace": f"{TRACE_ID}-{SPAN_ID}"}) as ws:
                ws.send_text("hi")
                ws.receive_text()
        (event,) = _events(transport)
        assert _mechanism(event["exception"]["values"][-1]) == ("asgi", False)
        assert event["request"]["url"] == "ws://testserver/ws"
        assert event["request"]["query_string"] == "room=1"
        assert event["transaction"] == "/ws"
        assert event["contexts"]["trace"]["trace_id"] == TRACE_ID

    def test_lifespan_passes_through(self) -> None:
        """Lifespan events reach the app untouched."""
        _init()
        started: list[bool] = []
        with TestClient(AsgiMiddleware(_starlette(started))):
            pass
        assert started == [True]

    def test_concurrent_requests_do_not_share_scope_data(self) -> None:
        """Twenty concurrent requests on one event loop each carry their own tag, user and trace."""
        transport = _init()
        app = AsgiMiddleware(_starlette())

        async def main() -> None:
            transport_ = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport_, base_url="http://test") as client:
                await asyncio.gather(
                    *(
                        client.post(f"/orders/{n}", data={"fail": "yes"}, headers={"X-User": f"u-{n}"})
                        for n in range(20)
                    )
                )

        asyncio.run(main())
        events = _events(transport)
        assert len(events) == 20
        for event in events:
            n = event["request"]["url"].rsplit("/", 1)[1]
            assert event["tags"]["order"] == n
            assert event["user"] == {"id": f"u-{n}"}
        assert len({e["contexts"]["trace"]["trace_id"] for e in events}) == 20
