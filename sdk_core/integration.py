"""The one surface integrations use: ``integrations/*`` import ``sdk_core`` and this module, nothing else.

It is also the API for third-party integrations. Everything here is safe to call before ``init``
(it answers "no client" instead of raising), and nothing here can raise into the host except the
documented ``TypeError``/``DidNotEnable`` at set-up time.
"""

from __future__ import annotations

import logging
import sys
import typing as _t
from contextlib import AbstractContextManager as _ContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._api import get_client
from ._internal_errors import guarded, log_internal_error, logger
from ._sending import is_sdk_sending, sdk_sending
from .capture import event_from_exception as _event_from_exception
from .capture import event_from_message
from .event import level_name, set_meta
from .logs import capture_record as _capture_record
from .logs import threshold as _threshold
from .propagation import continue_trace, parse_sentry_trace, parse_traceparent
from .scope import Scope as _Scope
from .scope import get_global_scope
from .scope import unit_scope as _unit_scope
from .sessions import end_request as _end_request
from .sessions import start_request as _start_request
from .telemetry import trace_context
from .types import Event, EventProcessor, Hint

if _t.TYPE_CHECKING:
    from .tracing.spans import ServerSpan

sdk_logger: logging.Logger = logger
"""The ``sdk_core`` logger: integrations report their own failures here, never to the host."""


class DidNotEnable(Exception):
    """Raised by ``setup_once`` when the integration's framework is missing or too old; it stays off."""


@runtime_checkable
class Integration(Protocol):
    """A framework adapter: ``setup_once`` installs its hooks (idempotently), ``uninstall`` removes them.

    Optionally, a class attribute ``framework_module = "flask"`` names the module the
    integration instruments: ``init`` then calls ``setup_once`` only once that module is imported
    (at once if it already is), so passing the integration to ``init`` imports no framework.
    """

    identifier: str

    def setup_once(self) -> None:
        """Install hooks. Called at most once per process until ``uninstall``."""

    def uninstall(self) -> None:
        """Remove every hook ``setup_once`` installed, restoring the originals."""


@dataclass(frozen=True)
class IntegrationOptions:
    """The options integrations may read, as a read-only view (the client's full options stay private)."""

    send_default_pii: bool
    max_request_body_size: str
    max_value_length: int
    include_local_variables: bool
    shutdown_timeout: float
    debug: bool


def options() -> IntegrationOptions | None:
    """The running client's options that concern integrations, or None before ``init``."""
    client = get_client()
    if client is None:
        return None
    opts = client.options
    return IntegrationOptions(
        send_default_pii=bool(opts.send_default_pii),
        max_request_body_size=opts.max_request_body_size,
        max_value_length=opts.max_value_length,
        include_local_variables=opts.include_local_variables,
        shutdown_timeout=opts.shutdown_timeout,
        debug=bool(opts.debug),
    )


def is_enabled() -> bool:
    """True when a client is running: integrations skip all work otherwise."""
    return get_client() is not None


def event_from_exception(
    exc: BaseException, *, mechanism: dict[str, Any] | None = None, level: str = "error"
) -> tuple[Event, Hint] | None:
    """An event (exception chain, frames, locals) and its hint, built with the client's settings.

    None before ``init``. Integrations that add their own fields (``logentry``, ``logger``) build
    the event here and hand it to ``sdk_core.capture_event``.
    """
    client = get_client()
    if client is None:
        return None
    return _event_from_exception(exc, client.frames, client.options.max_value_length, mechanism, level)


def logs_level() -> int | None:
    """The ``logs_level`` when ``enable_logs=True``, else None: the logging integration checks it per record."""
    return _threshold()


def capture_log_record(record: logging.LogRecord) -> None:
    """Turn a ``logging`` record into a structured log (``enable_logs=True``). Never raises.

    The caller has already checked ``logs_level()`` and excluded the SDK's own records.
    """
    _capture_record(record)


session_start = _start_request
"""A request starts (release health): pass the result to ``session_end`` when it ends. Nested calls
(Django inside the WSGI middleware) count the request once; None, and nearly free, when off."""

session_end = _end_request
"""The request ends: counted as exited, errored or crashed by what was captured while it ran."""


def flush_before_exit() -> None:
    """Deliver what is queued, within ``shutdown_timeout``: for hooks that run just before a process ends."""
    client = get_client()
    if client is not None:
        client.flush(client.options.shutdown_timeout)


def request_isolation_scope(parent: _Scope | None = None) -> _ContextManager[_Scope]:
    """The isolation scope of one request or task (a ``with`` block); yields the scope.

    Like ``sdk_core.isolation_scope()`` it inherits tags, user, contexts and processors, but it
    starts with no breadcrumbs: what the process logged outside requests (a server's access and
    error lines, other tasks' lines) never shows up in this request's events. ``parent`` is the
    scope to inherit from when the context still carries another request's scope (a server that
    starts the next request from inside the previous one); default: the current isolation scope.
    """
    return _unit_scope(parent)


def record_installed(identifier: str) -> None:
    """List ``identifier`` in the ``sdk.integrations`` of the running client's events.

    For an integration installed after ``init`` (when the application imported its framework):
    ``init`` lists only what it installed itself.
    """
    client = get_client()
    if client is None:
        return
    try:
        if identifier not in client.integration_names:
            client.integration_names.append(identifier)
        static = client._static
        sdk = static.get("sdk")
        if isinstance(sdk, dict) and identifier not in (sdk.get("integrations") or ()):
            # A new dict, swapped in whole: the worker may be reading the old one right now.
            static["sdk"] = {**sdk, "integrations": sorted([*(sdk.get("integrations") or ()), identifier])}
    except Exception as exc:
        log_internal_error("record installed integration", exc)


