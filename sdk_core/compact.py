"""Compact queued events: the already-normalised exception packed into one bytes object.

An exception event carries its frames and local-variable snapshots as a tree of small dicts and
lists. Packed as JSON bytes at capture (they are JSON-safe by then), a queued event holds one
object the garbage collector does not track instead of dozens it must walk on every full
collection, and its size is known: the queue is bounded by bytes with it. The worker unpacks it
first thing (``unpack``), before any stage runs.
"""

from __future__ import annotations

from typing import Any

import orjson

from .types import Event

BASE_SIZE = 512
"""Bytes counted for an event's small fields (ids, level, timestamp, tags, merged contexts)."""
CRUMB_SIZE = 48
"""Bytes counted per breadcrumb: a queued event holds references to the scope's breadcrumbs."""


class Packed:
    """JSON bytes standing in for a part of an event until the worker unpacks it."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def pack(event: Event) -> int:
    """Pack ``event["exception"]`` in place if it is plain JSON; return the event's size estimate."""
    size = BASE_SIZE
    exception = event.get("exception")
    if exception is not None and not isinstance(exception, Packed):
        try:
            # An exact-size copy: orjson's own result keeps its larger working buffer (8 KiB, not 3).
            data = bytes(memoryview(orjson.dumps(exception)))
        except Exception:  # a processor put something odd there: leave it for the pipeline
            data = None
        if data is not None:
            event["exception"] = Packed(data)
            size += len(data)
        else:
            size += 4096
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict):
        values = crumbs.get("values")
        if isinstance(values, list):
            size += CRUMB_SIZE * len(values)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        message = logentry.get("message")
        if isinstance(message, str):
            size += len(message)
    for key in ("request", "extra"):
        if event.get(key):
            size += 1024
    return size


def unpack(event: Event) -> Event:
    """Turn packed parts back into plain data (a no-op for an event that was never packed)."""
    exception: Any = event.get("exception")
    if isinstance(exception, Packed):
        event["exception"] = orjson.loads(exception.data)
    return event
