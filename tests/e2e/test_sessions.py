"""Release health end to end: requests through the WSGI, ASGI and Flask integrations are counted as
exited, errored or crashed per minute and reach the local receiver as ``sessions`` aggregates."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Iterable

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from werkzeug.test import Client as WsgiClient

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import sdk_core
from integrations.asgi import AsgiMiddleware
from integrations.flask import FlaskIntegration
from integrations.wsgi import WsgiMiddleware
from sdk_core.devserver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/crash":
        raise RuntimeError("unhandled")
    if path == "/handled":
        try:
            raise ValueError("caught")
        except ValueError:
            sdk_core.capture_exception()
    if path == "/message":
        sdk_core.capture_message("just info")  # an info message does not error the session
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def totals(receiver: Receiver) -> dict[str, int]:
    out = {"exited": 0, "errored": 0, "crashed": 0}
    for row in receiver.items("session"):
        for bucket in row["payload"]["aggregates"]:
            for key in out:
                out[key] += bucket.get(key, 0)
    return out


def run_wsgi(paths: list[str]) -> None:
    client = WsgiClient(WsgiMiddleware(wsgi_app))
    for path in paths:
        try:
            client.get(path)
        except RuntimeError:
            pass


def test_wsgi_requests_are_counted_per_release_and_sent_at_close(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn, release="shop@3.1", environment="staging", default_integrations=False)
    run_wsgi(["/", "/", "/message", "/handled", "/crash"])
    sdk_core.close()
    (row,) = receiver.items("session")
    payload = row["payload"]
    assert payload["attrs"] == {"release": "shop@3.1", "environment": "staging"}
    assert totals(receiver) == {"exited": 3, "errored": 1, "crashed": 1}
    for bucket in payload["aggregates"]:
        assert bucket["started"].endswith(":00Z") and len(bucket["started"]) == 20
    assert row["label"] == "shop@3.1"
    assert len(receiver.events()) == 3  # message, handled, crash


def test_no_release_no_sessions_and_the_option_switches_them_off(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn, default_integrations=False)  # no release: no release health
    run_wsgi(["/", "/crash"])
    sdk_core.close()
    sdk_core.init(receiver.dsn, release="r1", auto_session_tracking=False, default_integrations=False)
    run_wsgi(["/"])
    sdk_core.close()
    assert receiver.items("session") == []
    assert receiver.stats().get("item_sessions") is None


def test_nested_integrations_count_a_request_once(receiver: Receiver) -> None:
    app = Flask("shop")

    @app.route("/")
    def index() -> str:
        return "ok"

    @app.route("/boom")
    def boom() -> str:
        raise KeyError("boom")

    sdk_core.init(receiver.dsn, release="flask@1", integrations=[FlaskIntegration()], default_integrations=False)
    client = WsgiClient(WsgiMiddleware(app))  # WSGI middleware around Flask's own integration
    client.get("/")
    client.get("/boom")
    sdk_core.close()
    assert totals(receiver) == {"exited": 1, "errored": 0, "crashed": 1}


def test_asgi_requests(receiver: Receiver) -> None:
    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def fail(request: Request) -> Response:
        raise LookupError("nope")

    app = AsgiMiddleware(Starlette(routes=[Route("/", ok), Route("/fail", fail)]))
    sdk_core.init(receiver.dsn, release="asgi@1", default_integrations=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(4):
            assert client.get("/").status_code == 200
        assert client.get("/fail").status_code == 500
    sdk_core.close()
    assert totals(receiver) == {"exited": 4, "errored": 0, "crashed": 1}


def test_aggregates_leave_every_interval_without_close(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    from sdk_core import sessions

    monkeypatch.setattr(sessions, "FLUSH_INTERVAL", 0.2)
    sdk_core.init(receiver.dsn, release="r2", default_integrations=False)
    run_wsgi(["/"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not receiver.items("session"):
        time.sleep(0.02)
    assert totals(receiver)["exited"] == 1
    run_wsgi(["/", "/"])
    sdk_core.close()
    assert totals(receiver)["exited"] == 3
    assert len(receiver.items("session")) >= 2  # one aggregate per interval that had requests
