"""The two back-ends behave alike: our own TracerProvider (no OTel SDK) and the OTel SDK's, via our processor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import sdk_core
from sdk_core.tracing import SpanProcessor
from sdk_core.tracing import provider as own
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


@pytest.fixture
def sdk_provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with global_provider(provider):
        yield provider, exporter


def _init(**options: Any) -> InMemoryTransport:
    transport = InMemoryTransport()
    options.setdefault("traces_sample_rate", 1.0)
    sdk_core.init(transport=transport, default_integrations=False, **options)
    return transport


class TestWithTheOtelSdk:
    def test_app_provider_is_kept_and_its_spans_become_a_transaction(
        self, sdk_provider: tuple[TracerProvider, InMemorySpanExporter]
    ) -> None:
        provider, exporter = sdk_provider
        t = _init(release="otel@1")
        assert trace.get_tracer_provider() is provider
        tracer = trace.get_tracer("app.instrumentation")
        with tracer.start_as_current_span("GET /checkout", kind=trace.SpanKind.SERVER) as root:
            root.set_attribute("http.request.method", "GET")
            root.set_attribute("http.route", "/checkout")
            root.set_attribute("http.response.status_code", 200)
            with tracer.start_as_current_span("SELECT", kind=trace.SpanKind.CLIENT) as db:
                db.set_attribute("db.system", "postgresql")
                db.set_attribute("db.statement", "SELECT * FROM carts WHERE id = 42")
            with sdk_core.start_span(op="cache", name="warm"):
                pass
        assert sdk_core.flush(5)
        (tx,) = t.transactions
        assert tx["transaction"] == "/checkout" and tx["transaction_info"] == {"source": "route"}
        ctx = tx["contexts"]["trace"]
        assert ctx["op"] == "http.server" and ctx["trace_id"] == f"{root.get_span_context().trace_id:032x}"
        by_op = {s["op"]: s for s in tx["spans"]}
        assert by_op["db"]["description"] == "SELECT * FROM carts WHERE id = ?"
        assert by_op["cache"]["description"] == "warm"
        assert len(exporter.get_finished_spans()) == 3  # the app's own exporter still gets everything
        assert conformance_errors(tx) == []

    def test_our_sampling_decides_what_reaches_the_dsn_only(
        self, sdk_provider: tuple[TracerProvider, InMemorySpanExporter]
    ) -> None:
        _provider, exporter = sdk_provider
        t = _init(traces_sample_rate=0.0)
        with sdk_core.start_span(op="task", name="dropped"):
            with sdk_core.start_span(op="db", name="child"):
                pass
        assert sdk_core.flush(5)
        assert t.transactions == []
        assert len(exporter.get_finished_spans()) == 2

    def test_incoming_headers_continue_through_the_sdk_provider(
        self, sdk_provider: tuple[TracerProvider, InMemorySpanExporter]
    ) -> None:
        from sdk_core.tracing.spans import start_server_span

        t = _init(traces_sample_rate=0.0)
        baggage = f"sentry-trace_id={TRACE_ID},sentry-sample_rand=0.5,sentry-sampled=true"
        server = start_server_span(
            "GET", "/x", origin="manual", sentry_trace=f"{TRACE_ID}-{SPAN_ID}-1", baggage=baggage
        )
        assert server is not None
        server.detach()
        server.finish()
        assert sdk_core.flush(5)
        (tx,) = t.transactions
        assert tx["contexts"]["trace"]["trace_id"] == TRACE_ID
        assert tx["contexts"]["trace"]["parent_span_id"] == SPAN_ID

    def test_one_line_attach_to_a_provider_that_is_not_global(self) -> None:
        t = InMemoryTransport()
        with global_provider(own.TracerProvider()):
            sdk_core.init(transport=t, default_integrations=False, traces_sample_rate=1.0)
            provider = TracerProvider()
            provider.add_span_processor(SpanProcessor())
            provider.add_span_processor(SpanProcessor())  # twice: still one transaction
            with provider.get_tracer("private").start_as_current_span("private work"):
                pass
            assert sdk_core.flush(5)
        (tx,) = t.transactions
        assert tx["transaction"] == "private work"


def _run(script: str, **env: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter; it prints one JSON line."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, env=full_env, cwd=str(REPO_ROOT), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


_BLOCK_SDK = """
import importlib.abc, sys

class _NoOtelSdk(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry.sdk" or name.startswith("opentelemetry.sdk."):
            raise ImportError(f"{name} is blocked: this process has no OpenTelemetry SDK")
        return None

sys.meta_path.insert(0, _NoOtelSdk())
"""


def test_without_the_otel_sdk_our_provider_is_installed_and_works() -> None:
    result = _run(
        _BLOCK_SDK
        + """
import json
import sdk_core
from opentelemetry import trace
from sdk_core.transport.memory import InMemoryTransport

t = InMemoryTransport()
sdk_core.init(transport=t, default_integrations=False, traces_sample_rate=1.0)
with trace.get_tracer("lib").start_as_current_span("outer") as outer:
    with sdk_core.start_span(op="db", name="inner"):
        pass
sdk_core.flush(5)
(tx,) = t.transactions
print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__module__,
    "sdk_loaded": any(m.startswith("opentelemetry.sdk") for m in sys.modules),
    "name": tx["transaction"],
    "spans": [s["op"] for s in tx["spans"]],
}))
"""
    )
    assert result == {
        "provider": "sdk_core.tracing.provider",
        "sdk_loaded": False,
        "name": "outer",
        "spans": ["db"],
    }


def test_otel_python_tracer_provider_env_is_respected() -> None:
    result = _run(
        """
import json
import sdk_core
from opentelemetry import trace
from sdk_core.transport.memory import InMemoryTransport

t = InMemoryTransport()
sdk_core.init(transport=t, default_integrations=False, traces_sample_rate=1.0)
with sdk_core.start_span(op="task", name="job"):
    pass
sdk_core.flush(5)
print(json.dumps({"provider": type(trace.get_tracer_provider()).__module__, "sent": len(t.transactions)}))
""",
        OTEL_PYTHON_TRACER_PROVIDER="sdk_tracer_provider",
    )
    assert result == {"provider": "opentelemetry.sdk.trace", "sent": 1}


def test_tracing_off_installs_nothing() -> None:
    result = _run(
        """
import json, sys
import sdk_core
from sdk_core.transport.memory import InMemoryTransport

sdk_core.init(transport=InMemoryTransport(), default_integrations=False)
print(json.dumps({"otel_trace_imported": "opentelemetry.trace" in sys.modules}))
"""
    )
    assert result == {"otel_trace_imported": False}


def test_sdk_roots_never_ended_are_swept_and_counted(sdk_provider: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    from sdk_core.tracing import processor, runtime

    t = _init()
    tracer = trace.get_tracer("leaky")
    leaked = tracer.start_span("never ends")
    child = tracer.start_span("child", context=trace.set_span_in_context(leaked))
    assert len(processor._open) == 2
    rt = runtime.current()
    assert rt is not None
    rt.max_root_seconds = -1.0
    assert processor.sweep(rt) == 1
    assert processor._open == {}
    client = sdk_core.get_client()
    assert client is not None and client.discards.totals[("buffer_overflow", "transaction")] == 1
    child.end()
    leaked.end()  # ending late sends nothing
    assert sdk_core.flush(5)
    assert t.transactions == []
