"""Caller-thread entry points: an exception or a message becomes a raw event. Cheap, no I/O.

What must be read now (frames, locals, the message) is read now; everything that can wait runs on
the background worker (see pipeline.py).
"""

from __future__ import annotations

import time
from typing import Any

from .event import LEVEL_SET, level_name, new_event_id
from .exception_chain import exception_values
from .normalize import safe_str
from .stacktrace import FrameBuilder
from .types import Event, Hint


def event_from_exception(
    exc: BaseException,
    frames: FrameBuilder,
    max_value_length: int,
    mechanism: dict[str, Any] | None = None,
    level: str = "error",
) -> tuple[Event, Hint]:
    """An event for ``exc`` and its chain (frames, locals, mechanism), and the hint carrying ``exc_info``."""
    meta: dict[str, Any] = {}
    values = exception_values(exc, frames, mechanism, max_value_length, meta)
    event: Event = {
        "event_id": new_event_id(),
        "timestamp": time.time(),
        "level": level,
        "exception": {"values": values},
    }
    if meta:
        event["_meta"] = {"exception": {"values": meta}}
    return event, {"exc_info": (type(exc), exc, exc.__traceback__)}


def event_from_message(
    message: Any, level: Any, params: list[Any] | None = None, formatted: str | None = None
) -> Event:
    """A message event: ``logentry`` keeps the template and its params apart so scrubbing and grouping see both."""
    text = safe_str(message, 8192)
    logentry: dict[str, Any] = {"message": text}
    if params:
        logentry["params"] = params
        logentry["formatted"] = formatted if formatted is not None else text
    elif formatted is not None and formatted != text:
        logentry["formatted"] = formatted
    return {
        "event_id": new_event_id(),
        "timestamp": time.time(),
        "level": level_name(level),
        "logentry": logentry,
    }


def make_breadcrumb(crumb: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """A breadcrumb from ``add_breadcrumb``'s dict and keyword fields, timestamped now if it has none."""
    if crumb:
        data = dict(crumb)
        if fields:
            data.update(fields)
    else:
        data = fields  # a fresh dict already: **fields
    if "timestamp" not in data:
        data["timestamp"] = time.time()
    level = data.get("level")
    if level is not None and level not in LEVEL_SET:
        data["level"] = level_name(level)
    return data
