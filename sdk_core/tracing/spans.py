"""Span helpers for integrations (exposed through ``sdk_core.integration``): server roots and client
spans, all through the OpenTelemetry API and all free when tracing is off.

``start_server_span`` continues the caller's trace from its headers, makes the span current and
returns a ``ServerSpan`` handle; ``start_child_span`` starts an ``http.client``/``db``/queue span
under the current one without making it current (the caller ends it).
"""

from __future__ import annotations

from typing import Any, Mapping

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, StatusCode

from . import runtime as _rt
from .api import tracer
from .convert import ORIGIN, SOURCE
from .propagate import context_from_headers


def tracing_enabled() -> bool:
    """True when spans are recorded: a client runs with ``traces_sample_rate`` or ``traces_sampler``."""
    return _rt._runtime is not None


class ServerSpan:
    """The root span of one incoming request: current from start until ``detach``, sent at ``finish``."""

    __slots__ = ("_done", "_token", "method", "span")

    def __init__(self, span: Any, token: object, method: str) -> None:
        self.span = span
        self._done = False
        self._token: object = token
        self.method = method

    def set_route(self, route: str, source: str = "route") -> None:
        """Name the transaction after the route template (``/orders/<int:id>``), per OTel ``http.route``."""
        span = self.span
        if span.is_recording():
            span.set_attribute("http.route", route)
            if source != "route":
                span.set_attribute(SOURCE, source)
            span.update_name(f"{self.method} {route}")

    def set_status_code(self, code: int) -> None:
        """The response's HTTP status (a 5xx marks the transaction failed)."""
        span = self.span
        if span.is_recording():
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_status(StatusCode.ERROR)

    def detach(self) -> None:
        """Stop being the current span of this context (the request's code has returned); idempotent."""
        token, self._token = self._token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception:
                pass

    def finish(self, exc: BaseException | None = None) -> None:
        """End the span (an exception marks it failed); the transaction is queued. Idempotent."""
        if self._done:
            return
        self._done = True
        span = self.span
        if exc is not None and span.is_recording():
            span.set_attribute("exception.type", type(exc).__name__)
            span.set_status(StatusCode.ERROR)
        span.end()


def start_server_span(
    method: str,
    path: str,
    *,
    origin: str,
    sentry_trace: str | None = None,
    traceparent: str | None = None,
    baggage: str | None = None,
    tracestate: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> ServerSpan | None:
    """An ``http.server`` root for one request, current until ``detach``; None when tracing is off."""
    if _rt._runtime is None:
        return None
    parent = context_from_headers(sentry_trace, traceparent, baggage, tracestate)
    attrs: dict[str, Any] = {"http.request.method": method, "url.path": path, ORIGIN: origin}
    if attributes:
        attrs.update(attributes)
    span = tracer().start_span(f"{method} {path}", context=parent, kind=SpanKind.SERVER, attributes=attrs)
    token = context_api.attach(trace_api.set_span_in_context(span))
    return ServerSpan(span, token, method)


def start_root_span(
    name: str,
    *,
    op: str,
    source: str,
    origin: str,
    kind: SpanKind = SpanKind.CONSUMER,
    sentry_trace: str | None = None,
    traceparent: str | None = None,
    baggage: str | None = None,
    tracestate: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> ServerSpan | None:
    """A transaction root for non-HTTP work (a queued task), current until ``detach``; None when off.

    With incoming trace headers it continues that trace; without, it is a child of the current
    span if there is one (an eagerly run task), else a new trace.
    """
    if _rt._runtime is None:
        return None
    parent = context_from_headers(sentry_trace, traceparent, baggage, tracestate)
    attrs: dict[str, Any] = {"sentry.op": op, "sentry.name": name, SOURCE: source, ORIGIN: origin}
    if attributes:
        attrs.update(attributes)
    span = tracer().start_span(name, context=parent, kind=kind, attributes=attrs)
    token = context_api.attach(trace_api.set_span_in_context(span))
    return ServerSpan(span, token, "")


def start_child_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    op: str | None = None,
    origin: str | None = None,
) -> Any | None:
    """A span under the current one (not made current); None when tracing is off or no trace is open.

    The caller ends it: ``span.end()``, after ``fail_span`` if the operation raised.
    """
    if _rt._runtime is None:
        return None
    parent = trace_api.get_current_span()
    if not parent.is_recording():
        return None
    attrs: dict[str, Any] = dict(attributes) if attributes else {}
    if op is not None:
        attrs["sentry.op"] = op
    if origin is not None:
        attrs[ORIGIN] = origin
    return tracer().start_span(name, kind=kind, attributes=attrs)


def fail_span(span: Any, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc`` (its type only; the exception itself is an event's business)."""
    try:
        if span.is_recording():
            span.set_attribute("exception.type", type(exc).__name__)
            span.set_status(StatusCode.ERROR)
    except Exception:
        pass
