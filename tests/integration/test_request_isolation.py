"""Strict request isolation under real servers: an event carries only its own request's (or task's) breadcrumbs.

Each server runs the application in its own process, configured as in production (the server's
own access and error logs on), with the SDK sending to a loopback ingest server. Requests are
sent concurrently on loopback; odd-numbered ones fail. Every failing request's event must hold
its own log lines and none of another request's lines, access-log entries or error logs.
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import processes
from tests.support.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
PER_ROUND = 8

# Application lines say "request <n>" or "task <n>"; server lines name the path "/r/<n>".
_MENTION = re.compile(r"(?:request |task |/r/)(\d+)\b")
# Celery's own lines name the task id: "Task iso.work[<id>] received".
_TASK_ID = re.compile(r"\[([0-9a-f]{8}-[0-9a-f-]{27})\]")

APP_COMMON = """
import logging, os, sys
import sdk_core

sdk_core.init(os.environ["ISO_DSN"], shutdown_timeout=5)
log = logging.getLogger("isoapp")
log.setLevel(logging.INFO)
"""

ASGI_APP = (
    APP_COMMON
    + """
import asyncio
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from integrations.asgi import AsgiMiddleware


async def handler(request):
    n = int(request.path_params["n"])
    log.info("request %d begins", n)
    await asyncio.sleep(0.02 * (n % 3))
    log.info("request %d ends", n)
    if n % 2:
        raise RuntimeError(f"boom in request {n}")
    return PlainTextResponse(str(n))


app = AsgiMiddleware(Starlette(routes=[Route("/r/{n:int}", handler)]))
"""
)

WSGI_APP = (
    APP_COMMON
    + """
import time
import flask

app = flask.Flask("isoapp")


@app.route("/r/<int:n>")
def handler(n):
    log.info("request %d begins", n)
    time.sleep(0.02 * (n % 3))
    log.info("request %d ends", n)
    if n % 2:
        raise RuntimeError(f"boom in request {n}")
    return str(n)
"""
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ingest() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def _serve(cmd: list[str], app_source: str, tmp_path: Path, ingest: LoopbackServer, port: int) -> Any:
    (tmp_path / "isoapp.py").write_text(textwrap.dedent(app_source))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "ISO_DSN": ingest.dsn()}
    proc = processes.spawn(cmd, cwd=tmp_path, env=env, log=tmp_path / "server.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / "server.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    processes.stop(proc)
    raise AssertionError("server did not start: " + (tmp_path / "server.log").read_text())


def _hammer(port: int) -> list[int]:
    """ROUNDS rounds of PER_ROUND concurrent requests; the numbers of those that failed."""
    failed: list[int] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        # A connection per request: a server may close a connection after a 500, racing a reuse.
        response = httpx.get(f"http://127.0.0.1:{port}/r/{n}", timeout=30)
        if response.status_code >= 500:
            with lock:
                failed.append(n)

    for round_ in range(ROUNDS):
        threads = [threading.Thread(target=one, args=(round_ * PER_ROUND + i,)) for i in range(PER_ROUND)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    return sorted(failed)


def _crumb_text(crumb: dict[str, Any]) -> str:
    return str(crumb.get("message") or "") + " " + str((crumb.get("data") or {}).get("url") or "")


def _assert_isolated(events: list[dict[str, Any]], expected: list[int], unit: str = "request") -> None:
    by_number: dict[int, dict[str, Any]] = {}
    for event in events:
        value = event["exception"]["values"][-1]["value"]
        match = re.search(rf"boom in {unit} (\d+)", value)
        if match and event["exception"]["values"][-1]["mechanism"]["type"] != "logging":
            by_number[int(match.group(1))] = event
    assert sorted(by_number) == expected
    for n, event in by_number.items():
        crumbs = (event.get("breadcrumbs") or {}).get("values") or []
        texts = [_crumb_text(c) for c in crumbs]
        own_task = ((event.get("contexts") or {}).get("celery") or {}).get("task_id")
        strangers = [t for t in texts if any(int(m) != n for m in _MENTION.findall(t))]
        strangers += [t for t in texts if any(task_id != own_task for task_id in _TASK_ID.findall(t))]
        assert strangers == [], f"{unit} {n} carries other {unit}s' lines: {strangers}"
        unscoped = [t for t in texts if "Exception in ASGI application" in t or "Error handling request" in t]
        assert unscoped == [], f"{unit} {n} carries server error lines: {unscoped}"
        own = [t for t in texts if f"{unit} {n} " in t]
        assert len(own) == 2, f"{unit} {n} lost its own lines: {texts}"


def test_uvicorn_events_carry_only_their_own_requests_breadcrumbs(tmp_path: Path, ingest: LoopbackServer) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "isoapp:app", "--host", "127.0.0.1", "--port", str(port)]
    proc = _serve(cmd, ASGI_APP, tmp_path, ingest, port)
    try:
        failed = _hammer(port)
        assert len(failed) == ROUNDS * PER_ROUND // 2
        assert ingest.wait_for(lambda: len(_errors(ingest)) >= len(failed), timeout=30)
    finally:
        processes.stop(proc)
    log = (tmp_path / "server.log").read_text()
    assert '"GET /r/1 HTTP/1.1" 500' in log  # the access log was on
    _assert_isolated(_errors(ingest), failed)


@pytest.mark.skipif(shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="no gunicorn")
@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_events_carry_only_their_own_requests_breadcrumbs(
    tmp_path: Path, ingest: LoopbackServer, worker: str
) -> None:
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn, "-b", f"127.0.0.1:{port}", "-w", "2", "-k", worker, "--threads", "4"]
    cmd += ["--access-logfile", "-", "--error-logfile", "-", "--log-level", "info", "isoapp:app"]
    proc = _serve(cmd, WSGI_APP, tmp_path, ingest, port)
    try:
        failed = _hammer(port)
        assert len(failed) == ROUNDS * PER_ROUND // 2
        assert ingest.wait_for(lambda: len(_errors(ingest)) >= len(failed), timeout=30)
    finally:
        processes.stop(proc)
    log = (tmp_path / "server.log").read_text()
    assert '"GET /r/1 HTTP/1.1" 500' in log  # the access log was on
    _assert_isolated(_errors(ingest), failed)


def _errors(ingest: LoopbackServer) -> list[dict[str, Any]]:
    return [
        e for e in ingest.events if "exception" in e and e["exception"]["values"][-1]["mechanism"]["type"] != "logging"
    ]


CELERY_APP = (
    APP_COMMON
    + """
