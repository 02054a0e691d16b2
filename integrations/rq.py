"""RQ: a failed job is reported with its id, function and queue, one isolation scope per job.

* ``Worker.perform_job`` (in the work horse, or in the worker itself for ``SimpleWorker``) runs
  inside an isolation scope named after the job's function. Events captured during the job get an
  ``rq`` context: job id, function, queue, and the job's arguments bound to the function's
  parameter names (``{"user_id": 7, "password": ...}``), so the scrubbers' key rules apply to them.
  The arguments are bound only when an event is captured.
* ``Worker.handle_exception`` captures the job's exception (mechanism ``rq``, unhandled) unless the
  job is going to be retried.
* A work horse leaves through ``os._exit``, which skips ``atexit``: when the job captured
  anything, ``perform_job`` flushes (within ``shutdown_timeout``) before returning to it.

``include_args=False`` keeps the arguments out of events altogether.

With tracing on, ``Queue.enqueue_job`` (``enqueue``, ``enqueue_call``...) is a ``queue.submit.rq``
span whose trace headers (``sentry-trace``, ``traceparent``, ``baggage``) are stored in the job's
``meta`` (key ``_coderadar_trace``), and each job run is a ``queue.task.rq`` transaction named after
the job's function, continuing the enqueuer's trace; a failed job's transaction has status error.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from typing import Any

import sdk_core
from integrations._patch import unwrap, wrap
from sdk_core.integration import (
    DidNotEnable,
    Event,
    Hint,
    fail_span,
    flush_before_exit,
    is_enabled,
    log_internal_error,
    outgoing_trace_headers,
    start_child_span,
    start_root_span,
    tracing_enabled,
)

__all__ = ["RqIntegration"]

_include_args = True
META_KEY = "_coderadar_trace"
"""The job ``meta`` key holding the enqueuer's trace headers."""
_running: ContextVar[_Job | None] = ContextVar("coderadar_rq_job", default=None)


class RqIntegration:
    """Report failed RQ jobs with their id, function, queue and named arguments."""

    identifier = "rq"
    framework_module = "rq"

    def __init__(self, include_args: bool = True) -> None:
        if not isinstance(include_args, bool):
            raise TypeError(f"include_args: expected True or False, got {type(include_args).__name__}")
        self.include_args = include_args

    def setup_once(self) -> None:
        """Wrap the worker's job run and exception handling, and the queue's enqueue (trace headers)."""
        global _include_args
        try:
            from rq.worker import Worker
        except ImportError as exc:
            raise DidNotEnable("rq is not installed") from exc
        base = _base(Worker)
        _include_args = self.include_args
        wrap(base, "perform_job", _perform_job)
        wrap(base, "handle_exception", _handle_exception)
        from rq.queue import Queue

        wrap(Queue, "enqueue_job", _enqueue_job)

    def uninstall(self) -> None:
        """Restore the worker and queue methods."""
        try:
            from rq.worker import Worker
        except ImportError:
            return
        base = _base(Worker)
        unwrap(base, "perform_job")
        unwrap(base, "handle_exception")
        from rq.queue import Queue

        unwrap(Queue, "enqueue_job")


def _base(worker: type) -> type:
    """The class that defines ``perform_job`` (``BaseWorker`` in RQ 2+, ``Worker`` before)."""
    for klass in worker.__mro__:
        if "perform_job" in klass.__dict__:
            return klass
    return worker


class _Job:
    """The running job's event processor and whether it captured anything."""

    __slots__ = ("captured", "error", "job", "queue")

    def __init__(self, job: Any, queue: Any) -> None:
        self.job = job
        self.queue = queue
        self.captured = False
        self.error: BaseException | None = None

    def process(self, event: Event, hint: Hint) -> Event:
        self.captured = True
        try:
            contexts = event.setdefault("contexts", {})
            if isinstance(contexts, dict) and "rq" not in contexts:
                contexts["rq"] = _describe(self.job, self.queue)
        except Exception as exc:
            log_internal_error("rq job context", exc)
        return event


