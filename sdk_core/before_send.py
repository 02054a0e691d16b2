"""Run the user's ``before_send``: it sees the scrubbed event; failing or returning junk drops it."""

from __future__ import annotations

from typing import Any, Callable

from ._internal_errors import logger
from .types import Event, Hint


def run_before_send(hook: Callable[..., Any], event: Event, hint: Hint) -> Event | None:
    """Call the user's hook; an exception or a non-dict result drops the event (logged, never raised)."""
    try:
        result = hook(event, hint)
    except Exception as exc:
        logger.error("before_send raised %s; the event was dropped", type(exc).__name__, exc_info=False)
        return None
    if result is None:
        return None
    if not isinstance(result, dict):
        logger.error("before_send returned %s instead of an event dict or None; dropped", type(result).__name__)
        return None
    return result
