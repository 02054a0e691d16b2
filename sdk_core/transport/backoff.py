"""Immutable retry policy: capped exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Retry policy: capped exponential backoff, half of each wait random; a Retry-After raises it (up to the cap)."""
    max_retries: int = 3
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None, rand: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        # The exponent is capped: a long outage counts thousands of failures, and 2.0 ** 1024 overflows.
        ceiling = min(self.cap, self.base * float(2 ** min(max(0, attempt - 1), 62)))
        r = random.random() if rand is None else rand
        wait = ceiling / 2 + r * ceiling / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def should_retry(self, attempt: int) -> bool:
        """Whether attempt number ``attempt`` is still within ``max_retries``."""
        return attempt <= self.max_retries
