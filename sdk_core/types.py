"""Public types: event shapes and the Protocols at the SDK's seams."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Callable, Dict

from typing_extensions import Protocol, runtime_checkable

if TYPE_CHECKING:
    from .transport.envelope import Envelope

Event = Dict[str, Any]
"""A Sentry-shaped event payload (see the Sentry event schema)."""

Hint = Dict[str, Any]
"""Extra, unserialised context for hooks: ``exc_info``, ``log_record``, ``request``..."""

Breadcrumb = Dict[str, Any]

BeforeSend = Callable[[Event, Hint], "Event | None"]
"""``before_send`` and ``before_send_transaction``: the scrubbed event (or transaction), or None to drop it."""
BeforeBreadcrumb = Callable[[Breadcrumb, Hint], "Breadcrumb | None"]
"""``before_breadcrumb``: the breadcrumb to keep, or None to drop it."""
EventProcessor = Callable[[Event, Hint], "Event | None"]
"""A scope's event processor: the event to keep, or None to drop it."""
Log = Dict[str, Any]
"""A structured log record as ``before_send_log`` sees it (sentry-sdk's shape)."""
BeforeSendLog = Callable[[Log, Hint], "Log | None"]
"""``before_send_log``: the scrubbed log, or None to drop it."""
TracesSampler = Callable[[Dict[str, Any]], "float | bool"]
"""``traces_sampler``: the sample rate (or a decision) for a root span, given its sampling context."""


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
class BasicTransport(Protocol):
    """The least a user-plugged ``transport=`` needs: send, flush and close.

    The client adapts such an object to the full ``Transport`` (no-op lifecycle hooks), so a
    three-method test double keeps working.
    """

    def send(self, envelope: Envelope) -> None:
        """Deliver (or keep) one envelope; called on the worker thread only."""

    def flush(self, timeout: float) -> bool:
        """Deliver what is kept within ``timeout``; True if nothing is left."""

    def close(self, timeout: float) -> None:
        """Flush within ``timeout`` and release resources; no send follows."""


@runtime_checkable
class Transport(BasicTransport, Protocol):
    """The one seam between the client and delivery, lifecycle included.

    ``send``/``flush``/``close``/``tick`` run on the background worker thread; ``begin_close`` on
    the thread calling ``close()``; ``reset_after_fork`` in a forked child before any other call.
    """

    def tick(self) -> float | None:
        """Idle work (due retries, spool replay, overdue reports); seconds until useful again, or None."""

    def reset_after_fork(self) -> None:
        """In a forked child: forget the parent's sockets, retries and claims."""

    def begin_close(self) -> None:
        """Shutdown has started: flushes may stop early once everything is safe on disk."""

    def shedding(self, queued: int = 0) -> DropReason | None:
        """Why an event offered now, with ``queued`` events ahead of it, would be dropped unsent
        (endpoint down and nowhere to keep it, rate limited), or None. Read from any thread: the
        caller then drops before queueing, the worker before spending CPU on the event."""