def add_event_processor(processor: EventProcessor) -> None:
    """Run ``processor`` on every event of the process (global scope); adding it twice is a no-op."""
    scope = get_global_scope()
    if processor not in scope.processors:
        scope.add_event_processor(processor)


def remove_event_processor(processor: EventProcessor) -> None:
    """Remove a processor added with ``add_event_processor`` (integrations call it from ``uninstall``)."""
    processors = get_global_scope().processors
    while processor in processors:
        processors.remove(processor)


# -- tracing (imported lazily: an app that does not trace never imports opentelemetry through us) --


def tracing_enabled() -> bool:
    """True when spans are recorded (``traces_sample_rate``/``traces_sampler`` set): skip span work otherwise."""
    runtime = sys.modules.get("sdk_core.tracing.runtime")
    return runtime is not None and getattr(runtime, "_runtime", None) is not None


def start_server_span(
    method: str,
    path: str,
    *,
    origin: str,
    sentry_trace: str | None = None,
    traceparent: str | None = None,
    baggage: str | None = None,
    tracestate: str | None = None,
    attributes: _t.Mapping[str, Any] | None = None,
) -> ServerSpan | None:
    """An ``http.server`` root span continuing the caller's trace, current until ``.detach()``.

    None when tracing is off. Call ``.set_route(template)`` once the router matched (the
    transaction is named after it), ``.set_status_code(code)``, and ``.finish(exc)`` when the
    response is done. For every web framework integration (WSGI, ASGI and the frameworks on top).
    """
    if not tracing_enabled():
        return None
    from .tracing.spans import start_server_span as start

    return start(
        method,
        path,
        origin=origin,
        sentry_trace=sentry_trace,
        traceparent=traceparent,
        baggage=baggage,
        tracestate=tracestate,
        attributes=attributes,
    )


def start_root_span(
    name: str,
    *,
    op: str,
    source: str,
    origin: str,
    kind: str = "consumer",
    sentry_trace: str | None = None,
    traceparent: str | None = None,
    baggage: str | None = None,
    tracestate: str | None = None,
    attributes: _t.Mapping[str, Any] | None = None,
) -> ServerSpan | None:
    """A transaction root for non-HTTP work (``op="queue.task.celery"``, ``source="task"``), current until
    ``.detach()``; ``.finish(exc)`` sends it. Continues the trace of the given headers; None when off."""
    if not tracing_enabled():
        return None
    from opentelemetry.trace import SpanKind

    from .tracing.spans import start_root_span as start

    return start(
        name,
        op=op,
        source=source,
        origin=origin,
        kind=SpanKind[kind.upper()],
        sentry_trace=sentry_trace,
        traceparent=traceparent,
        baggage=baggage,
        tracestate=tracestate,
        attributes=attributes,
    )


def start_child_span(
    name: str,
    *,
    kind: str = "internal",
    attributes: _t.Mapping[str, Any] | None = None,
    op: str | None = None,
    origin: str | None = None,
) -> Any:
    """A span under the current one (``db``, ``http.client``, queue...), not made current; the caller ends it.

    ``kind`` is the OTel span kind by name (``client``, ``producer``, ``consumer``, ``internal``).
    Use OTel semantic-convention attributes (``db.system``, ``db.query.text`` with placeholders,
    ``http.request.method``, ``url.full``...). None when tracing is off or no sampled trace is open.
    """
    if not tracing_enabled():
        return None
    from opentelemetry.trace import SpanKind

    from .tracing.spans import start_child_span as start

    return start(name, kind=SpanKind[kind.upper()], attributes=attributes, op=op, origin=origin)


def fail_span(span: Any, exc: BaseException) -> None:
    """Mark a span from ``start_child_span`` as failed by ``exc`` (before ``span.end()``)."""
    from .tracing.spans import fail_span as fail

    fail(span, exc)


def outgoing_trace_headers(url: str | None, span: Any = None) -> dict[str, str]:
    """Headers continuing the trace (``sentry-trace``, ``traceparent``, ``baggage``...) from ``span``
    (default: the current span) for a request to ``url``: {} when tracing is off, ``url`` is not in
    ``trace_propagation_targets``, or the request is the SDK's own upload. ``url=None`` (a task
    queue's own messages) skips the target check."""
    if not tracing_enabled() or is_sdk_sending():
        return {}
    from .tracing.propagate import headers_for

    return headers_for(url, span)


__all__ = [
    "DidNotEnable",
    "Event",
    "EventProcessor",
    "Hint",
    "Integration",
    "IntegrationOptions",
    "add_event_processor",
    "capture_log_record",
    "continue_trace",
    "event_from_exception",
    "event_from_message",
    "fail_span",
    "flush_before_exit",
    "guarded",
    "is_enabled",
    "is_sdk_sending",
    "level_name",
    "log_internal_error",
    "logs_level",
    "options",
    "outgoing_trace_headers",
    "parse_sentry_trace",
    "parse_traceparent",
    "record_installed",
    "remove_event_processor",
    "request_isolation_scope",
    "sdk_logger",
    "sdk_sending",
    "session_end",
    "session_start",
    "set_meta",
    "start_child_span",
    "start_root_span",
    "start_server_span",
    "trace_context",
    "tracing_enabled",
]
