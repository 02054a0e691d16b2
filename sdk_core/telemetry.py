"""Trace ids from an active OpenTelemetry span, and the SDK's own counters.

Only ``opentelemetry-api`` is used, and only if the application already imported it: an app
that does not use OTel pays no import and no call.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from typing import Any

from .scope import Scope, new_span_id, new_trace_id


def _active_span() -> Any:
    trace_module = sys.modules.get("opentelemetry.trace")
    if trace_module is None:
        return None
    try:
        span = trace_module.get_current_span()
        return span if span.get_span_context().is_valid else None
    except Exception:
        return None


def otel_trace_context(span: Any) -> dict[str, Any] | None:
    """The trace context of an OpenTelemetry span (ids as hex), or None for an invalid span."""
    try:
        ctx = span.get_span_context()
        out: dict[str, Any] = {"type": "trace", "trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
        parent = getattr(span, "parent", None)
        if parent is not None and getattr(parent, "is_valid", False):
            out["parent_span_id"] = f"{parent.span_id:016x}"
        attributes = getattr(span, "attributes", None)
        op = attributes.get("sentry.op") if attributes is not None and hasattr(attributes, "get") else None
        name = getattr(span, "name", None)
        if isinstance(op, str):
            out["op"] = op  # set by sdk_core.start_span and the integrations
        elif isinstance(name, str):
            out["op"] = name
        return out
    except Exception:
        return None


def record_on_span(exc: BaseException) -> None:
    """Also record a captured exception on the active, recording OTel span (status error)."""
    span = _active_span()
    if span is None:
        return
    try:
        if not span.is_recording():
            return
        span.record_exception(exc)
        status_module = sys.modules.get("opentelemetry.trace.status")
        if status_module is not None:
            span.set_status(status_module.Status(status_module.StatusCode.ERROR, type(exc).__name__))
    except Exception:
        pass


def trace_context(isolation: Scope) -> dict[str, Any]:
    """``contexts.trace`` for an event: the active OTel span, else the scope's own trace."""
    span = _active_span()
    if span is not None:
        from_span = otel_trace_context(span)
        if from_span is not None:
            return from_span
    if isolation.trace_id is None:
        isolation.trace_id = new_trace_id()
        isolation.span_id = new_span_id()
    ctx: dict[str, Any] = {"type": "trace", "trace_id": isolation.trace_id, "span_id": isolation.span_id}
    if isolation.parent_span_id:
        ctx["parent_span_id"] = isolation.parent_span_id
    return ctx


METER_NAME = "coderadar.sdk"


class _OtelInstruments:
    """The SDK's instruments on the application's MeterProvider (no-ops without an OTel SDK)."""

    def __init__(self, metrics_module: Any) -> None:
        from ._version import VERSION

        meter = metrics_module.get_meter(METER_NAME, VERSION)
        self.captured = meter.create_counter("coderadar.sdk.events.captured", "{event}", "Events captured")
        self.dropped = meter.create_counter("coderadar.sdk.events.dropped", "{event}", "Events dropped, by reason")
        self.redactions = meter.create_counter("coderadar.sdk.redactions", "{redaction}", "Redactions, by rule id")
        self.envelopes = meter.create_counter("coderadar.sdk.envelopes.sent", "{envelope}", "Envelopes delivered")
        self.bytes = meter.create_counter("coderadar.sdk.bytes.sent", "By", "Bytes delivered (compressed)")
        self.latency = meter.create_histogram("coderadar.sdk.send.duration", "s", "Time to deliver one envelope")


# Protocol reasons -> the short names the metrics use.
_METRIC_REASONS = {
    "sample_rate": "sampled",
    "before_send": "before_send",
    "event_processor": "before_send",
    "queue_overflow": "queue_full",
    "cache_overflow": "queue_full",
    "ratelimit_backoff": "rate_limited",
    "network_error": "network",
    "send_error": "invalid",
    "internal_sdk_error": "internal",
}


class Stats:
    """The SDK's own counters, for ``sdk_core.stats()`` and, when OTel is in use, as OTel metrics.

    Drops are counted once, in the DiscardCounter that also feeds client reports; this class
    listens to it. OTel instruments are created the first time a counter moves after the
    application imported ``opentelemetry.metrics``; until then the only cost is a dict lookup.
    """

    def __init__(self, discards: Any = None) -> None:
        self._lock = threading.Lock()
        self.captured = 0
        self.redactions: Counter[str] = Counter()
        self.envelopes_sent = 0
        self.bytes_sent = 0
        self._last_bytes = 0
        self._discards = discards
        self._otel: _OtelInstruments | None = None
        if discards is not None:
            discards.listener = self.on_drop

    def _instruments(self) -> _OtelInstruments | None:
        otel = self._otel
        if otel is not None:
            return otel
        metrics_module = sys.modules.get("opentelemetry.metrics")
        if metrics_module is None:
            return None
        try:
            self._otel = _OtelInstruments(metrics_module)
        except Exception:
            return None
        return self._otel

    def record_captured(self) -> None:
        """Count one event accepted for sending (the OTel counter too, when an SDK is configured)."""
        self.captured += 1
        otel = self._instruments()
        if otel is not None:
            otel.captured.add(1)

    def on_drop(self, reason: str, category: str, quantity: int) -> None:
        """Mirror a discard (by reason and category) on the OTel counter; ``stats()`` reads the discards itself."""
        otel = self._instruments()
        if otel is not None:
            otel.dropped.add(quantity, {"reason": _METRIC_REASONS.get(reason, reason), "category": category})

    def add_redactions(self, counts: dict[str, int]) -> None:
        """Add one event's redaction counts, per rule id."""
        if not counts:
            return
        with self._lock:
            self.redactions.update(counts)
        otel = self._instruments()
        if otel is not None:
            for rule, n in counts.items():
                otel.redactions.add(n, {"rule": rule})

    def record_sent(self, total_bytes: int, elapsed: float) -> None:
        """Note a delivered envelope: bytes sent so far and the POST's duration."""
        with self._lock:
            self.envelopes_sent += 1
            delta, self._last_bytes = total_bytes - self._last_bytes, total_bytes
            self.bytes_sent += max(0, delta)
        otel = self._instruments()
        if otel is not None:
            otel.envelopes.add(1)
            otel.bytes.add(max(0, delta))
            otel.latency.record(elapsed)

    def as_dict(self) -> dict[str, Any]:
        """A snapshot for ``sdk_core.stats()``: plain types only, safe to serialise."""
        dropped: Counter[str] = Counter()
        if self._discards is not None:
            for (reason, _category), n in list(self._discards.totals.items()):
                dropped[reason] += n
        with self._lock:
            return {
                "captured": self.captured,
                "dropped": dict(dropped),
                "redactions": dict(self.redactions),
                "envelopes_sent": self.envelopes_sent,
                "bytes_sent": self.bytes_sent,
            }
