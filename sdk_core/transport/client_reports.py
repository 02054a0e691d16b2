"""Discard counters by (reason, category), drained into ``client_report`` items."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable

from .envelope import Item, client_report_item


class DiscardCounter:
    """Thread-safe: caller threads count queue overflows while the worker counts send failures."""

    def __init__(self, listener: Callable[[str, str, int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()
        self.totals: Counter[tuple[str, str]] = Counter()
        self.listener = listener

    def record(self, reason: str, category: str = "error", quantity: int = 1) -> None:
        """Count ``quantity`` discarded items of ``category`` for ``reason``."""
        with self._lock:
            self._pending[(reason, category)] += quantity
            self.totals[(reason, category)] += quantity
        if self.listener is not None:
            self.listener(reason, category, quantity)

    def has_pending(self) -> bool:
        """Whether there are discards not yet reported."""
        return bool(self._pending)

    def take_item(self) -> Item | None:
        """A client_report item with the pending counts, which are reset (None when nothing is pending)."""
        with self._lock:
            if not self._pending:
                return None
            pending, self._pending = dict(self._pending), Counter()
        return client_report_item(time.time(), pending)

    def restore(self, item: Item) -> None:
        """Put back the counts of a report that could not be delivered."""
        import orjson

        try:
            data = orjson.loads(item.payload)
            with self._lock:
                for row in data["discarded_events"]:
                    self._pending[(row["reason"], row["category"])] += int(row["quantity"])
        except Exception:
            pass

    def reset_after_fork(self) -> None:
        """Forget the parent's counts in a forked child (they are the parent's to report)."""
        self._lock = threading.Lock()
        self._pending = Counter()
