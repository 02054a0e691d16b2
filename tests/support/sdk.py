"""The one way tests start the SDK in memory and read what it captured."""

from __future__ import annotations

from typing import Any

import sdk_core
from sdk_core.transport.memory import InMemoryTransport


def init_with(*integrations: Any, **options: Any) -> InMemoryTransport:
    """``init`` with an in-memory transport and exactly ``integrations`` (no defaults unless asked for)."""
    transport = InMemoryTransport()
    options.setdefault("default_integrations", False)
    if integrations:
        options["integrations"] = list(integrations)
    sdk_core.init(transport=transport, **options)
    return transport


def flushed_events(transport: InMemoryTransport, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every event the transport holds once the worker has processed the queue (bounded wait)."""
    assert sdk_core.flush(timeout)
    return transport.events
