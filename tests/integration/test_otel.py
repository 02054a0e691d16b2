"""OpenTelemetry: trace correlation, exceptions on spans, and the SDK's metrics via opentelemetry-api."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any, Iterator

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import sdk_core
from tests.support.sdk import init_with as init_memory

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
trace.set_tracer_provider(_provider)
_reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[_reader]))


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    _exporter.clear()
    yield


def _points() -> dict[str, list[Any]]:
    data = _reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            if sm.scope.name != "coderadar.sdk":
                continue
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def _sum(points: dict[str, list[Any]], name: str, **attrs: str) -> float:
    return sum(p.value for p in points.get(name, []) if all(p.attributes.get(k) == v for k, v in attrs.items()))


def test_event_inside_span_carries_its_ids_and_span_records_exception() -> None:
    t = init_memory()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent, tracer.start_as_current_span("checkout") as span:
        try:
            raise ValueError("inside span")
        except ValueError:
            sdk_core.capture_exception()
    sdk_core.flush(2)
    ctx = t.events[0]["contexts"]["trace"]
    assert ctx["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert ctx["span_id"] == f"{span.get_span_context().span_id:016x}"
    assert ctx["parent_span_id"] == f"{parent.get_span_context().span_id:016x}"
    finished = {s.name: s for s in _exporter.get_finished_spans()}
    checkout = finished["checkout"]
    assert checkout.status.status_code == trace.StatusCode.ERROR
    assert [e.name for e in checkout.events] == ["exception"]
    assert checkout.events[0].attributes["exception.type"] == "ValueError"


def test_record_exception_can_be_switched_off() -> None:
    init_memory(otel_record_exceptions=False)
    with trace.get_tracer("test").start_as_current_span("quiet"):
        sdk_core.capture_exception(ValueError("x"))
    (span,) = _exporter.get_finished_spans()
    assert span.events == () or list(span.events) == []


def test_without_active_span_scope_trace_is_used() -> None:
    t = init_memory()
    with sdk_core.isolation_scope() as scope:
        scope.set_propagation_context(trace_id="a" * 32, parent_span_id="b" * 16)
        sdk_core.capture_message("x")
    sdk_core.flush(2)
    ctx = t.events[0]["contexts"]["trace"]
    assert ctx["trace_id"] == "a" * 32 and ctx["parent_span_id"] == "b" * 16


def test_self_metrics_reach_the_metric_reader() -> None:
    before = _points()
    init_memory(sample_rate=1.0, before_send=lambda e, h: None if e.get("level") == "debug" else e)
    sdk_core.capture_message("contact me at jane.doe@example.com", level="error")
    sdk_core.capture_message("dropped by hook", level="debug")
    sdk_core.flush(2)
    after = _points()
    assert _sum(after, "coderadar.sdk.events.captured") - _sum(before, "coderadar.sdk.events.captured") == 2
    assert (
        _sum(after, "coderadar.sdk.events.dropped", reason="before_send")
        - _sum(before, "coderadar.sdk.events.dropped", reason="before_send")
        == 1
    )
    assert _sum(after, "coderadar.sdk.redactions", rule="email") >= 1
    stats = sdk_core.stats()
    assert stats["captured"] == 2 and stats["dropped"] == {"before_send": 1} and stats["redactions"]["email"] >= 1


def test_without_otel_sdk_nothing_breaks_and_nothing_is_imported() -> None:
    script = textwrap.dedent(
        """
        import sys
        import sdk_core
        from sdk_core.transport.memory import InMemoryTransport
        t = InMemoryTransport()
        sdk_core.init(transport=t, default_integrations=False)
        sdk_core.capture_exception(ValueError("x"))
        assert sdk_core.flush(2)
        assert len(t.events) == 1
        assert "opentelemetry" not in sys.modules, sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print("ok", sdk_core.stats()["captured"])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok 1"


def test_api_only_without_sdk_is_a_noop_exporter() -> None:
    script = textwrap.dedent(
        """
        from opentelemetry import trace, metrics
        import sdk_core
        from sdk_core.transport.memory import InMemoryTransport
        t = InMemoryTransport()
        sdk_core.init(transport=t, default_integrations=False)
        with trace.get_tracer("x").start_as_current_span("noop"):
            sdk_core.capture_exception(ValueError("x"))
        assert sdk_core.flush(2)
        ctx = t.events[0]["contexts"]["trace"]
        assert len(ctx["trace_id"]) == 32 and ctx["trace_id"] != "0" * 32
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
