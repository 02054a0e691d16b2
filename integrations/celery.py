"""Celery: task failures as events, one isolation scope per task, traces across the broker.

Only Celery's own signals are used, no patching:

- ``before_task_publish`` (in the process that enqueues) adds a ``sentry-trace`` message header,
  ``<trace_id>-<span_id>``, from the enqueuing scope.
- ``task_prerun`` (in the worker) opens an isolation scope for the task (with none of the worker's
  breadcrumbs: no "Received task" lines, no other task's lines), continues the trace from
  that header, names the transaction after the task and records a ``celery`` context (task id,
  name, retries, args/kwargs, which the scrubbers see like any other event data).
- ``task_failure`` captures the exception (mechanism ``celery``, unhandled) unless it is part of
  the task's control flow: ``Retry``, ``Ignore``, ``Reject``, or an exception listed in the task's
  ``throws``. (Celery does not send ``task_failure`` for a retry; the check is belt and braces.)
- ``task_postrun`` closes the scope.
- With tracing on, publishing is a ``queue.submit.celery`` span whose trace headers (``sentry-trace``,
  ``traceparent``, ``baggage``) ride in the message headers, and each task run is a
  ``queue.task.celery`` transaction named after the task, continuing the publisher's trace.
- ``worker_process_shutdown`` flushes: forked pool children leave through ``os._exit``, which
  skips ``atexit``.

Eagerly applied tasks (``task.apply()``, ``task_always_eager``) run in the caller's thread and
continue the caller's trace.
"""

from __future__ import annotations

import inspect
import re
import threading
from contextlib import AbstractContextManager
from typing import Any

import sdk_core
from sdk_core.integration import (
    DidNotEnable,
    fail_span,
    flush_before_exit,
    guarded,
    is_enabled,
    log_internal_error,
    outgoing_trace_headers,
    request_isolation_scope,
    start_child_span,
    start_root_span,
    trace_context,
    tracing_enabled,
)

TRACE_HEADER = "sentry-trace"
_TRACE_VALUE = re.compile(r"^\s*([0-9a-f]{32})-([0-9a-f]{16})(?:-[01])?\s*$")
_UID = "coderadar-sdk"

# Open task scopes by task id; entered in task_prerun, left in task_postrun (same thread).
_open_scopes: dict[str, AbstractContextManager[Any]] = {}
_open_lock = threading.Lock()
# Tracing: the task's root span by task id (prerun -> postrun), and publish spans by task id.
_task_spans: dict[str, Any] = {}
_publish_spans: dict[str, Any] = {}


class CeleryIntegration:
    """``include_args=False`` keeps task args/kwargs out of events altogether.

    ``monitor_beat_tasks=True`` turns every beat schedule entry into a cron monitor (see
    ``integrations.celery_beat``): beat adds the monitor to the message, the worker checks in.
    """

    identifier = "celery"
    framework_module = "celery"

    def __init__(self, include_args: bool = True, monitor_beat_tasks: bool = False) -> None:
        if not isinstance(include_args, bool):
            raise TypeError(f"include_args: expected True or False, got {type(include_args).__name__}")
        if not isinstance(monitor_beat_tasks, bool):
            raise TypeError(f"monitor_beat_tasks: expected True or False, got {type(monitor_beat_tasks).__name__}")
        self.include_args = include_args
        self.monitor_beat_tasks = monitor_beat_tasks

    def setup_once(self) -> None:
        """Connect the task signals (publish, prerun, failure, postrun, worker shutdown)."""
        global _include_args
        try:
            from celery import signals
        except ImportError as exc:
            raise DidNotEnable("celery is not installed") from exc
        _include_args = self.include_args
        for signal, handler in _handlers(signals):
            signal.connect(handler, weak=False, dispatch_uid=_UID)
        if self.monitor_beat_tasks:
            from . import celery_beat

            celery_beat.install()

    def uninstall(self) -> None:
        """Disconnect every signal receiver connected by setup_once."""
        try:
            from celery import signals
        except ImportError:
            return
        # Scopes of tasks still running stay open: a later install's task_postrun closes them.
        for signal, handler in _handlers(signals):
            signal.disconnect(handler, dispatch_uid=_UID)
        from . import celery_beat

        celery_beat.uninstall()


_include_args = True


def _handlers(signals: Any) -> list[tuple[Any, Any]]:
    return [
        (signals.before_task_publish, _on_publish),
        (signals.after_task_publish, _on_published),
        (signals.task_prerun, _on_prerun),
        (signals.task_failure, _on_failure),
        (signals.task_postrun, _on_postrun),
        (signals.worker_process_shutdown, _on_process_shutdown),
    ]


@guarded("celery before_task_publish")
def _on_publish(sender: Any = None, headers: Any = None, routing_key: Any = None, **_: Any) -> None:
    if not isinstance(headers, dict) or not is_enabled():
        return
    if tracing_enabled():
        span = start_child_span(
            str(sender),
            kind="producer",
            op="queue.submit.celery",
            origin="auto.queue.celery",
            attributes={"messaging.system": "celery", "messaging.destination.name": str(routing_key or "")},
        )
        task_id = headers.get("id")
        if span is not None and isinstance(task_id, str):
            span.set_attribute("messaging.message.id", task_id)
            _publish_spans[task_id] = span
        found = outgoing_trace_headers(None, span)
        if found:
            headers.update(found)
            return
    trace = trace_context(sdk_core.get_isolation_scope())
    headers[TRACE_HEADER] = f"{trace['trace_id']}-{trace['span_id']}"


