"""Public tracing helpers, thin layers over the OpenTelemetry API: ``start_span`` and ``@trace``.

They work with whichever TracerProvider is global: ours (installed by ``init`` when the
application has none) or the application's OpenTelemetry SDK provider.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Mapping, TypeVar, overload

from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind

from .._version import VERSION
from .convert import DESCRIPTION, OP, ORIGIN

F = TypeVar("F", bound=Callable[..., Any])
TRACER_NAME = "coderadar.sdk"

_cache: tuple[Any, Any] = (None, None)


def tracer() -> trace_api.Tracer:
    """The SDK's tracer on the current global provider (cached until the provider changes)."""
    global _cache
    provider = trace_api.get_tracer_provider()
    cached_provider, cached = _cache
    if provider is cached_provider and cached is not None:
        return cached  # type: ignore[no-any-return]
    found = provider.get_tracer(TRACER_NAME, VERSION)
    _cache = (provider, found)
    return found


def span_attributes(
    op: str | None, description: str | None, attributes: Mapping[str, Any] | None, origin: str | None
) -> dict[str, Any]:
    """Span attributes with our steering keys (``sentry.op``...) for what the OTel API has no field for."""
    attrs: dict[str, Any] = dict(attributes) if attributes else {}
    if op is not None:
        attrs[OP] = op
    if description is not None:
        attrs[DESCRIPTION] = description
    if origin is not None:
        attrs[ORIGIN] = origin
    return attrs


def start_span(
    *,
    op: str | None = None,
    name: str | None = None,
    description: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Any:
    """A context manager for a span (the current span inside the block): ``with start_span(op="db", name="load"):``.

    Outside of any span it starts a transaction (sampled by ``traces_sample_rate``); inside one it
    adds a child. An exception leaving the block marks the span as failed and propagates.
    """
    span_name = name or description or op or "span"
    attrs = span_attributes(op, description, attributes, None)
    return tracer().start_as_current_span(span_name, kind=kind, attributes=attrs)


@overload
def trace(func: F) -> F: ...


@overload
def trace(*, op: str | None = None, name: str | None = None) -> Callable[[F], F]: ...


def trace(func: F | None = None, *, op: str | None = None, name: str | None = None) -> Any:
    """Decorator: each call of the function (sync or async) runs in a span named after it (op ``function``)."""

    def decorate(fn: F) -> F:
        span_name = name or getattr(fn, "__qualname__", None) or repr(fn)
        attrs = span_attributes(op or "function", None, None, None)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with tracer().start_as_current_span(span_name, attributes=attrs):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer().start_as_current_span(span_name, attributes=attrs):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate
