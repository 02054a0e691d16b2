"""Trace ids from an active OpenTelemetry span, and the SDK's own counters.

Only ``opentelemetry-api`` is used, and only if the application already imported it: an app
that does not use OTel pays no import and no call.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from typing import Any, Optional

from .scope import Scope, new_span_id, new_trace_id


def otel_span_context() -> Optional[tuple[str, str]]:
    trace_module = sys.modules.get("opentelemetry.trace")
    if trace_module is None:
        return None
    try:
        span = trace_module.get_current_span()
        ctx = span.get_span_context()
        if not ctx.is_valid:
            return None
        return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    except Exception:
        return None


def trace_context(isolation: Scope) -> dict[str, Any]:
    """``contexts.trace`` for an event: the active OTel span, else the scope's own trace."""
    otel = otel_span_context()
    if otel is not None:
        return {"type": "trace", "trace_id": otel[0], "span_id": otel[1]}
    if isolation.trace_id is None:
        isolation.trace_id = new_trace_id()
        isolation.span_id = new_span_id()
    ctx: dict[str, Any] = {"type": "trace", "trace_id": isolation.trace_id, "span_id": isolation.span_id}
    if isolation.parent_span_id:
        ctx["parent_span_id"] = isolation.parent_span_id
    return ctx


class Stats:
    """Counters for ``sdk_core.stats()``: captured, dropped by reason, redactions by rule, sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.captured = 0
        self.dropped: Counter[str] = Counter()
        self.redactions: Counter[str] = Counter()
        self.envelopes_sent = 0
        self.bytes_sent = 0

    def drop(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self.dropped[reason] += n

    def add_redactions(self, counts: dict[str, int]) -> None:
        if counts:
            with self._lock:
                self.redactions.update(counts)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "captured": self.captured,
                "dropped": dict(self.dropped),
                "redactions": dict(self.redactions),
                "envelopes_sent": self.envelopes_sent,
                "bytes_sent": self.bytes_sent,
            }
