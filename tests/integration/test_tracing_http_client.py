"""Outgoing HTTP: http.client and httpx spans, trace headers to propagation targets only, never on our uploads."""

from __future__ import annotations

import http.client
import urllib.request
from typing import Any, Iterator

import httpx
import pytest

import integrations
import sdk_core
from integrations.httpx import HttpxIntegration
from integrations.stdlib import StdlibIntegration
from sdk_core.transport.memory import InMemoryTransport
from tests.support.loopback import LoopbackServer, Reply
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


@pytest.fixture
def downstream() -> Iterator[LoopbackServer]:
    with LoopbackServer(Reply(status=201)) as server:
        yield server


def _init(**options: Any) -> InMemoryTransport:
    transport = InMemoryTransport()
    options.setdefault("traces_sample_rate", 1.0)
    sdk_core.init(
        transport=transport,
        default_integrations=False,
        integrations=[StdlibIntegration(), HttpxIntegration()],
        **options,
    )
    return transport


def _base(server: LoopbackServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def _transactions(t: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(5)
    return t.transactions


@pytest.mark.parametrize("library", ["httpx", "urllib"])
def test_client_span_and_headers_continue_the_trace(library: str, downstream: LoopbackServer) -> None:
    t = _init()
    url = f"{_base(downstream)}/hook?token=s3cret&x=1"
    with sdk_core.start_span(op="task", name="caller") as root:
        if library == "httpx":
            assert httpx.post(url, content=b"{}").status_code == 201
        else:
            request = urllib.request.Request(url, data=b"{}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
    (tx,) = _transactions(t)
    (span,) = [s for s in tx["spans"] if s["op"] == "http.client"]
    assert span["description"] == f"POST {_base(downstream)}/hook"
    assert span["data"]["http.response.status_code"] == 201
    assert span["data"]["http.query"] == "token&x"
    assert "s3cret" not in str(tx)
    headers = downstream.requests[-1].headers
    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert headers["sentry-trace"] == f"{trace_id}-{span['span_id']}-1"
    assert headers["traceparent"] == f"00-{trace_id}-{span['span_id']}-01"
    assert f"sentry-trace_id={trace_id}" in headers["baggage"] and "sentry-sampled=true" in headers["baggage"]
    assert conformance_errors(tx) == []


def test_only_propagation_targets_get_headers(downstream: LoopbackServer) -> None:
    _init(trace_propagation_targets=["^https://api\\.example\\.com"])
    with sdk_core.start_span(op="task", name="caller"):
        httpx.post(f"{_base(downstream)}/x", content=b"{}")
        conn = http.client.HTTPConnection("127.0.0.1", downstream.port, timeout=5)
        conn.request("POST", "/y", body=b"{}")
        conn.getresponse().read()
        conn.close()
    for request in downstream.requests:
        assert "sentry-trace" not in request.headers and "traceparent" not in request.headers


def test_unsampled_trace_propagates_its_negative_decision(downstream: LoopbackServer) -> None:
    t = _init(traces_sample_rate=0.0)
    with sdk_core.start_span(op="task", name="caller"):
        httpx.post(f"{_base(downstream)}/x", content=b"{}")
    assert _transactions(t) == []
    headers = downstream.requests[-1].headers
    assert headers["sentry-trace"].endswith("-0") and headers["traceparent"].endswith("-00")
    assert "sentry-sampled=false" in headers["baggage"]


def test_the_sdk_own_uploads_carry_no_trace_headers(downstream: LoopbackServer) -> None:
    with LoopbackServer() as dsn_server:
        sdk_core.init(
            f"http://key@127.0.0.1:{dsn_server.port}/1",
            traces_sample_rate=1.0,
            default_integrations=False,
            integrations=[StdlibIntegration(), HttpxIntegration()],
        )
        with sdk_core.start_span(op="task", name="caller"):
            sdk_core.capture_message("inside")
            assert sdk_core.flush(5)
            httpx.post(f"{_base(downstream)}/x", content=b"{}")
        assert sdk_core.flush(5)
        kinds = [i.type for r in dsn_server.requests if r.envelope for i in r.envelope.items]
        assert "transaction" in kinds and "event" in kinds
        for request in dsn_server.requests:
            assert "sentry-trace" not in request.headers and "baggage" not in request.headers
        (tx,) = [i for r in dsn_server.requests for i in r.items_of("transaction")]
        assert [s["op"] for s in tx["spans"]] == ["http.client"]


def test_a_server_refusing_transactions_stops_them_before_the_queue() -> None:
    processed: list[str] = []

    def hook(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        processed.append(event["transaction"])  # runs on the worker: only for queued transactions
        return event

    with LoopbackServer(Reply(headers={"X-Sentry-Rate-Limits": "60:transaction;span:organization"})) as server:
        client = sdk_core.init(
            f"http://key@127.0.0.1:{server.port}/1",
            default_integrations=False,
            traces_sample_rate=1.0,
            before_send_transaction=hook,
        )
        assert client is not None
        with sdk_core.start_span(op="task", name="first"):
            pass
        assert sdk_core.flush(5)
        for _ in range(3):
            with sdk_core.start_span(op="task", name="later"):
                pass
        assert sdk_core.flush(5)
        assert processed == ["first"]
        assert client.discards.totals[("ratelimit_backoff", "transaction")] == 3
        assert client.discards.totals[("ratelimit_backoff", "span")] == 3
        sent = [i.type for r in server.requests if r.envelope for i in r.envelope.items]
        assert sent.count("transaction") == 1
