"""Real framework traffic with planted secrets: Flask, Starlette and Django served on 127.0.0.1.

Each app is a real HTTP server on a loopback port, driven with httpx; the SDK sends through its
real HTTP transport to a loopback ingest server, and the events that server stored must hold
no 8-character piece of any planted secret (``sdk_core.testing.assert_no_secrets``). Secrets
travel in headers, cookies, query strings (plain and percent-encoded), form and JSON bodies
(name/value lists included), log calls with arguments, and a failed command line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import threading
from typing import Any, Iterator
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from django.conf import settings

from tests.integration.django_project.settings import settings_dict

if not settings.configured:
    settings.configure(**settings_dict())

import django

django.setup()

import uvicorn  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from flask import Flask, request  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import sdk_core  # noqa: E402
from integrations.asgi import AsgiMiddleware  # noqa: E402
from integrations.django import DjangoIntegration  # noqa: E402
from integrations.flask import FlaskIntegration  # noqa: E402
from integrations.logging import LoggingIntegration  # noqa: E402
from sdk_core.testing import assert_no_secrets  # noqa: E402
from tests.support.loopback import LoopbackServer  # noqa: E402

SECRETS = {
    "bearer": "k8Ws2QpZ7vN4xR1tY6uB3mJ9",
    "api_key": "Ak4Lm9Pq2Rs7Tv1Wx5Yz8Bc3",
    "session": "s3ss10nq8w7e6r5t4y3u2i1o0p9a8s7d",
    "csrf": "Cs9Rf8Tk7Np6Lm5Kj4Hg3Fd2",
    "query_key": "AIzaSyD4k9Lm2Pq7Rs1Tv6Wx3Yz8Bc5Nf0Hj2",
    "query_sig": "Sg7Hk2Lm9Pq4Rs1Tv8Wx5Yz3",
    "query_pwd": "Qwerty-42-Lima",
    "email": "ana.silva7@example.org",
    "form_password": "Tango*Delta*88",
    "form_card": "4111111111111111",
    "json_password": "Zulu-Hotel-5150",
    "json_pair": "Pr9Xm4Kw7Vb2Nc6Lz1Qs8Jd3",
    "log_password": "Victor7!Kilo",
    "log_token": "Lt5Gh8Jk2Mn6Bv9Cx3Za7Sd1",
    "log_key": "Kr2Tw8Yp4Qm6Zx9Nc1Vb7Lh5",
    "mysql_password": "My5ql-Pa55-Word",
}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
log = logging.getLogger("shop.auth")


def handle(form: dict[str, str], body: dict[str, Any]) -> None:
    """The app code every framework runs: log calls with arguments, then a failing command."""
    log.warning("login failed with password %s", form.get("password", ""))
    log.warning("retrying with key %s", SECRETS["log_key"])
    log.error("upstream rejected token=%s", SECRETS["log_token"])
    argv = ["mysql", "-uroot", f"-p{SECRETS['mysql_password']}", "shop"]
    raise subprocess.CalledProcessError(1, argv)


def _traffic(base: str, path: str) -> None:
    s = SECRETS
    query = f"key={s['query_key']}&sig={s['query_sig']}&pwd={s['query_pwd']}&email={quote(s['email'], safe='')}"
    headers = {
        "Authorization": f"Bearer {s['bearer']}",
        "X-Api-Key": s["api_key"],
        "Cookie": f"sessionid={s['session']}; csrftoken={s['csrf']}",
        "User-Agent": USER_AGENT,
    }
    form = {"password": s["form_password"], "card_number": s["form_card"], "note": "gift"}
    body = {
        "user": {"email": s["email"], "password": s["json_password"]},
        "headers": [{"name": "X-Auth-Token", "value": s["json_pair"]}],
    }
    json_headers = {**headers, "Content-Type": "application/json"}
    # one connection per request: a server may drop the connection of a request that failed
    for kwargs in ({"data": form, "headers": headers}, {"content": json.dumps(body), "headers": json_headers}):
        with httpx.Client(base_url=base, timeout=10) as client:
            with contextlib.suppress(httpx.TransportError):  # every request fails in the app: 500 or a reset
                assert client.post(f"{path}?{query}", **kwargs).status_code == 500


@contextlib.contextmanager
def _wsgi_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@contextlib.contextmanager
def _asgi_server(app: Any) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        ready = threading.Event()
        for _ in range(500):  # bounded poll: up to 10 s for the socket to be bound
            if server.started:
                ready.set()
                break
            ready.wait(0.02)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _flask() -> Flask:
    app = Flask(__name__)

    @app.post("/login")
    def login() -> Any:
        handle(dict(request.form), request.get_json(silent=True) or {})
        return "unreachable"

    return app


def _starlette() -> Any:
    async def login(req: Request) -> Response:
        raw = (await req.body()).decode()
        form = dict(parse_qsl(raw)) if "json" not in req.headers.get("content-type", "") else {}
        handle(form, json.loads(raw) if not form else {})
        return PlainTextResponse("unreachable")

    return AsgiMiddleware(Starlette(routes=[Route("/login", login, methods=["POST"])]))


@pytest.fixture
def ingest() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def _stored(ingest: LoopbackServer, at_least: int) -> list[dict[str, Any]]:
    assert sdk_core.flush(10.0)
    assert ingest.wait_for(lambda: len(ingest.events) >= at_least, timeout=10.0)
    return ingest.events


def _init(ingest: LoopbackServer, *integrations: Any) -> None:
    sdk_core.init(dsn=ingest.dsn(), default_integrations=False, integrations=[*integrations, LoggingIntegration()])


def _check(events: list[dict[str, Any]]) -> None:
    assert_no_secrets(events, SECRETS.values())
    blob = json.dumps(events)
    assert "Chrome/124.0.0.0" in blob  # a version in a user agent is not an IP address
    logged = [e for e in events if e.get("logentry", {}).get("message") == "upstream rejected token=%s"]
    assert logged, "the log event arrived with its template untouched"
    entry = logged[0]["logentry"]
    assert entry["params"] == ["[Filtered]"] and entry["formatted"] == "upstream rejected token=[Filtered]"
    crumbs = [c for e in events for c in e.get("breadcrumbs", {}).get("values", []) if c.get("type") == "log"]
    assert any(c.get("message") == "login failed with password [Filtered]" for c in crumbs)
    assert any(c.get("message") == "retrying with key [Filtered]" for c in crumbs)


class TestRealTraffic:
    def test_flask_over_loopback_stores_no_planted_secret(self, ingest: LoopbackServer) -> None:
        """Flask behind a real WSGI server: headers, cookies, query, form, JSON, logs and argv are scrubbed."""
        _init(ingest, FlaskIntegration())
        with _wsgi_server(_flask()) as base:
            _traffic(base, "/login")
        events = _stored(ingest, 4)  # per request: the logged error and the exception
        assert any("CalledProcessError" in json.dumps(e.get("exception", {})) for e in events)
        _check(events)

    def test_starlette_over_loopback_stores_no_planted_secret(self, ingest: LoopbackServer) -> None:
        """Starlette under uvicorn with the ASGI middleware: the same traffic, nothing planted survives."""
        _init(ingest)
        with _asgi_server(_starlette()) as base:
            _traffic(base, "/login")
        _check(_stored(ingest, 4))

    def test_django_over_loopback_stores_no_planted_secret(self, ingest: LoopbackServer) -> None:
        """Django's WSGI handler on a real server: request data with planted secrets is scrubbed."""
        sdk_core.init(dsn=ingest.dsn(), default_integrations=False, integrations=[DjangoIntegration()])
        with _wsgi_server(get_wsgi_application()) as base:
            _traffic(base, "/orders/42/")
        events = _stored(ingest, 2)
        assert_no_secrets(events, SECRETS.values())
        assert "Chrome/124.0.0.0" in json.dumps(events)
