"""Lazy installation: ``init`` imports no framework; a framework imported later is still instrumented.

Each case runs in a fresh interpreter, since what matters is what ``sys.modules`` holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

FRAMEWORKS = ("django", "flask", "celery", "fastapi", "starlette", "sqlalchemy", "aiohttp", "redis", "rq")

PRELUDE = """
import json, sys
import sdk_core
from sdk_core.testing import capture_events
import integrations

FRAMEWORKS = {frameworks!r}

def imported():
    return [m for m in FRAMEWORKS if m in sys.modules]

def flask_error(events):
    import flask

    app = flask.Flask("lazy")

    @app.route("/boom/<int:n>")
    def boom(n):
        raise RuntimeError(f"lazy boom {{n}}")

    status = app.test_client().get("/boom/7").status_code
    sdk_core.flush(5)
    return status, [
        (e["exception"]["values"][-1]["mechanism"]["type"], e.get("transaction"))
        for e in events if "exception" in e
    ]
"""


def run(body: str) -> dict[str, Any]:
    code = PRELUDE.format(frameworks=FRAMEWORKS) + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CODERADAR_DSN", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_init_imports_no_framework_and_flask_imported_later_is_instrumented() -> None:
    result = run(
        """
        with capture_events() as events:
            after_init = imported()
            waiting = integrations.pending()
            status, captured = flask_error(events)
            installed = integrations.installed("flask") is not None
            listed = all("flask" in e["sdk"]["integrations"] for e in events)
            flask_module = sys.modules["flask"]
            loaders = [type(flask_module.__loader__).__name__, type(flask_module.__spec__.loader).__name__]
        print(json.dumps({"after_init": after_init, "waiting": waiting, "status": status,
                          "captured": captured, "installed": installed, "loaders": loaders,
                          "listed": listed}))
        """
    )
    assert result["after_init"] == []
    assert {"django", "flask", "celery"} <= set(result["waiting"])
    assert result["status"] == 500
    assert result["installed"] is True
    assert result["captured"] == [["flask", "boom"]]
    assert result["loaders"] == ["SourceFileLoader", "SourceFileLoader"]  # source lookups unaffected
    assert result["listed"] is True  # events' sdk.integrations names it, though installed after init


def test_django_and_celery_imported_after_init_are_installed() -> None:
    result = run(
        """
        with capture_events():
            import django, celery
            found = {name: integrations.installed(name) is not None for name in ("django", "celery")}
            from django.core.handlers.wsgi import WSGIHandler
            wrapped = hasattr(WSGIHandler.__call__, "__wrapped__")
        print(json.dumps({"found": found, "wrapped": wrapped, "waiting": integrations.pending()}))
        """
    )
    assert result["found"] == {"django": True, "celery": True}
    assert result["wrapped"] is True
    assert "django" not in result["waiting"] and "celery" not in result["waiting"]


def test_framework_already_imported_is_installed_at_init() -> None:
    result = run(
        """
        import flask
        with capture_events() as events:
            installed = integrations.installed("flask") is not None
            status, captured = flask_error(events)
        print(json.dumps({"installed": installed, "captured": captured}))
        """
    )
    assert result == {"installed": True, "captured": [["flask", "boom"]]}


def test_a_new_init_cancels_what_the_previous_one_left_waiting() -> None:
    """Import hooks of an earlier init that are still armed must do nothing."""
    result = run(
        """
        sdk_core.init(transport=None, dsn="http://k@127.0.0.1:9/1")   # defaults: flask waits
        with capture_events(default_integrations=False) as events:
            status, captured = flask_error(events)
            installed = integrations.installed("flask") is not None
        print(json.dumps({"installed": installed, "captured": captured, "status": status}))
        """
    )
    assert result == {"installed": False, "captured": [], "status": 500}


def test_close_cancels_pending_installs() -> None:
    result = run(
        """
        sdk_core.init("http://k@127.0.0.1:9/1")
        sdk_core.close(0.1)
        import flask
        print(json.dumps({"installed": integrations.installed("flask") is not None,
                          "waiting": integrations.pending()}))
        """
    )
    assert result == {"installed": False, "waiting": []}


def test_disabled_default_stays_off_when_its_framework_is_imported() -> None:
    result = run(
        """
        with capture_events(disabled_integrations=["flask"]) as events:
            status, captured = flask_error(events)
            installed = sorted(i for i in ("flask", "logging", "django") if integrations.installed(i))
            import django
            installed_after = sorted(i for i in ("flask", "logging", "django") if integrations.installed(i))
        print(json.dumps({"captured": captured, "installed": installed, "after": installed_after}))
        """
    )
    assert [c for c in result["captured"] if c[0] == "flask"] == []  # Flask's own error log still reaches logging
    assert result["installed"] == ["logging"]
    assert result["after"] == ["django", "logging"]


def test_explicit_instance_waits_for_its_framework_and_replaces_the_default() -> None:
    result = run(
        """
        from integrations.flask import FlaskIntegration

        configured = FlaskIntegration(transaction_style="url")
        after_construct = imported()
        with capture_events(integrations=[configured]) as events:
            status, captured = flask_error(events)
            same = integrations.installed("flask") is configured
            has_logging = integrations.installed("logging") is not None
        print(json.dumps({"after_construct": after_construct, "captured": captured, "same": same,
                          "has_logging": has_logging}))
        """
    )
    assert result["after_construct"] == []
    assert result["same"] is True
    assert result["has_logging"] is True  # an explicit list adds to the defaults
    assert result["captured"] == [["flask", "/boom/<int:n>"]]


def test_http_client_imported_after_init_gets_breadcrumbs() -> None:
    """Even the standard library's ``http.client`` is instrumented on import, not imported by ``init``."""
    result = run(
        """
        import threading
        with capture_events() as events:
            after_init = "http.client" in sys.modules
            from http.server import BaseHTTPRequestHandler, HTTPServer
            import urllib.request

            class Ok(BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(204)
                    self.end_headers()

                def log_message(self, *args):
                    pass

            server = HTTPServer(("127.0.0.1", 0), Ok)
            threading.Thread(target=server.handle_request, daemon=True).start()
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/ping?token=x").close()
            sdk_core.capture_message("after the call")
            sdk_core.flush(5)
        crumbs = [c for e in events for c in (e.get("breadcrumbs") or {}).get("values", []) if c.get("type") == "http"]
        print(json.dumps({"after_init": after_init, "crumbs": [c["data"] for c in crumbs]}))
        """
    )
    assert result["after_init"] is False
    (crumb,) = result["crumbs"]
    assert crumb["method"] == "GET" and crumb["url"].endswith("/ping") and crumb["status_code"] == 204
    assert crumb["http.query"] == "token"


