"""Swap the process-wide OpenTelemetry TracerProvider for one test (the API allows setting it once)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from opentelemetry import trace
from opentelemetry.util._once import Once


@contextlib.contextmanager
def global_provider(provider: Any = None) -> Iterator[None]:
    """Run the block with ``provider`` as the global TracerProvider (None: the API's proxy, unset).

    The previous provider is restored afterwards, so tests that set their own at import keep it.
    """
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    if provider is not None:
        trace.set_tracer_provider(provider)
    try:
        yield
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved
