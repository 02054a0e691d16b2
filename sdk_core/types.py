"""Public types: event shapes and the Protocols at the SDK's seams."""

from __future__ import annotations

import enum
from typing import Any, Callable, Dict, Optional

from typing_extensions import Protocol, runtime_checkable

Event = Dict[str, Any]
"""A Sentry-shaped event payload (see the Sentry event schema)."""

Hint = Dict[str, Any]
"""Extra, unserialised context for hooks: ``exc_info``, ``log_record``, ``request``..."""

Breadcrumb = Dict[str, Any]

BeforeSend = Callable[[Event, Hint], Optional[Event]]
BeforeBreadcrumb = Callable[[Breadcrumb, Hint], Optional[Breadcrumb]]
EventProcessor = Callable[[Event, Hint], Optional[Event]]


class DropReason(str, enum.Enum):
    """Why an event was discarded; the values are the protocol's client-report reasons."""

    SAMPLE_RATE = "sample_rate"
    BEFORE_SEND = "before_send"
    EVENT_PROCESSOR = "event_processor"
    QUEUE_OVERFLOW = "queue_overflow"
    CACHE_OVERFLOW = "cache_overflow"
    RATELIMIT_BACKOFF = "ratelimit_backoff"
    NETWORK_ERROR = "network_error"
    SEND_ERROR = "send_error"
    INTERNAL_SDK_ERROR = "internal_sdk_error"


@runtime_checkable
class Transport(Protocol):
    """Delivers envelopes. Called only from the SDK's background worker thread."""

    def send(self, envelope: Any) -> None: ...

    def flush(self, timeout: float) -> bool: ...

    def close(self, timeout: float) -> None: ...
