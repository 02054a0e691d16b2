"""Tracing, OpenTelemetry-native: spans through the OTel API, sent as Sentry transactions to the DSN.

``init(traces_sample_rate=...)`` (or ``traces_sampler``) turns it on. Back-end, in this order:

1. The application set an OpenTelemetry SDK TracerProvider before ``init``: our ``SpanProcessor``
   is attached to it, so its spans (OTel's own instrumentations included) reach the DSN too.
2. No provider yet and ``OTEL_PYTHON_TRACER_PROVIDER`` unset: ``init`` installs our minimal
   ``TracerProvider``. It is then the global provider for the process (the OTel API allows one),
   so configure your own provider *before* ``init`` if you want it.
3. Any other provider: left alone; attach ``SpanProcessor()`` yourself if it supports processors.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as trace_api

from .._internal_errors import logger
from . import processor as _processor
from . import provider as _provider
from .api import start_span, trace, tracer
from .processor import SpanProcessor
from .propagate import context_from_headers, headers_for, outgoing_headers
from .runtime import LocalTrace, Runtime, current, set_current

if TYPE_CHECKING:
    from ..options import Options

_attached: list[Any] = []


def local_trace_of(span: Any) -> LocalTrace | None:
    """The local root state of a span from either back-end (None: not one of ours)."""
    local = _provider.local_of(span)
    if local is not None:
        return local
    return _processor.local_of(span) if _processor._open else None


def current_dsc() -> dict[str, str] | None:
    """The dynamic sampling context of the current span's trace, for an error event's envelope."""
    span = trace_api.get_current_span()
    local = local_trace_of(span)
    return local.dsc() if local is not None else None


def install(options: Options) -> str:
    """Pick the back-end (see the module docstring); returns ``"own"``, ``"sdk"`` or ``"other"``."""
    provider = trace_api.get_tracer_provider()
    if isinstance(provider, _provider.TracerProvider):
        return "own"
    if isinstance(provider, trace_api.ProxyTracerProvider) and not os.environ.get("OTEL_PYTHON_TRACER_PROVIDER"):
        trace_api.set_tracer_provider(_provider.TracerProvider())
        if isinstance(trace_api.get_tracer_provider(), _provider.TracerProvider):
            return "own"
        provider = trace_api.get_tracer_provider()
    add = getattr(provider, "add_span_processor", None)
    if callable(add):
        if not any(p is provider for p in _attached):
            add(SpanProcessor())
            _attached.append(provider)
        return "sdk"
    logger.warning(
        "tracing: the global TracerProvider (%s) takes no span processor; its spans are not sent",
        type(provider).__name__,
    )
    return "other"


def reset_after_fork() -> None:
    """A forked child draws its own ids and sample numbers."""
    _provider.reset_ids_after_fork()
    rt = current()
    if rt is not None:
        rt.sampler.reset_after_fork()


__all__ = [
    "LocalTrace",
    "Runtime",
    "SpanProcessor",
    "context_from_headers",
    "current",
    "current_dsc",
    "headers_for",
    "install",
    "local_trace_of",
    "outgoing_headers",
    "reset_after_fork",
    "set_current",
    "start_span",
    "trace",
    "tracer",
]
