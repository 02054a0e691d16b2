"""Marks the SDK's own work (uploads, the worker thread) so integrations can skip it.

A context variable instead of a thread name: it follows the work into whatever thread or task
does it, and the worker thread inherits it from the ``with sdk_sending():`` that starts it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_SENDING: ContextVar[bool] = ContextVar("coderadar_sdk_sending", default=False)


def is_sdk_sending() -> bool:
    """True while the SDK itself is doing the work: its uploads must not become breadcrumbs or events."""
    return _SENDING.get()


@contextmanager
def sdk_sending() -> Iterator[None]:
    """Mark the enclosed work (and threads started inside it) as the SDK's own."""
    token = _SENDING.set(True)
    try:
        yield
    finally:
        _SENDING.reset(token)


def mark_sdk_thread() -> None:
    """Mark the whole of the calling thread (the SDK's worker) as the SDK's own; threads start with a fresh context."""
    _SENDING.set(True)
