"""InMemoryTransport: keeps what would have been sent, for tests (ours and users')."""

from __future__ import annotations

import threading
from typing import Any

import orjson

from .envelope import Envelope


class InMemoryTransport:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.envelopes: list[Envelope] = []
        self.closed = False

    def send(self, envelope: Envelope) -> None:
        with self._lock:
            self.envelopes.append(envelope)

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float) -> None:
        self.closed = True

    @property
    def events(self) -> list[dict[str, Any]]:
        """Event payloads exactly as serialised for the wire."""
        with self._lock:
            envelopes = list(self.envelopes)
        return [orjson.loads(item.payload) for env in envelopes for item in env.items if item.type == "event"]

    def clear(self) -> None:
        with self._lock:
            self.envelopes.clear()