import time
from celery import Celery

folder = os.environ["ISO_BROKER"]
app = Celery("isoapp", broker="filesystem://")
app.conf.update(
    broker_transport_options={"data_folder_in": folder, "data_folder_out": folder, "polling_interval": 0.05},
    worker_hijack_root_logger=False,
    task_default_queue="iso",
)


@app.task(name="iso.work")
def work(n):
    log.info("task %d begins", n)
    time.sleep(0.02 * (n % 3))
    log.info("task %d ends", n)
    if n % 2:
        raise RuntimeError(f"boom in task {n}")
    return n
"""
)


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_celery_worker_events_carry_only_their_own_tasks_breadcrumbs(
    tmp_path: Path, ingest: LoopbackServer, pool: str
) -> None:
    from celery import Celery

    broker = tmp_path / "broker"
    broker.mkdir()
    (tmp_path / "isoapp.py").write_text(textwrap.dedent(CELERY_APP))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "ISO_DSN": ingest.dsn()}
    env["ISO_BROKER"] = str(broker)
    cmd = [sys.executable, "-m", "celery", "-A", "isoapp", "worker", "-P", pool, "-c", "2", "-Q", "iso"]
    cmd += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    proc = processes.spawn(cmd, cwd=tmp_path, env=env, log=tmp_path / "worker.log")
    producer = Celery("producer", broker="filesystem://")
    producer.conf.broker_transport_options = {
        "data_folder_in": str(broker),
        "data_folder_out": str(broker),
        "control_folder": str(tmp_path / "control"),  # not the current directory
    }
    total = ROUNDS * PER_ROUND
    try:
        for n in range(total):
            producer.send_task("iso.work", args=[n], queue="iso")
        expected = [n for n in range(total) if n % 2]
        arrived = ingest.wait_for(lambda: len(_errors(ingest)) >= len(expected), timeout=90)
        assert arrived, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        processes.stop(proc)
    log = (tmp_path / "worker.log").read_text()
    assert "Task iso.work[" in log and "received" in log  # the worker's own lines were logged
    _assert_isolated(_errors(ingest), expected, unit="task")


def test_a_request_started_from_inside_another_gets_its_own_scope() -> None:
    """uvicorn starts a pipelined request's task from the previous request's ``send``: the new task
    inherits that context, yet must not share the previous request's scope, tags or breadcrumbs."""
    import asyncio

    import sdk_core
    from integrations.asgi import AsgiMiddleware
    from tests.support.sdk import init_with as init_memory

    transport = init_memory()
    sdk_core.add_breadcrumb(message="logged by the server outside any request")
    sdk_core.set_tag("service", "api")  # process-wide data does reach every request
    spawned: list[asyncio.Task[None]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        n = scope["path"]
        sdk_core.add_breadcrumb(message=f"request {n} line")
        if n == "/1":
            sdk_core.set_tag("only", "request 1")
            # As uvicorn does for the next pipelined request: a task created in this context.
            spawned.append(asyncio.create_task(middleware(_http("/2"), receive, send)))
            await asyncio.sleep(0)
        raise RuntimeError(f"boom in request {n[1:]}")

    middleware = AsgiMiddleware(app)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await middleware(_http("/1"), receive, send)
        with pytest.raises(RuntimeError):
            await spawned[0]

    asyncio.run(main())
    assert sdk_core.flush(5)
    events = {e["exception"]["values"][-1]["value"]: e for e in transport.events}
    first, second = events["boom in request 1"], events["boom in request 2"]
    assert [c["message"] for c in second["breadcrumbs"]["values"]] == ["request /2 line"]
    assert [c["message"] for c in first["breadcrumbs"]["values"]] == ["request /1 line"]
    assert second["tags"] == {"service": "api"}
    assert first["tags"] == {"service": "api", "only": "request 1"}
    assert second["request"]["url"].endswith("/2")


def _http(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": [(b"host", b"t")], "query_string": b""}


def test_uvicorn_pipelined_request_gets_its_own_scope(tmp_path: Path, ingest: LoopbackServer) -> None:
    """uvicorn starts a pipelined request from inside the previous request's ``send``."""
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "isoapp:app", "--host", "127.0.0.1", "--port", str(port)]
    proc = _serve(cmd, ASGI_APP, tmp_path, ingest, port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /r/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /r/5 HTTP/1.1\r\nHost: t\r\n\r\n")
            received = b""
            while received.count(b"HTTP/1.1 ") < 2:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        assert ingest.wait_for(lambda: len(_errors(ingest)) >= 1, timeout=30), (tmp_path / "server.log").read_text()
    finally:
        processes.stop(proc)
    assert b"HTTP/1.1 200" in received
    _assert_isolated(_errors(ingest), [5])
    (event,) = _errors(ingest)
    assert event["request"]["url"].endswith("/r/5")
