"""The HTTP transport against a real loopback server: batching, wire format, and every fault."""

from __future__ import annotations

import gzip
import logging
import os
import time
from typing import Any

import orjson
import pytest

import sdk_core
from sdk_core.transport.backoff import Backoff
from tests.support.loopback import LoopbackServer, Reply

KEY = "0123456789abcdef0123456789abcdef"


def start(server: LoopbackServer, **options: Any) -> Any:
    options.setdefault("default_integrations", False)
    options.setdefault("scrubbing", False)
    client = sdk_core.init(server.dsn(KEY), **options)
    assert client is not None
    return client


def fast_retries(client: Any, retries: int = 3) -> None:
    client.transport._backoff = Backoff(max_retries=retries, base=0.05, cap=0.2)


def test_many_events_many_envelopes_one_connection(loopback: LoopbackServer) -> None:
    start(loopback)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(50)]
    assert sdk_core.flush(5)
    assert len(loopback.requests) == 50
    for req in loopback.requests:
        assert req.envelope is not None
        kinds = [i.type for i in req.envelope.items]
        assert kinds.count("event") == 1, kinds  # never two events in one envelope
    assert sorted(e["event_id"] for e in loopback.events) == sorted(ids)
    assert len({r.client_port for r in loopback.requests}) <= 2  # keep-alive, not a connection per event


def test_wire_format(loopback: LoopbackServer) -> None:
    start(loopback, release="r1")
    event_id = sdk_core.capture_message("hello")
    sdk_core.flush(5)
    (req,) = loopback.requests
    assert req.path == "/api/42/envelope/"
    assert req.headers["content-encoding"] == "gzip"
    assert gzip.decompress(req.raw) == req.body
    assert req.headers["content-type"] == "application/x-sentry-envelope"
    auth = req.headers["x-sentry-auth"]
    assert f"sentry_key={KEY}" in auth and "sentry_version=7" in auth
    header_line, item_header, payload = req.body.split(b"\n", 2)
    env_headers = orjson.loads(header_line)
    assert env_headers["event_id"] == event_id
    assert env_headers["sent_at"].endswith("Z")
    assert env_headers["sdk"]["name"] == "coderadar.python"
    assert env_headers["trace"]["public_key"] == KEY and env_headers["trace"]["release"] == "r1"
    item = orjson.loads(item_header)
    assert item["type"] == "event" and item["length"] == len(payload.rstrip(b"\n"))


def test_uncompressed_option(loopback: LoopbackServer) -> None:
    start(loopback, compression="none")
    sdk_core.capture_message("plain")
    sdk_core.flush(5)
    assert "content-encoding" not in loopback.requests[0].headers
    assert loopback.events[0]["logentry"]["message"] == "plain"


