"""Trivial Flask, Django, FastAPI and aiohttp apps, a Celery task and a SQLAlchemy statement for
the per-request / per-task / per-statement overhead scenario.

Requests go straight into the WSGI callable with a prebuilt environ, or into the ASGI callable
with a prebuilt scope on one event loop, or into aiohttp's ``Application._handle`` (where both
SDKs hook in) with a mocked request: no server, no socket, so the harness adds as little as
possible around what the SDK adds. Each app is built *after* the SDK's ``init``, as an
application would be.
"""

from __future__ import annotations

import io
from typing import Any, Callable

HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
    "Accept": "application/json",
    "Accept-Language": "de-DE,de;q=0.9,en;q=0.8",
    "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NzExIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
    "Cookie": "sessionid=8b3c1e0f2a4d4b6c9e7f; csrftoken=Zx81kQpL0o9mN2bV",
    "X-Request-Id": "9f1c2b7e6d5a4c3b",
}

urlpatterns: list[Any] = []  # Django's ROOT_URLCONF is this module; filled by django_app()


def _environ(path: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "page=2&sort=desc",
        "SERVER_NAME": "shop.example.com",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": "",
        "HTTP_HOST": "shop.example.com",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in HEADERS.items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def _status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
    if not status.startswith("200"):
        raise RuntimeError(f"the benchmark view answered {status}")
    return lambda data: None


def wsgi_caller(app: Any, path: str) -> Callable[[], None]:
    """A zero-argument callable that performs one GET request against ``app``."""
    base = _environ(path)

    def request() -> None:
        env = dict(base)
        env["wsgi.input"] = io.BytesIO(b"")
        body = app(env, _status)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return request


def flask_app() -> Callable[[], None]:
    from flask import Flask

    app = Flask("bench")

    @app.route("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        return "ok"

    return wsgi_caller(app, "/orders/1234")


def _django_view(request: Any, order_id: int) -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


def django_app() -> Callable[[], None]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only-not-secret",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            DATABASES={},
            MIDDLEWARE=[
                "django.middleware.security.SecurityMiddleware",
                "django.middleware.common.CommonMiddleware",
            ],
            USE_TZ=True,
            LOGGING_CONFIG=None,
        )
    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.urls import path

    urlpatterns[:] = [path("orders/<int:order_id>/", _django_view)]
    return wsgi_caller(get_wsgi_application(), "/orders/1234/")


def celery_task() -> Callable[[], None]:
    """One eager task execution through Celery's tracer (``task.apply()``), signals included."""
    from celery import Celery

    app = Celery("bench", broker="memory://", backend=None, set_as_current=True)
    app.conf.task_store_eager_result = False

    @app.task(name="bench.add")
    def add(x: int, y: int) -> int:
        return x + y

    def run() -> None:
        result = add.apply(args=(2, 3))
        if result.result != 5:
            raise RuntimeError(f"the benchmark task returned {result.result!r}")

    return run


def fastapi_app() -> Callable[[], None]:
    """One GET through FastAPI's ASGI callable (routing, validation, JSON response)."""
    import asyncio

    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, bool]:
        return {"ok": True}

    headers = [(b"host", b"shop.example.com")]
    headers += [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
    base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/orders/1234",
        "raw_path": b"/orders/1234",
        "root_path": "",
        "query_string": b"page=2&sort=desc",
        "headers": headers,
        "client": ("203.0.113.7", 50000),
        "server": ("shop.example.com", 80),
    }
    loop = asyncio.new_event_loop()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"the benchmark endpoint answered {message['status']}")

    def request() -> None:
        loop.run_until_complete(app(dict(base), receive, send))

    return request


def aiohttp_app() -> Callable[[], None]:
    """One GET through ``Application._handle`` (routing, handler, response) with a mocked request."""
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    async def order(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/orders/{order_id}", order)
    app.freeze()
    headers = {"Host": "shop.example.com", **HEADERS}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    # Building a mocked request costs far more than the handling measured here (it uses
    # unittest.mock), so one request object serves every call: _handle re-resolves it each time.
    mocked = make_mocked_request("GET", "/orders/1234?page=2&sort=desc", headers, app=app)

    async def one() -> None:
        response = await app._handle(mocked)
        if response.status != 200:
            raise RuntimeError(f"the benchmark handler answered {response.status}")

    def request() -> None:
        loop.run_until_complete(one())

    return request


def sqlalchemy_statement() -> Callable[[], None]:
    """One parametrised statement on an open sqlite connection (SQLAlchemy Core)."""
    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://")
    conn = engine.connect()
    statement = text("SELECT :order_id AS order_id")

    def run() -> None:
        if conn.execute(statement, {"order_id": 1234}).scalar() != 1234:
            raise RuntimeError("the benchmark statement returned the wrong row")

    return run


APPS: dict[str, Callable[[], Callable[[], None]]] = {
    "flask": flask_app,
    "django": django_app,
    "celery": celery_task,
    "fastapi": fastapi_app,
    "aiohttp": aiohttp_app,
    "sqlalchemy": sqlalchemy_statement,
}

INTEGRATION_IDS: dict[str, str] = {"fastapi": "starlette"}
"""The integration identifier a framework's scenario must find installed (both SDKs), if not its name."""
