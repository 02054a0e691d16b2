"""The span processor for applications that run the OpenTelemetry SDK: their spans reach the DSN too.

``init`` attaches it to the global SDK TracerProvider automatically; for another provider, one line:
``provider.add_span_processor(sdk_core.tracing.SpanProcessor())``. Attaching it twice is harmless
(all instances share their state). The SDK's own sampler still decides what is recorded; ours
(``traces_sample_rate``/``traces_sampler``) decides, per local root, what is sent to the DSN.
"""

from __future__ import annotations

from typing import Any

from . import runtime as _rt
from .convert import span_json
from .propagate import incoming_of

_open: dict[int, _rt.LocalTrace] = {}
"""Open spans (by span id) -> their local root's state; shared by every processor instance."""
SWEEP_EVERY = 4096
_started = 0


class SpanProcessor:
    """OpenTelemetry SDK span processor: finished local roots become transactions, children their spans."""

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Join the parent's local trace, or sample a new local root."""
        global _started
        runtime = _rt._runtime
        if runtime is None:
            return
        try:
            ctx = span.get_span_context()
            if ctx.span_id in _open:
                return
            parent = span.parent
            local = _open.get(parent.span_id) if parent is not None and not parent.is_remote else None
            if local is None:
                local = _new_root(runtime, span, ctx, parent, parent_context)
            _open[ctx.span_id] = local
            _started += 1
            if _started % SWEEP_EVERY == 0:
                sweep(runtime)
        except Exception as exc:
            from .._internal_errors import log_internal_error

            log_internal_error("span processor on_start", exc)

    def _on_ending(self, span: Any) -> None:
        """Nothing to do before the span is read-only."""

    def on_end(self, span: Any) -> None:
        """Convert a finished span; a local root hands its transaction to the client."""
        try:
            ctx = span.get_span_context()
            local = _open.pop(ctx.span_id, None)
            if local is None or not local.sampled or local.finished:
                return
            parent = span.parent
            status = span.status.status_code.value if span.status is not None else 0
            attrs = span.attributes or {}
            data = span_json(
                local.trace_id,
                f"{ctx.span_id:016x}",
                f"{parent.span_id:016x}" if parent is not None else None,
                span.name,
                attrs,
                (span.start_time or 0) / 1e9,
                (span.end_time or span.start_time or 0) / 1e9,
                status,
                span.kind.value,
            )
            if local.root == ctx.span_id:
                local.runtime.finish(local, data, span.name, attrs)
            else:
                local.add(data)
        except Exception as exc:
            from .._internal_errors import log_internal_error

            log_internal_error("span processor on_end", exc)

    def shutdown(self) -> None:
        """Nothing is buffered outside of open roots."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Finished transactions are already on the client's queue: ``sdk_core.flush`` sends them."""
        return True


def _new_root(runtime: _rt.Runtime, span: Any, ctx: Any, parent: Any, parent_context: Any) -> _rt.LocalTrace:
    parent_sampled: bool | None = None
    dsc = None
    if parent is not None:
        incoming = incoming_of(parent_context)
        if incoming is not None and incoming.trace_id == ctx.trace_id:
            parent_sampled, dsc = incoming.sampled, incoming.dsc
        elif parent.is_remote:
            parent_sampled = parent.trace_flags.sampled
    local = runtime.start_trace(f"{ctx.trace_id:032x}", span.name, span.attributes, parent_sampled, dsc)
    local.root = ctx.span_id
    return local


def local_of(span: Any) -> _rt.LocalTrace | None:
    """The local trace of an open SDK span, if this processor saw it start."""
    try:
        return _open.get(span.get_span_context().span_id)
    except Exception:
        return None


def sweep(runtime: _rt.Runtime) -> int:
    """Forget spans whose root has been open longer than ``MAX_ROOT_SECONDS``; count those roots."""
    import time

    cutoff = time.monotonic() - runtime.max_root_seconds
    stale = [span_id for span_id, local in list(_open.items()) if local.started < cutoff]
    roots = 0
    for span_id in stale:
        local = _open.pop(span_id, None)
        if local is not None and local.root == span_id and not local.finished:
            local.finished = True
            roots += 1
            if local.sampled:
                runtime.discard("buffer_overflow", "transaction", 1)
                runtime.discard("buffer_overflow", "span", len(local.spans) + local.dropped + 1)
    return roots