def _perform_job(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    job = args[0] if args else kwargs.get("job")
    if job is None or not is_enabled():
        return wrapped(*args, **kwargs)
    queue = args[1] if len(args) > 1 else kwargs.get("queue")
    state = _Job(job, queue)
    token = _running.set(state)
    with sdk_core.isolation_scope() as scope:
        try:
            scope.clear_breadcrumbs()  # the worker's own breadcrumbs are not the job's
            scope.set_transaction_name(_function_name(job) or "rq job")
            scope.add_event_processor(state.process)
        except Exception as exc:
            log_internal_error("rq job scope", exc)
        root = _job_span(job, queue) if tracing_enabled() else None
        try:
            return wrapped(*args, **kwargs)
        finally:
            _running.reset(token)
            if root is not None:
                _finish(root, state.error)
            if state.captured or root is not None:
                flush_before_exit()


def _job_span(job: Any, queue: Any) -> Any:
    """The job run's ``queue.task.rq`` transaction, continuing the trace stored at enqueue."""
    try:
        meta = getattr(job, "meta", None)
        headers = meta.get(META_KEY) if isinstance(meta, dict) else None
        headers = headers if isinstance(headers, dict) else {}

        def header(name: str) -> str | None:
            value = headers.get(name)
            return value if isinstance(value, str) else None

        return start_root_span(
            _function_name(job) or "rq job",
            op="queue.task.rq",
            source="task",
            origin="auto.queue.rq",
            sentry_trace=header("sentry-trace"),
            traceparent=header("traceparent"),
            baggage=header("baggage"),
            tracestate=header("tracestate"),
            attributes={
                "messaging.system": "rq",
                "messaging.message.id": str(job.id),
                "messaging.destination.name": str(getattr(queue, "name", None) or getattr(job, "origin", "") or ""),
            },
        )
    except Exception as exc:
        log_internal_error("rq job span", exc)
        return None


def _finish(root: Any, error: BaseException | None) -> None:
    try:
        root.finish(error)
        root.detach()
    except Exception as exc:
        log_internal_error("rq job span", exc)


def _enqueue_job(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    job = args[0] if args else kwargs.get("job")
    span = _submit_span(instance, job) if job is not None and tracing_enabled() else None
    try:
        result = wrapped(*args, **kwargs)
    except Exception as exc:
        if span is not None:
            fail_span(span, exc)
            span.end()
        raise
    if span is not None:
        span.end()
    return result


def _submit_span(queue: Any, job: Any) -> Any:
    """The ``queue.submit.rq`` span; its trace headers go into ``job.meta`` before RQ saves the job."""
    try:
        span = start_child_span(
            _function_name(job) or "rq job",
            kind="producer",
            op="queue.submit.rq",
            origin="auto.queue.rq",
            attributes={
                "messaging.system": "rq",
                "messaging.message.id": str(job.id),
                "messaging.destination.name": str(getattr(queue, "name", "") or ""),
            },
        )
        headers = outgoing_trace_headers(None, span)
        if headers and isinstance(getattr(job, "meta", None), dict):
            job.meta[META_KEY] = headers
        return span
    except Exception as exc:
        log_internal_error("rq enqueue span", exc)
        return None


def _handle_exception(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        job = args[0] if args else None
        exc = args[2] if len(args) > 2 else None
        state = _running.get()
        if state is not None and isinstance(exc, BaseException):
            state.error = exc
        if is_enabled() and isinstance(exc, BaseException) and not _retrying(job):
            sdk_core.capture_exception(exc, mechanism={"type": "rq", "handled": False})
    except Exception as error:
        log_internal_error("rq handle_exception", error)
    return wrapped(*args, **kwargs)


def _retrying(job: Any) -> bool:
    """True when RQ is going to run the job again (``Retry`` with attempts left)."""
    retries_left = getattr(job, "retries_left", None)
    return isinstance(retries_left, int) and retries_left > 0


def _function_name(job: Any) -> str | None:
    try:
        name = job.func_name
    except Exception:  # a job that cannot be deserialised
        return None
    return name if isinstance(name, str) else None


def _describe(job: Any, queue: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"job_id": str(job.id)}
    name = _function_name(job)
    if name:
        context["func"] = name
    origin = getattr(queue, "name", None) or getattr(job, "origin", None)
    if origin:
        context["queue"] = str(origin)
    if _include_args:
        try:
            context["args"] = _bound_arguments(job.func, tuple(job.args or ()), dict(job.kwargs or {}))
        except Exception as exc:
            log_internal_error("rq job arguments", exc)
    return context


def _bound_arguments(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name; unbindable calls keep positions as ``args[0]``..."""
    try:
        return dict(inspect.signature(func).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        named: dict[str, Any] = {f"args[{i}]": value for i, value in enumerate(args)}
        named.update(kwargs)
        return named
