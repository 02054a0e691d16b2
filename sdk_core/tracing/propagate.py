"""Trace headers both ways: incoming ``traceparent``/``tracestate``/``sentry-trace``/``baggage`` -> an
OpenTelemetry context to start a server root in; the current span -> outgoing headers.

When ``traceparent`` and ``sentry-trace`` name different traces, W3C ``traceparent`` wins and the
``sentry-`` baggage entries of the other trace are ignored. ``sentry-trace`` without a sampled flag
leaves the decision to us. Outgoing requests carry ``sentry-trace``, ``traceparent``, ``baggage``
(the dynamic sampling context) and the incoming ``tracestate``, but only to URLs matching
``trace_propagation_targets`` (default: every URL), and never the SDK's own uploads.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import unquote

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

_SENTRY_TRACE = re.compile(r"^[ \t]*([0-9a-fA-F]{32})-([0-9a-fA-F]{16})(?:-([01]))?[ \t]*$")
_TRACEPARENT = re.compile(r"^[ \t]*([0-9a-fA-F]{2})-([0-9a-fA-F]{32})-([0-9a-fA-F]{16})-([0-9a-fA-F]{2})[ \t]*$")
_KEY = context_api.create_key("coderadar-incoming-trace")
MAX_BAGGAGE = 8192


class Incoming(NamedTuple):
    """A caller's trace: ids, its sampling decision (None: ours to make) and its ``sentry-`` baggage."""

    trace_id: int
    span_id: int
    sampled: bool | None
    dsc: dict[str, str] | None


def parse_baggage(value: str | None) -> dict[str, str]:
    """The ``sentry-`` entries of a W3C ``baggage`` header, prefix removed and values decoded."""
    out: dict[str, str] = {}
    if not value or len(value) > MAX_BAGGAGE:
        return out
    for member in value.split(","):
        key, sep, raw = member.partition("=")
        key = key.strip()
        if sep and key.startswith("sentry-") and len(key) > 7:
            out[key[7:]] = unquote(raw.split(";", 1)[0].strip())
    return out


def extract(
    sentry_trace: str | None,
    traceparent: str | None,
    baggage: str | None = None,
) -> Incoming | None:
    """The incoming trace to continue, or None to start a new one (missing or invalid headers)."""
    found: tuple[int, int, bool | None] | None = None
    if traceparent:
        match = _TRACEPARENT.match(traceparent)
        if match is not None and match.group(1).lower() != "ff":
            trace_id, span_id = int(match.group(2), 16), int(match.group(3), 16)
            if trace_id and span_id:
                found = (trace_id, span_id, bool(int(match.group(4), 16) & 1))
    if found is None and sentry_trace:
        match = _SENTRY_TRACE.match(sentry_trace)
        if match is not None:
            trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
            if trace_id and span_id:
                flag = match.group(3)
                found = (trace_id, span_id, None if flag is None else flag == "1")
    if found is None:
        return None
    dsc: dict[str, str] | None = parse_baggage(baggage)
    if not dsc or dsc.get("trace_id", "").lower() != f"{found[0]:032x}":
        dsc = None
    sampled = found[2]
    if sampled is None and dsc is not None and dsc.get("sampled") in ("true", "false"):
        sampled = dsc["sampled"] == "true"
    return Incoming(found[0], found[1], sampled, dsc)


def context_from_headers(
    sentry_trace: str | None,
    traceparent: str | None,
    baggage: str | None = None,
    tracestate: str | None = None,
) -> context_api.Context | None:
    """An OTel context whose (remote) current span is the caller's; None when there is none."""
    incoming = extract(sentry_trace, traceparent, baggage)
    if incoming is None:
        return None
    state = None
    if tracestate and traceparent:
        try:
            state = TraceState.from_header([tracestate])
        except Exception:
            state = None
    flags = TraceFlags(TraceFlags.SAMPLED if incoming.sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(incoming.trace_id, incoming.span_id, True, flags, state))
    ctx = trace_api.set_span_in_context(span, context_api.Context())
    return context_api.set_value(_KEY, incoming, ctx)


def incoming_of(ctx: context_api.Context | None) -> Incoming | None:
    """What ``context_from_headers`` recorded in ``ctx`` (None: not a continued trace)."""
    value = context_api.get_value(_KEY, ctx)
    return value if isinstance(value, Incoming) else None


def should_propagate(url: str, targets: tuple[Any, ...]) -> bool:
    """True if ``url`` matches one of ``trace_propagation_targets`` (regexes searched in the URL)."""
    for target in targets:
        if target.search(url):
            return True
    return False


def outgoing_headers(span: Any = None) -> dict[str, str]:
    """Headers that continue the current (or given) span's trace downstream; {} outside of a trace."""
    from . import local_trace_of

    if span is None:
        span = trace_api.get_current_span()
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return {}
    local = local_trace_of(span)
    sampled = local.sampled if local is not None else ctx.trace_flags.sampled
    trace_hex, span_hex = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    headers = {
        "sentry-trace": f"{trace_hex}-{span_hex}-{'1' if sampled else '0'}",
        "traceparent": f"00-{trace_hex}-{span_hex}-{'01' if sampled else '00'}",
    }
    if local is not None:
        headers["baggage"] = local.baggage()
    state = ctx.trace_state
    if state:
        headers["tracestate"] = state.to_header()
    return headers


def headers_for(url: str | None, span: Any = None) -> dict[str, str]:
    """``outgoing_headers`` if tracing is on and ``url`` is a propagation target (None: always), else {}."""
    from . import runtime

    rt = runtime.current()
    if rt is None or (url is not None and not should_propagate(url, rt.targets)):
        return {}
    return outgoing_headers(span)


__all__ = [
    "Incoming",
    "context_from_headers",
    "extract",
    "headers_for",
    "incoming_of",
    "outgoing_headers",
    "parse_baggage",
    "should_propagate",
]