@guarded("celery after_task_publish")
def _on_published(sender: Any = None, headers: Any = None, **_: Any) -> None:
    task_id = headers.get("id") if isinstance(headers, dict) else None
    span = _publish_spans.pop(task_id, None) if isinstance(task_id, str) else None
    if span is not None:
        span.end()


def _on_prerun(sender: Any = None, task_id: Any = None, task: Any = None, **_: Any) -> None:
    if task is None or not isinstance(task_id, str):
        return
    try:
        request = task.request
        # A task run by a worker starts with its own breadcrumbs only; an eagerly applied one runs
        # inside its caller (a request, a script) and keeps the caller's trail, as it keeps its trace.
        eager = bool(getattr(request, "is_eager", False))
        manager = sdk_core.isolation_scope() if eager else request_isolation_scope()
        scope = manager.__enter__()
        with _open_lock:
            _open_scopes[task_id] = manager
        incoming = _parse_trace(getattr(request, TRACE_HEADER, None))
        if incoming is not None:
            scope.set_propagation_context(trace_id=incoming[0], parent_span_id=incoming[1])
        elif eager:
            parent = trace_context(scope)
            scope.set_propagation_context(trace_id=parent["trace_id"], parent_span_id=parent["span_id"])
        else:
            scope.set_propagation_context()
        name = getattr(request, "shadow", None) or task.name
        scope.set_transaction_name(name)
        scope.set_tag("celery.task", name)
        context: dict[str, Any] = {
            "task_id": task_id,
            "task_name": name,
            "retries": getattr(request, "retries", 0) or 0,
        }
        for key in ("hostname", "root_id", "parent_id"):
            value = getattr(request, key, None)
            if value:
                context[key] = value
        delivery = getattr(request, "delivery_info", None) or {}
        if delivery.get("routing_key"):
            context["routing_key"] = delivery["routing_key"]
        if _include_args:
            context["args"] = _named_args(task, list(getattr(request, "args", None) or ()))
            context["kwargs"] = dict(getattr(request, "kwargs", None) or {})
        scope.set_context("celery", context)
        if tracing_enabled():
            _start_task_span(task_id, name, request, delivery.get("routing_key"))
    except Exception as error:
        log_internal_error("celery task_prerun", error)


def _named_args(task: Any, args: list[Any]) -> Any:
    """Positional arguments keyed by the task's parameter names, so key rules apply to them.

    ``send_reset(\"tok-...\")`` is reported as ``{"token": "tok-..."}`` and the scrubber filters
    it as it filters the same value passed by keyword. The list is kept when binding fails.
    """
    if not args:
        return args
    try:
        bound = inspect.signature(task.run).bind_partial(*args)
    except (TypeError, ValueError):
        return args
    return {name: list(v) if isinstance(v, tuple) else v for name, v in bound.arguments.items()}


def _start_task_span(task_id: str, name: str, request: Any, routing_key: Any) -> None:
    """The task's ``queue.task.celery`` transaction, continuing the publisher's trace from the headers."""
    eager = getattr(request, "is_eager", False)
    root = start_root_span(
        name,
        op="queue.task.celery",
        source="task",
        origin="auto.queue.celery",
        sentry_trace=None if eager else getattr(request, TRACE_HEADER, None),
        traceparent=None if eager else getattr(request, "traceparent", None),
        baggage=None if eager else getattr(request, "baggage", None),
        tracestate=None if eager else getattr(request, "tracestate", None),
        attributes={
            "messaging.system": "celery",
            "messaging.message.id": task_id,
            "messaging.destination.name": str(routing_key or ""),
            "messaging.message.retry.count": int(getattr(request, "retries", 0) or 0),
        },
    )
    if root is not None:
        with _open_lock:
            _task_spans[task_id] = root


def _on_failure(sender: Any = None, exception: Any = None, **_: Any) -> None:
    if not isinstance(exception, BaseException):
        return
    try:
        if _expected(sender, exception):
            return
        root = _task_spans.get(getattr(getattr(sender, "request", None), "id", None) or "")
        if root is not None:
            fail_span(root.span, exception)
        sdk_core.capture_exception(exception, mechanism={"type": "celery", "handled": False})
    except Exception as error:
        log_internal_error("celery task_failure", error)


def _on_postrun(sender: Any = None, task_id: Any = None, **_: Any) -> None:
    with _open_lock:
        root = _task_spans.pop(task_id, None) if isinstance(task_id, str) else None
        manager = _open_scopes.pop(task_id, None) if isinstance(task_id, str) else None
    if root is not None:
        try:
            root.finish()
            root.detach()
        except Exception as error:
            log_internal_error("celery task span", error)
    if manager is None:
        return
    try:
        manager.__exit__(None, None, None)
    except Exception as error:
        log_internal_error("celery task_postrun", error)


def _on_process_shutdown(**_: Any) -> None:
    flush_before_exit()


def _expected(task: Any, exc: BaseException) -> bool:
    from celery.exceptions import Ignore, Reject, Retry

    if isinstance(exc, (Retry, Ignore, Reject)):
        return True
    throws = getattr(task, "throws", None) or ()
    if isinstance(throws, type):
        throws = (throws,)
    expected = tuple(t for t in throws if isinstance(t, type))
    return bool(expected) and isinstance(exc, expected)


def _parse_trace(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return None
    match = _TRACE_VALUE.match(value)
    return (match.group(1), match.group(2)) if match else None


__all__ = ["TRACE_HEADER", "CeleryIntegration"]
