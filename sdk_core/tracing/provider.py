"""A minimal TracerProvider implementing the OpenTelemetry API, for applications without the OTel SDK.

It does only what Sentry needs: ids, timing, attributes, status, the current-span context and
head sampling. A sampled span converts itself to span JSON when it ends and joins its local
root's ``LocalTrace``; an unsampled root is a ``NonRecordingSpan`` whose children are the same
object, so unsampled traces cost one context object per root. With tracing off (no client, or
no ``traces_sample_rate``) every span is the API's invalid span.

``init`` installs it only while the global provider is still the API's proxy and
``OTEL_PYTHON_TRACER_PROVIDER`` is unset; it never replaces a provider the application set.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import Attributes

from .._internal_errors import log_internal_error
from . import runtime as _rt
from .convert import span_json
from .propagate import incoming_of

_ids = random.Random()
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


def reset_ids_after_fork() -> None:
    """A forked child must not draw the parent's ids."""
    global _ids
    _ids = random.Random()


class Span(trace_api.Span):
    """A sampled span of our provider; ``end`` hands it to its local root as span JSON."""

    __slots__ = (
        "_context",
        "_ended",
        "_status",
        "attributes",
        "end_time",
        "kind",
        "local",
        "name",
        "parent_id",
        "span_id",
        "start_time",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        local: _rt.LocalTrace,
        trace_id: int,
        parent_id: int | None,
        kind: int,
        attributes: Attributes,
        start_time: int | None,
    ) -> None:
        self.name = name
        self.local = local
        self.trace_id = trace_id
        self.span_id = _ids.getrandbits(64) or 1
        self.parent_id = parent_id
        self.kind = kind
        self.attributes: dict[str, Any] = dict(attributes) if attributes else {}
        self.start_time = time.time() if start_time is None else start_time / 1e9
        self.end_time = 0.0
        self._status = 0
        self._ended = False
        self._context: SpanContext | None = None

    # -- the OTel API --------------------------------------------------------------------------
    def get_span_context(self) -> SpanContext:
        """This span's immutable context (trace id, span id, sampled flag)."""
        ctx = self._context
        if ctx is None:
            ctx = self._context = SpanContext(self.trace_id, self.span_id, False, _SAMPLED)
        return ctx

    def is_recording(self) -> bool:
        """True until the span ends, and only when sampled: unsampled spans record nothing."""
        return not self._ended

    @property
    def parent(self) -> SpanContext | None:
        """The parent's context (as the OTel SDK's spans have it), None for a new trace's root."""
        if self.parent_id is None:
            return None
        return SpanContext(self.trace_id, self.parent_id, False, _SAMPLED)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (OTel semantic conventions; scrubbed before the span leaves the process)."""
        if not self._ended:
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes."""
        if not self._ended:
            self.attributes.update(attributes)

    def add_event(self, name: str, attributes: Attributes = None, timestamp: int | None = None) -> None:
        """Events are not part of Sentry's span model; only exceptions matter (as status)."""

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        """Links are not part of Sentry's span model."""

    def update_name(self, name: str) -> None:
        """Rename the span (a router names the transaction once it knows the route)."""
        if not self._ended:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """Set the OTel status; an error status becomes the transaction's or span's failure status."""
        if self._ended:
            return
        code = status.status_code if isinstance(status, Status) else status
        if code is StatusCode.OK:
            self._status = 1
        elif code is StatusCode.ERROR and self._status != 1:
            self._status = 2

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """The exception itself goes to Sentry as an error event; the span keeps its type."""
        if not self._ended:
            self.attributes.setdefault("exception.type", type(exception).__name__)

    def end(self, end_time: int | None = None) -> None:
        """End the span; a local root hands its finished tree to the SDK as one transaction."""
        if self._ended:
            return
        self._ended = True
        self.end_time = time.time() if end_time is None else end_time / 1e9
        local = self.local
        if local.finished:
            return
        try:
            parent = f"{self.parent_id:016x}" if self.parent_id is not None else None
            data = span_json(
                local.trace_id,
                f"{self.span_id:016x}",
                parent,
                self.name if isinstance(self.name, str) else str(self.name),
                self.attributes,
                self.start_time,
                self.end_time,
                self._status,
                self.kind,
            )
            if local.root is self:
                local.runtime.finish(local, data, self.name, self.attributes)
            else:
                local.add(data)
        except Exception as exc:  # never into the host: the span is lost, the application runs on
            log_internal_error("span end", exc)

    def is_root(self) -> bool:
        """True for the local root (the one that becomes the transaction)."""
        return self.local.root is self

    def __repr__(self) -> str:
        return f"Span({self.name!r}, trace={self.trace_id:032x}, span={self.span_id:016x})"