def test_429_retry_after_drops_and_reports(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(lambda n, r: Reply(429, {"Retry-After": "30"}) if n == 1 else Reply())
    client = start(loopback)
    sdk_core.capture_message("first")
    sdk_core.flush(5)
    for i in range(3):
        sdk_core.capture_message(f"limited {i}")
    sdk_core.flush(5)
    assert len(loopback.requests) == 2  # the first, then one client report; the limited never went out
    report = loopback.requests[1].items_of("client_report")[0]
    assert report["discarded_events"] == [{"reason": "ratelimit_backoff", "category": "error", "quantity": 3}]
    assert client.transport.rate_limits.is_limited("error")


def test_rate_limit_header_on_200_is_per_category(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(Reply(200, {"X-Sentry-Rate-Limits": "86400:transaction;span:organization"}))
    start(loopback)
    sdk_core.capture_message("a")
    sdk_core.flush(5)
    sdk_core.capture_message("b")
    sdk_core.flush(5)
    assert [e["logentry"]["message"] for e in loopback.events] == ["a", "b"]


def test_rate_limit_header_for_errors_stops_errors(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(Reply(200, {"X-Sentry-Rate-Limits": "60:error:key"}))
    start(loopback)
    sdk_core.capture_message("a")
    sdk_core.flush(5)
    sdk_core.capture_message("b")
    sdk_core.flush(5)
    assert [e["logentry"]["message"] for e in loopback.events] == ["a"]
    assert sdk_core.get_client().discards.totals[("ratelimit_backoff", "error")] == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_then_delivered(loopback: LoopbackServer, status: int) -> None:
    loopback.set_behaviour(lambda n, r: Reply(status) if n <= 2 else Reply())
    client = start(loopback)
    fast_retries(client)
    event_id = sdk_core.capture_message("retry me")
    assert sdk_core.flush(5)
    assert len(loopback.requests) == 3
    assert [r.events[0]["event_id"] for r in loopback.requests] == [event_id] * 3
    assert client.discards.totals == {}


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_final_rejections_are_not_retried(
    loopback: LoopbackServer, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sdk_core")  # whatever earlier tests did to the root level
    loopback.set_behaviour(Reply(status, body=b'{"detail":"nope"}'))
    client = start(loopback)
    fast_retries(client)
    sdk_core.capture_message("rejected")
    sdk_core.flush(5)
    # The rejection is final: settled (counted) at once, and a further flush sends nothing more.
    assert loopback.wait_for(lambda: client.discards.totals.get(("send_error", "error")) == 1)
    sdk_core.flush(5)
    event_requests = [r for r in loopback.requests if r.events]
    assert len(event_requests) == 1
    assert client.discards.totals[("send_error", "error")] == 1
    if status in (401, 403):
        messages = [r.getMessage() for r in caplog.records if r.name == "sdk_core"]
        assert any("refused the DSN" in m and "/42" in m for m in messages)
        assert all(KEY not in m for m in messages)


def test_retries_give_up_and_count(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(Reply(503))
    client = start(loopback)
    fast_retries(client, retries=2)
    sdk_core.capture_message("doomed")
    sdk_core.flush(5)
    assert len([r for r in loopback.requests if r.events]) == 3
    assert client.discards.totals[("send_error", "error")] == 1


def test_hung_server_times_out_and_flush_honours_deadline(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(Reply(fault="hang", hang_seconds=5))
    start(loopback, http_timeout=0.3)
    t0 = time.monotonic()
    assert sdk_core.capture_message("slow") is not None
    assert time.monotonic() - t0 < 0.1  # the caller never waits on the network
    ok = sdk_core.flush(1.0)
    elapsed = time.monotonic() - t0
    assert ok is False and elapsed < 1.6


@pytest.mark.parametrize("fault", ["reset", "garbage"])
def test_connection_faults_are_retried(loopback: LoopbackServer, fault: str) -> None:
    loopback.set_behaviour(lambda n, r: Reply(fault=fault) if n == 1 else Reply())
    client = start(loopback)
    fast_retries(client)
    event_id = sdk_core.capture_message("x")
    assert sdk_core.flush(5)
    assert loopback.requests[-1].events[0]["event_id"] == event_id


def test_queue_overflow_drops_newest_and_never_blocks(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(Reply(fault="hang", hang_seconds=3))
    client = start(loopback, max_queue_size=10, http_timeout=2.0)
    t0 = time.monotonic()
    results = [sdk_core.capture_message(f"m{i}") for i in range(500)]
    assert time.monotonic() - t0 < 1.0
    dropped = results.count(None)
    assert dropped >= 480
    assert client.discards.totals[("queue_overflow", "error")] == dropped


def test_close_with_dead_endpoint_respects_shutdown_timeout() -> None:
    server = LoopbackServer().start()
    dsn = server.dsn(KEY)
    server.stop()  # nothing listens there any more
    sdk_core.init(dsn, default_integrations=False, scrubbing=False, shutdown_timeout=0.5)
    for i in range(20):
        sdk_core.capture_message(f"m{i}")
    t0 = time.monotonic()
    sdk_core.close()
    assert time.monotonic() - t0 < 1.5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_a_working_worker(loopback: LoopbackServer) -> None:
    loopback.set_behaviour(lambda n, r: Reply())
    start(loopback)
    sdk_core.capture_message("parent before fork")
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            sdk_core.capture_message("from child")
            code = 0 if sdk_core.flush(5) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sdk_core.capture_message("parent after fork")
    assert sdk_core.flush(5)
    messages = sorted(e["logentry"]["message"] for e in loopback.events)
    assert messages == ["from child", "parent after fork", "parent before fork"]
