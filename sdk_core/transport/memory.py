"""InMemoryTransport: keeps what would have been sent, for tests (ours and users')."""

from __future__ import annotations

import threading
from typing import Any

import orjson

from .base import BaseTransport
from .envelope import Envelope


class InMemoryTransport(BaseTransport):
    """Keeps every envelope in a list: the ``Transport`` seam with no network, for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.envelopes: list[Envelope] = []
        self.closed = False

    def send(self, envelope: Envelope) -> None:
        """Keep the envelope (thread-safe: tests read while the worker appends)."""
        with self._lock:
            self.envelopes.append(envelope)

    def close(self, timeout: float) -> None:
        """Mark closed, so tests can see the client shut its transport down."""
        self.closed = True

    @property
    def events(self) -> list[dict[str, Any]]:
        """Event payloads exactly as serialised for the wire."""
        with self._lock:
            envelopes = list(self.envelopes)
        return [orjson.loads(item.payload) for env in envelopes for item in env.items if item.type == "event"]

    @property
    def transactions(self) -> list[dict[str, Any]]:
        """Transaction payloads exactly as serialised for the wire."""
        with self._lock:
            envelopes = list(self.envelopes)
        return [orjson.loads(item.payload) for env in envelopes for item in env.items if item.type == "transaction"]

    def clear(self) -> None:
        """Forget what was kept so far."""
        with self._lock:
            self.envelopes.clear()
