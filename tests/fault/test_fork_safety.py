"""Real ``os.fork`` while the worker is busy: the child gets a fresh worker, no inherited queue,
socket, claim or held lock, and never deadlocks. A child that hangs is killed and the test fails."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import sdk_core
from sdk_core import _internal_errors
from tests.support.loopback import LoopbackServer, Received, Reply

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

KEY = "0123456789abcdef0123456789abcdef"
CHILD_TIMEOUT = 20.0


def fork_child(body: Callable[[], bool]) -> int:
    """Fork; the child runs ``body`` and exits 0 if it returned True. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(int(CHILD_TIMEOUT) + 5)  # a deadlocked child must not outlive the test
            code = 0 if body() else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    return pid


def wait_child(pid: int, timeout: float = CHILD_TIMEOUT) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("forked child deadlocked")
        time.sleep(0.01)


def messages(server: LoopbackServer) -> list[str]:
    return sorted(e["logentry"]["message"] for e in server.events if "logentry" in e)


def test_fork_while_a_request_is_in_flight(loopback: LoopbackServer, tmp_path: Path) -> None:
    release = threading.Event()

    def behaviour(n: int, req: Received) -> Reply:
        if any(e.get("logentry", {}).get("message") == "in flight" for e in req.events):
            release.wait(10)
        return Reply()

    loopback.set_behaviour(behaviour)
    sdk_core.init(loopback.dsn(KEY), default_integrations=False, spool_dir=str(tmp_path), http_timeout=10)
    sdk_core.capture_message("in flight")
    assert loopback.wait_for(lambda: len(loopback.requests) == 1)  # the worker is inside httpx now
    for i in range(5):
        sdk_core.capture_message(f"queued {i}")  # the child must not inherit these

    def child() -> bool:
        client = sdk_core.get_client()
        assert client is not None
        ok = client.queued() == 0
        sdk_core.capture_message("from child")
        return ok and sdk_core.flush(5)

    pid = fork_child(child)
    assert wait_child(pid) == 0
    release.set()
    assert sdk_core.flush(5)
    assert messages(loopback) == sorted(["in flight", "from child"] + [f"queued {i}" for i in range(5)])


def test_fork_while_the_worker_holds_every_sdk_lock(loopback: LoopbackServer, tmp_path: Path) -> None:
    holding, release = threading.Event(), threading.Event()
    client: Any = None

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> Any:
        if event.get("logentry", {}).get("message") == "hold":
            with client.discards._lock, client.stats._lock, client.spool._lock, _internal_errors._last_lock:
                holding.set()
                release.wait(10)
        return event

    client = sdk_core.init(
        loopback.dsn(KEY), default_integrations=False, spool_dir=str(tmp_path), before_send=before_send
    )
    sdk_core.capture_message("hold")
    assert holding.wait(5)

    def child() -> bool:
        c: Any = sdk_core.get_client()
        c.discards.record("before_send", "error")
        _internal_errors.log_internal_error("in the child")
        c.spool.pending()
        sdk_core.stats()
        sdk_core.capture_message("from child")
        return sdk_core.flush(5) and c.transport.sent_envelopes >= 1

    pid = fork_child(child)
    code = wait_child(pid)
    release.set()
    assert code == 0
    assert sdk_core.flush(5)
    assert messages(loopback) == ["from child", "hold"]
    assert loopback.discarded() == {("before_send", "error"): 1}  # the child's count, reported by the child


def test_fork_storm_while_events_are_in_flight(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(lambda n, r: (time.sleep(0.001), Reply())[1])
    client = sdk_core.init(loopback.dsn(KEY), default_integrations=False, spool_dir=str(tmp_path), batch_interval=0)
    assert client is not None
    stop = threading.Event()
    sent: list[str] = []

    def producer() -> None:
        i = 0
        while not stop.is_set():
            sdk_core.capture_message(f"parent {i}")
            sent.append(f"parent {i}")
            i += 1
            time.sleep(0.005)

    thread = threading.Thread(target=producer)
    thread.start()
    try:
        codes = []
        for k in range(12):
            time.sleep(0.02)
            pid = fork_child(lambda k=k: bool(sdk_core.capture_message(f"child {k}")) and sdk_core.flush(5))
            codes.append(wait_child(pid))
    finally:
        stop.set()
        thread.join(5)
    assert codes == [0] * 12
    assert sdk_core.flush(10)
    got = messages(loopback)
    assert [m for m in got if m.startswith("child")] == sorted(f"child {k}" for k in range(12))
    assert sorted(m for m in got if m.startswith("parent")) == sorted(sent)  # nothing lost, nothing twice
    assert client.discards.totals == {}


def _mp_child(dsn: str, queue: Any) -> None:
    ok = bool(sdk_core.capture_message("from mp child")) and sdk_core.flush(5)
    queue.put(ok)


def test_multiprocessing_fork_context(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(lambda n, r: (time.sleep(0.01), Reply())[1])
    sdk_core.init(loopback.dsn(KEY), default_integrations=False)
    for i in range(20):
        sdk_core.capture_message(f"parent {i}")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_mp_child, args=(loopback.dsn(KEY), queue))
    proc.start()
    proc.join(CHILD_TIMEOUT)
    if proc.is_alive():
        proc.kill()
        pytest.fail("multiprocessing child deadlocked")
    assert queue.get(timeout=1) is True
    assert sdk_core.flush(5)
    assert messages(loopback).count("from mp child") == 1
    assert len([m for m in messages(loopback) if m.startswith("parent")]) == 20


# A fresh interpreter (httpx not imported yet): fork right after the first capture, while the
# worker is importing httpx and building its client. Children that inherited a half-held import
# lock would hang in their first send; the test bounds every child with a deadline.
FORK_DURING_FIRST_SEND = """
import os, signal, sys, time
import sdk_core

assert "httpx" not in sys.modules
sdk_core.init(sys.argv[1], default_integrations=False)
failures = 0
for k in range(5):
    sdk_core.capture_message(f"parent {k}")
    pid = os.fork()
    if pid == 0:
        signal.alarm(15)
        sdk_core.capture_message(f"child {k}")
        os._exit(0 if sdk_core.flush(10) else 2)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            failures += os.waitstatus_to_exitcode(status) != 0
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            failures += 1
            break
        time.sleep(0.01)
print("failures", failures, "flushed", sdk_core.flush(10), flush=True)
"""


def test_fork_while_the_worker_imports_httpx(loopback: LoopbackServer) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", FORK_DURING_FIRST_SEND, loopback.dsn(KEY)],
        cwd=root,
        env=dict(os.environ, PYTHONPATH=str(root)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "failures 0 flushed True", out.stderr[-2000:]
    got = messages(loopback)
    assert [m for m in got if m.startswith("child")] == [f"child {k}" for k in range(5)]
    assert [m for m in got if m.startswith("parent")] == [f"parent {k}" for k in range(5)]