def test_import_hook_fires_once_after_the_module_ran_and_survives_a_failed_import(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from integrations import _import_hooks

    package = tmp_path / "lazy_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sub.py").write_text(
        "import os\nif os.environ.get('LAZY_PROBE_FAIL'):\n    raise RuntimeError('first import fails')\nVALUE = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LAZY_PROBE_FAIL", "1")
    seen: list[tuple[str, int, bool]] = []

    def hook(module: Any) -> None:
        parent = sys.modules["lazy_probe_pkg"]
        seen.append((module.__name__, module.VALUE, parent.sub is module))

    try:
        assert _import_hooks.watch("lazy_probe_pkg.sub", hook)
        try:
            import lazy_probe_pkg.sub  # noqa: F401
        except RuntimeError:
            pass
        assert seen == []
        monkeypatch.delenv("LAZY_PROBE_FAIL")
        import lazy_probe_pkg.sub as sub

        assert seen == [("lazy_probe_pkg.sub", 42, True)]  # ran, bound on its package, once
        assert type(sub.__loader__).__name__ == "SourceFileLoader"
        assert _import_hooks.watch("lazy_probe_pkg.sub", hook) is False  # already imported
    finally:
        _import_hooks.unwatch_all()
        for name in ("lazy_probe_pkg.sub", "lazy_probe_pkg"):
            sys.modules.pop(name, None)
