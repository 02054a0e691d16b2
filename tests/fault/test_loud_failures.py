"""Loud where it matters, quiet where it does not: one WARNING per outage and one INFO on recovery,
no httpx log records for the SDK's own uploads, a queue bounded by bytes, stats() after close()."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest

import sdk_core
from sdk_core.transport import BaseTransport
from sdk_core.transport.backoff import Backoff
from sdk_core.transport.envelope import Envelope
from tests.support.loopback import LoopbackServer

KEY = "0123456789abcdef0123456789abcdef"


def _sdk_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sdk_core" and r.levelno == level]


def test_an_outage_warns_once_naming_reason_and_host_then_recovery_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sdk_core")
    server = LoopbackServer().start()
    server.stop()  # the port now refuses connections
    try:
        client = sdk_core.init(server.dsn(KEY), default_integrations=False, shutdown_timeout=0.5)
        assert client is not None
        client.transport._backoff = Backoff(max_retries=50, base=0.05, cap=0.1)  # type: ignore[union-attr]
        for i in range(5):
            sdk_core.capture_message(f"during the outage {i}")
        sdk_core.flush(0.5)
        warnings = _sdk_records(caplog, logging.WARNING)
        assert len(warnings) == 1, warnings
        assert "connection refused" in warnings[0] and f"127.0.0.1:{server.port}" in warnings[0]
        assert KEY not in warnings[0]
        assert _sdk_records(caplog, logging.INFO) == []

        server.restart()
        sdk_core.capture_message("after the outage")
        assert server.wait_for(lambda: "after the outage" in [e["logentry"]["message"] for e in server.events])
        infos = _sdk_records(caplog, logging.INFO)
        assert len(infos) == 1 and "again" in infos[0] and KEY not in infos[0]
        assert len(_sdk_records(caplog, logging.WARNING)) == 1  # still the one
    finally:
        sdk_core.close(1)
        server.stop()


def test_own_uploads_leave_no_httpx_records_but_the_apps_requests_do(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    sdk_core.init(loopback.dsn(KEY), default_integrations=False)
    sdk_core.capture_message("through our transport")
    assert sdk_core.flush(5)
    assert loopback.wait_for(lambda: len(loopback.events) == 1)
    ours = [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert ours == []
    with httpx.Client() as app_client:  # the application's own request, logged as usual
        app_client.get(f"http://127.0.0.1:{loopback.port}/health")
    assert any(r.name == "httpx" and "HTTP Request" in r.getMessage() for r in caplog.records)


class _Blocking(BaseTransport):
    """Holds the worker inside the first send until released, so the queue fills up."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sent: list[Envelope] = []

    def send(self, envelope: Envelope) -> None:
        self.entered.set()
        self.release.wait(10)
        self.sent.append(envelope)


def test_the_queue_is_bounded_by_bytes_and_stats_report_its_size() -> None:
    transport = _Blocking()
    sdk_core.init(transport=transport, default_integrations=False, max_queue_bytes=40_000, scrubbing=False)

    def fail(i: int) -> None:
        payload = "x" * 900  # a local big enough that the event's size is mostly its frames
        raise ValueError(f"{payload} {i}")

    def capture(i: int) -> Any:
        try:
            fail(i)
        except ValueError:
            return sdk_core.capture_exception()

    assert capture(0) is not None
    assert transport.entered.wait(5)  # the worker holds event 0
    ids = [capture(i) for i in range(1, 200)]
    stats = sdk_core.stats()
    assert 0 < stats["queue_bytes"] <= 40_000
    assert 0 < stats["queue_events"] < 199
    dropped = stats["dropped"]["queue_overflow"]
    assert dropped == ids.count(None) and dropped > 0  # the newest were refused, and counted
    transport.release.set()
    assert sdk_core.flush(10)
    assert len(transport.sent) == 200 - dropped
    assert sdk_core.stats()["queue_bytes"] == 0


def test_stats_still_answer_after_close() -> None:
    sdk_core.init(transport=BaseTransportRecorder(), default_integrations=False)
    sdk_core.capture_message("one")
    sdk_core.capture_message("two")
    sdk_core.close(2)
    stats = sdk_core.stats()
    assert stats["captured"] == 2
    assert stats["queue_events"] == 0 and stats["queue_bytes"] == 0


class BaseTransportRecorder(BaseTransport):
    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    def send(self, envelope: Envelope) -> None:
        self.sent.append(envelope)
