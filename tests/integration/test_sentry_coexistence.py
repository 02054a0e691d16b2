"""Both SDKs in one process (a migration from sentry-sdk): each gets its own events, nothing breaks.

sentry-sdk runs with its default integrations (threading with scope propagation, logging, stdlib,
excepthook, and the auto-enabled Flask and Django ones) and an in-memory transport; ours with its
defaults plus thread scope propagation. sentry-sdk's patches cannot be undone, so each case runs in
a fresh interpreter, once per initialisation order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, logging, sys, threading, types

import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="coexistence", ALLOWED_HOSTS=["*"], ROOT_URLCONF="coexist_urls",
    MIDDLEWARE=[], INSTALLED_APPS=[], LOGGING_CONFIG=None,
)
django.setup()
from django.core.wsgi import get_wsgi_application
from django.urls import path


def django_view(request, n):
    raise KeyError("django boom")


urls = types.ModuleType("coexist_urls")
urls.urlpatterns = [path("orders/<int:n>/", django_view)]
sys.modules["coexist_urls"] = urls

import flask
import sentry_sdk
from sentry_sdk.transport import Transport
from werkzeug.test import Client

import sdk_core
from integrations.threading import ThreadingIntegration
from sdk_core.testing import capture_events


class SentryMemory(Transport):
    def __init__(self):
        super().__init__({"dsn": "http://key@127.0.0.1:9/1"})
        self.events = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


def init_sentry():
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=sentry_memory, default_integrations=True,
                    auto_session_tracking=False)


sentry_memory = SentryMemory()
order = sys.argv[1]
results = {}
with capture_events(integrations=[ThreadingIntegration(propagate_scope=True)]) as ours:
    if order == "sentry-first":
        # capture_events has already initialised ours; re-initialise ours after sentry's patches.
        init_sentry()
        sdk_core.init(transport=sdk_core.get_client().transport,
                      integrations=[ThreadingIntegration(propagate_scope=True)])
    else:
        init_sentry()
    results["sentry_integrations"] = sorted(sentry_sdk.get_client().integrations)

    # 1. threads: a failing one, and one that reads the starter's scope
    def fail():
        raise ValueError("thread boom")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join(10)

    def report():
        sdk_core.capture_message("from a thread")
        sentry_sdk.capture_message("from a thread")

    with sdk_core.isolation_scope():
        sdk_core.set_tag("started_by", "request")
        with sentry_sdk.isolation_scope():
            sentry_sdk.set_tag("started_by", "request")
            thread = threading.Thread(target=report)
            thread.start()
            thread.join(10)

    # 2. logging
    logging.getLogger("coexist").error("log boom")

    # 3. Flask
    app = flask.Flask("coexist")

    @app.route("/items/<int:n>")
    def flask_view(n):
        raise LookupError("flask boom")

    results["flask_status"] = Client(app).get("/items/3").status_code

    # 4. Django through its WSGI handler
    results["django_status"] = Client(get_wsgi_application()).get("/orders/5/").status_code

    sdk_core.flush(5)
    sentry_sdk.flush(5)


def summary(events):
    out = []
    for e in events:
        values = (e.get("exception") or {}).get("values") or []
        if values:
            last = values[-1]
            out.append({"kind": "exception", "type": last.get("type"), "value": last.get("value"),
                        "mechanism": (last.get("mechanism") or {}).get("type"),
                        "transaction": e.get("transaction")})
        else:
            message = e.get("message")
            if isinstance(message, dict):
                message = message.get("formatted") or message.get("message")
            message = message or (e.get("logentry") or {}).get("message")
            out.append({"kind": "message", "message": message, "tag": (e.get("tags") or {}).get("started_by")})
    return out


results["ours"] = summary(ours)
results["sentry"] = summary(sentry_memory.events)
print(json.dumps(results))
"""


def _run(order: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("CODERADAR_DSN", "SENTRY_DSN"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, order], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "TypeError" not in out.stderr, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _exceptions(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["value"]: e for e in events if e["kind"] == "exception"}


def _messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "message"]


@pytest.mark.parametrize("order", ["ours-first", "sentry-first"])
def test_both_sdks_capture_their_own_events(order: str) -> None:
    result = _run(order)
    assert {"threading", "logging", "flask", "django"} <= set(result["sentry_integrations"])
    assert result["flask_status"] == 500
    assert result["django_status"] == 500
    for sdk in ("ours", "sentry"):
        errors = _exceptions(result[sdk])
        assert errors["thread boom"]["type"] == "ValueError", (sdk, result[sdk])
        assert errors["thread boom"]["mechanism"] == "threading", (sdk, result[sdk])
        assert errors["flask boom"]["type"] == "LookupError", (sdk, result[sdk])
        assert errors["'django boom'"]["type"] == "KeyError", (sdk, result[sdk])
        messages = _messages(result[sdk])
        assert {"message": "from a thread", "tag": "request", "kind": "message"} in messages, (sdk, messages)
        assert any(m["message"] == "log boom" for m in messages), (sdk, messages)
    ours = _exceptions(result["ours"])
    assert (ours["flask boom"]["mechanism"], ours["flask boom"]["transaction"]) == ("flask", "flask_view")
    assert (ours["'django boom'"]["mechanism"], ours["'django boom'"]["transaction"]) == (
        "django",
        "/orders/<int:n>/",
    )


def test_uninstall_keeps_a_patch_made_over_ours_and_ours_passes_through() -> None:
    """What sentry-sdk does to ``Thread.start`` or ``Logger.callHandlers`` after we patched them."""
    from integrations import _patch

    class Target:
        def method(self) -> str:
            return "original"

    calls: list[str] = []

    def ours(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append("ours")
        return wrapped(*args, **kwargs)

    assert _patch.wrap(Target, "method", ours)
    below = Target.method

    def theirs(self: Target) -> str:
        calls.append("theirs")
        return str(below(self))

    Target.method = theirs  # type: ignore[method-assign]
    assert Target().method() == "original" and calls == ["theirs", "ours"]
    calls.clear()
    assert _patch.unwrap(Target, "method")
    assert Target.__dict__["method"] is theirs  # their patch survives our uninstall
    assert Target().method() == "original" and calls == ["theirs"]  # ours is inert
    calls.clear()
    assert _patch.wrap(Target, "method", ours)  # a new init wraps again, once
    assert Target().method() == "original" and calls == ["ours", "theirs"]
    _patch.unwrap(Target, "method")
    assert Target.__dict__["method"] is theirs
