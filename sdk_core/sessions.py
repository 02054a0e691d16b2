"""Release health for servers: request outcomes counted per minute, sent as ``sessions`` aggregates.

``auto_session_tracking`` (on when a release is set): each request a web integration handles
counts once, when it ends, as ``exited`` (no error), ``errored`` (an error event was captured while
it ran) or ``crashed`` (an unhandled exception reached the framework integration). Counts go into
one-minute buckets; every ``FLUSH_INTERVAL`` seconds and at ``close()`` they leave as one
``sessions`` item ``{"aggregates": [{"started", "exited", "errored", "crashed"}], "attrs":
{"release", "environment"}}``. No release, no sessions.

Per request: one context-variable set and reset, and one counter increment under a lock. A
server that ignores sessions gets one small envelope a minute, only in minutes with requests.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

import orjson

from .periodic import Periodic
from .transport.envelope import Envelope, Item, items_envelope
from .types import DropReason

if TYPE_CHECKING:
    from .options import Options
    from .pipeline import Job

FLUSH_INTERVAL = 60.0
"""Seconds between two aggregates (each covers the minutes since the last one)."""
MAX_BUCKETS = 100
"""Buckets per ``sessions`` item (the protocol's limit)."""
CATEGORY = "session"
_STATUSES = ("exited", "errored", "crashed")
_EXITED, _ERRORED, _CRASHED = 0, 1, 2


class SessionsJob:
    """One aggregate on the worker (the ``Job`` protocol of ``sdk_core.pipeline``)."""

    category = CATEGORY

    def __init__(self, payload: dict[str, Any], quantity: int) -> None:
        self.payload = payload
        self.quantity = quantity

    def envelope(self) -> Optional[Envelope]:
        """Release, environment and counts: nothing to scrub."""
        return items_envelope([Item("sessions", orjson.dumps(self.payload))])


class SessionAggregator:
    """Counts request outcomes per minute and hands them to the worker every minute."""

    def __init__(
        self, options: Options, submit: Callable[[Job], bool], count_drop: Callable[[str, str, int], None]
    ) -> None:
        self._attrs = {"release": options.release, "environment": options.environment}
        self._submit = submit
        self._count_drop = count_drop
        self._lock = threading.Lock()
        self._buckets: dict[int, list[int]] = {}
        self._timer = Periodic("sdk_core.sessions", FLUSH_INTERVAL, self.flush)

    def record(self, status: int) -> None:
        """Count one finished request (``0`` exited, ``1`` errored, ``2`` crashed)."""
        minute = int(time.time()) // 60 * 60
        with self._lock:
            bucket = self._buckets.get(minute)
            if bucket is None:
                bucket = self._buckets[minute] = [0, 0, 0]
            bucket[status] += 1
        self._timer.ensure_started()

    def flush(self) -> None:
        """Send the counts so far as one ``sessions`` item (nothing when there were no requests)."""
        with self._lock:
            buckets, self._buckets = self._buckets, {}
        if not buckets:
            return
        minutes = sorted(buckets)
        for start in range(0, len(minutes), MAX_BUCKETS):
            aggregates = []
            total = 0
            for minute in minutes[start : start + MAX_BUCKETS]:
                counts = buckets[minute]
                entry: dict[str, Any] = {"started": _iso_minute(minute)}
                for index, name in enumerate(_STATUSES):
                    if counts[index]:
                        entry[name] = counts[index]
                total += sum(counts)
                aggregates.append(entry)
            payload = {"aggregates": aggregates, "attrs": self._attrs}
            if not self._submit(SessionsJob(payload, total)):
                self._count_drop(DropReason.QUEUE_OVERFLOW.value, CATEGORY, total)

    def close(self) -> None:
        """Stop the timer and send what was counted."""
        self._timer.stop()
        self.flush()


def _iso_minute(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:00Z")


# -- per request -------------------------------------------------------------------------------
_aggregator: Optional[SessionAggregator] = None
_outcome: ContextVar[Optional[list[int]]] = ContextVar("coderadar_session", default=None)


def make_aggregator(
    options: Options, submit: Callable[[Job], bool], count_drop: Callable[[str, str, int], None]
) -> Optional[SessionAggregator]:
    """The client's aggregator when ``auto_session_tracking`` is on (it needs a release), else None."""
    global _aggregator
    if not options.auto_session_tracking or not options.release:
        return None
    _aggregator = SessionAggregator(options, submit, count_drop)
    return _aggregator


def close_aggregator(aggregator: Optional[SessionAggregator]) -> None:
    """At the client's close: uninstall and send the last counts."""
    global _aggregator
    if aggregator is None:
        return
    if _aggregator is aggregator:
        _aggregator = None
    aggregator.close()


def start_request() -> Optional[Token[Optional[list[int]]]]:
    """A request starts (None when sessions are off, or inside a request already counted)."""
    if _aggregator is None or _outcome.get() is not None:
        return None
    return _outcome.set([_EXITED])


def end_request(token: Optional[Token[Optional[list[int]]]]) -> None:
    """The request started by ``start_request`` ended: count its outcome. Never raises."""
    if token is None:
        return
    outcome = _outcome.get()
    try:
        _outcome.reset(token)
    except ValueError:  # ended in another context than it started: still counted
        pass
    aggregator = _aggregator
    if aggregator is not None and outcome is not None:
        aggregator.record(outcome[0])


def note_event(event: dict[str, Any]) -> None:
    """An event was captured: an unhandled exception crashes the request, any error errors it."""
    outcome = _outcome.get()
    if outcome is None or outcome[0] == _CRASHED:
        return
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else None
    if isinstance(values, list) and values:
        last = values[-1]
        mechanism = last.get("mechanism") if isinstance(last, dict) else None
        if isinstance(mechanism, dict) and mechanism.get("handled") is False:
            outcome[0] = _CRASHED
            return
        outcome[0] = _ERRORED
    elif event.get("level") in ("error", "fatal"):
        outcome[0] = _ERRORED
