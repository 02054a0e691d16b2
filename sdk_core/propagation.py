"""Incoming trace headers: ``sentry-trace`` and W3C ``traceparent`` -> the trace a request continues."""

from __future__ import annotations

import re

from .scope import Scope

_SENTRY_TRACE = re.compile(r"^[ \t]*([0-9a-fA-F]{32})-([0-9a-fA-F]{16})(?:-[01])?[ \t]*$")
_TRACEPARENT = re.compile(r"^[ \t]*([0-9a-fA-F]{2})-([0-9a-fA-F]{32})-([0-9a-fA-F]{16})-([0-9a-fA-F]{2})[ \t]*$")


def parse_sentry_trace(value: str | None) -> tuple[str, str] | None:
    """``<trace_id>-<span_id>[-<sampled>]`` -> (trace_id, span_id), or None if malformed."""
    if not value:
        return None
    match = _SENTRY_TRACE.match(value)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2).lower()


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """W3C ``00-<trace_id>-<parent_id>-<flags>`` -> (trace_id, parent_id), or None if invalid.

    https://www.w3.org/TR/trace-context/#traceparent-header: version ``ff`` and all-zero ids are invalid.
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace_id, span_id = match.group(1).lower(), match.group(2).lower(), match.group(3).lower()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id


def incoming_trace(sentry_trace: str | None, traceparent: str | None) -> tuple[str | None, str | None]:
    """(trace_id, parent_span_id) to continue; W3C ``traceparent`` wins over ``sentry-trace`` (as in
    tracing, so events and transactions agree); (None, None) starts one."""
    found = parse_traceparent(traceparent) or parse_sentry_trace(sentry_trace)
    return found if found is not None else (None, None)


def continue_trace(scope: Scope, sentry_trace: str | None, traceparent: str | None) -> None:
    """Make ``scope`` continue the caller's trace, or start a fresh one when the headers are missing or invalid."""
    scope.set_propagation_context(*incoming_trace(sentry_trace, traceparent))