class _Unsampled(NonRecordingSpan):
    """An unsampled local root: carries its trace's decision to children and outgoing headers."""

    def __init__(self, context: SpanContext, local: _rt.LocalTrace) -> None:
        super().__init__(context)
        self.local = local


def local_of(span: Any) -> _rt.LocalTrace | None:
    """The local root's state of one of our spans (sampled or not)."""
    return getattr(span, "local", None) if isinstance(span, (Span, _Unsampled)) else None


class Tracer(trace_api.Tracer):
    """Starts our spans; one per instrumentation scope (all behave the same)."""

    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        """Start a span (child of the current one unless context says otherwise), sampled by the SDK's rules."""
        runtime = _rt._runtime
        if runtime is None:
            return trace_api.INVALID_SPAN
        try:
            parent = trace_api.get_current_span(context)
            if isinstance(parent, Span):
                if parent._ended and parent.local.finished:
                    return trace_api.INVALID_SPAN
                return Span(name, parent.local, parent.trace_id, parent.span_id, kind.value, attributes, start_time)
            if isinstance(parent, _Unsampled):
                return parent
            return _root(runtime, name, context, parent, kind, attributes, start_time)
        except Exception as exc:  # bad arguments from a caller: no span rather than an error in the host
            log_internal_error("start span", exc)
            return trace_api.INVALID_SPAN

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace_api.Span]:
        """Start a span and make it current for the with block."""
        args = (name, context, kind, attributes, links, start_time)
        return _Current(self, args, end_on_exit, record_exception, set_status_on_exception)  # type: ignore[return-value]


def _root(
    runtime: _rt.Runtime,
    name: str,
    context: context_api.Context | None,
    parent: trace_api.Span,
    kind: SpanKind,
    attributes: Attributes,
    start_time: int | None,
) -> trace_api.Span:
    parent_ctx = parent.get_span_context()
    parent_id: int | None = None
    parent_sampled: bool | None = None
    incoming = None
    if parent_ctx.is_valid:
        trace_id = parent_ctx.trace_id
        parent_id = parent_ctx.span_id
        found = incoming_of(context)
        if found is not None and found.trace_id == trace_id:
            parent_sampled, incoming = found.sampled, found.dsc
        else:
            parent_sampled = parent_ctx.trace_flags.sampled
    else:
        trace_id = _ids.getrandbits(128) or 1
    local = runtime.start_trace(f"{trace_id:032x}", name, attributes, parent_sampled, incoming)
    if not local.sampled:
        span_id = _ids.getrandbits(64) or 1
        return _Unsampled(SpanContext(trace_id, span_id, False, _NOT_SAMPLED), local)
    span = Span(name, local, trace_id, parent_id, kind.value, attributes, start_time)
    local.root = span
    return span


class _Current:
    """``start_as_current_span``: the span starts on entering the block, is current inside it and ends
    when it is left. Like the OTel API's, it also works as a decorator (a new span per call)."""

    __slots__ = ("_args", "_end", "_record", "_set_status", "_token", "_tracer", "span")

    def __init__(self, tracer: Tracer, args: tuple[Any, ...], end: bool, record: bool, set_status: bool) -> None:
        self._tracer = tracer
        self._args = args
        self._end = end
        self._record = record
        self._set_status = set_status
        self._token: object = None
        self.span: trace_api.Span = trace_api.INVALID_SPAN

    def __enter__(self) -> trace_api.Span:
        span = self.span = self._tracer.start_span(*self._args)
        self._token = context_api.attach(trace_api.set_span_in_context(span))
        return span

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        span = self.span
        try:
            if exc is not None and span.is_recording():
                if self._record and isinstance(exc, Exception):
                    span.record_exception(exc)
                if self._set_status:
                    span.set_status(StatusCode.ERROR)
            if self._end:
                span.end()
        finally:
            context_api.detach(self._token)  # type: ignore[arg-type]

    def _again(self) -> _Current:
        return _Current(self._tracer, self._args, self._end, self._record, self._set_status)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._again():
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._again():
                return func(*args, **kwargs)

        return wrapper


class TracerProvider(trace_api.TracerProvider):
    """The provider ``init`` installs when the application has none; spans go to the running client."""

    def __init__(self) -> None:
        self._tracer = Tracer()

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace_api.Tracer:
        """A tracer for an instrumentation library (one tracer serves all names)."""
        return self._tracer
