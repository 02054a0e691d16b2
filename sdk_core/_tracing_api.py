"""``sdk_core.start_span`` and ``sdk_core.trace``: imported lazily, so an app that never traces never
imports ``opentelemetry.trace`` through us."""

from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])
_start: Callable[..., Any] | None = None


def start_span(
    *,
    op: str | None = None,
    name: str | None = None,
    description: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """A span as a context manager: ``with sdk_core.start_span(op="db", name="load"):``.

    A thin layer over the OpenTelemetry API (``start_as_current_span``): outside any span it starts
    a transaction, inside one it adds a child. See ``sdk_core.tracing``.
    """
    global _start
    if _start is None:
        from .tracing.api import start_span as found

        _start = found
    return _start(op=op, name=name, description=description, attributes=attributes)


@overload
def trace(func: F) -> F: ...


@overload
def trace(*, op: str | None = None, name: str | None = None) -> Callable[[F], F]: ...


def trace(func: F | None = None, *, op: str | None = None, name: str | None = None) -> Any:
    """Decorator: every call of the function runs in a span named after it (``@sdk_core.trace``)."""
    from .tracing.api import trace as decorate

    if func is not None:
        return decorate(func)
    return decorate(op=op, name=name)
