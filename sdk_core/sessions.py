"""Release health for servers: request outcomes counted per minute, sent as ``sessions`` aggregates.

``auto_session_tracking`` (on when a release is set): each request a web integration handles
counts once, when it ends, as ``exited`` (no error), ``errored`` (an error event was captured while
it ran) or ``crashed`` (an unhandled exception reached the framework integration). Counts go into
one-minute buckets; every ``FLUSH_INTERVAL`` seconds and at ``close()`` they leave as one
``sessions`` item ``{"aggregates": [{"started", "exited", "errored", "crashed"}], "attrs":
{"release", "environment"}}``. No release, no sessions.

Per request: a list on the request's isolation scope (no extra context variable) and one
lock-free counter increment. A
server that ignores sessions gets one small envelope a minute, only in minutes with requests.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from itertools import count
from time import time as _time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import orjson

from ._internal_errors import log_internal_error
from .periodic import Periodic
from .scope import Scope, get_isolation_scope
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

    def envelope(self) -> Envelope | None:
        """Release, environment and counts: nothing to scrub."""
        return items_envelope([Item("sessions", orjson.dumps(self.payload))])


class SessionAggregator:
    """Counts request outcomes per minute and hands them to the worker every minute.

    ``record`` takes no lock: the current minute's counters are ``itertools.count`` objects, whose
    ``next`` is atomic, and a flush sends what each counter gained since the last flush, so a
    request counted while a flush reads is sent with the next one instead of being lost.
    """

    def __init__(
        self, options: Options, submit: Callable[[Job], bool], count_drop: Callable[[str, str, int], None]
    ) -> None:
        self._attrs = {"release": options.release, "environment": options.environment}
        self._submit = submit
        self._count_drop = count_drop
        self._lock = threading.Lock()
        # minute -> its three counters (exited, errored, crashed) and what was already sent of each
        self._minutes: dict[int, tuple[tuple[Iterator[int], ...], list[int]]] = {}
        self._counters: tuple[Iterator[int], ...] = ()
        self._until = 0.0  # the current minute's counters serve until this time
        self._timer = Periodic("sdk_core.sessions", FLUSH_INTERVAL, self.flush)

    def record(self, status: int) -> None:
        """Count one finished request (``0`` exited, ``1`` errored, ``2`` crashed)."""
        now = _time()
        if now >= self._until or now < self._until - 60:
            self._roll(now)
        next(self._counters[status])

    def _roll(self, now: float) -> None:
        minute = int(now) // 60 * 60
        with self._lock:
            entry = self._minutes.get(minute)
            if entry is None:
                entry = self._minutes[minute] = ((count(), count(), count()), [0, 0, 0])
            self._counters, self._until = entry[0], float(minute + 60)
        self._timer.ensure_started()

    def flush(self) -> None:
        """Send the counts since the last flush as one ``sessions`` item (nothing when there were none)."""
        now = _time()
        aggregates = []
        with self._lock:
            for minute in sorted(self._minutes):
                counters, sent = self._minutes[minute]
                values = [_value(c) for c in counters]
                delta = [v - s for v, s in zip(values, sent)]
                self._minutes[minute] = (counters, values)
                if minute + 120 <= now:  # long past: no request can still be counted there
                    del self._minutes[minute]
                if not any(delta):
                    continue
                entry: dict[str, Any] = {"started": _iso_minute(minute)}
                for index, name in enumerate(_STATUSES):
                    if delta[index]:
                        entry[name] = delta[index]
                aggregates.append(entry)
        for start in range(0, len(aggregates), MAX_BUCKETS):
            chunk = aggregates[start : start + MAX_BUCKETS]
            quantity = sum(sum(v for k, v in e.items() if k != "started") for e in chunk)
            payload = {"aggregates": chunk, "attrs": self._attrs}
            if not self._submit(SessionsJob(payload, quantity)):
                self._count_drop(DropReason.QUEUE_OVERFLOW.value, CATEGORY, quantity)

    def reset_after_fork(self) -> None:
        """In a forked child: the parent's counts are the parent's to send; a fresh lock."""
        self._lock = threading.Lock()
        self._minutes = {}
        self._counters = ()
        self._until = 0.0

    def close(self) -> None:
        """Stop the timer and send what was counted."""
        self._timer.stop()
        self.flush()


def _value(counter: Iterator[int]) -> int:
    """The next number an ``itertools.count`` would give: how many times it was advanced."""
    return int(counter.__reduce__()[1][0])


def _iso_minute(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:00Z")


# -- per request -------------------------------------------------------------------------------
_aggregator: SessionAggregator | None = None


def make_aggregator(
    options: Options, submit: Callable[[Job], bool], count_drop: Callable[[str, str, int], None]
) -> SessionAggregator | None:
    """The client's aggregator when ``auto_session_tracking`` is on (it needs a release), else None."""
    global _aggregator
    if not options.auto_session_tracking or not options.release:
        return None
    _aggregator = SessionAggregator(options, submit, count_drop)
    return _aggregator


def close_aggregator(aggregator: SessionAggregator | None) -> None:
    """At the client's close: uninstall and send the last counts."""
    global _aggregator
    if aggregator is None:
        return
    if _aggregator is aggregator:
        _aggregator = None
    aggregator.close()


def start_request(scope: Scope) -> list[int] | None:
    """A request starts in ``scope`` (its isolation scope); None when sessions are off or the
    request is already counted (nested integrations). Pass the result to ``end_request``."""
    if _aggregator is None or scope.session is not None:
        return None
    outcome = scope.session = [_EXITED]
    return outcome


def end_request(outcome: list[int] | None) -> None:
    """The request started by ``start_request`` ended: count its outcome. Never raises."""
    aggregator = _aggregator
    if outcome is not None and aggregator is not None:
        try:
            aggregator.record(outcome[0])
        except Exception as exc:
            log_internal_error("session end", exc)


def note_event(event: dict[str, Any]) -> None:
    """An event was captured: an unhandled exception crashes the request, any error errors it."""
    outcome = get_isolation_scope().session
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
