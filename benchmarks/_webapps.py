"""Trivial Flask, Django and Celery apps for the per-request / per-task overhead scenario.

Requests go straight into the WSGI callable with a prebuilt environ (no server, no socket), so the
harness adds as little as possible around what the SDK adds. Each app is built *after* the SDK's
``init``, as an application would be.
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


APPS: dict[str, Callable[[], Callable[[], None]]] = {
    "flask": flask_app,
    "django": django_app,
    "celery": celery_task,
}
