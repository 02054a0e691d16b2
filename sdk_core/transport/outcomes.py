"""What a response (or its absence) means for an envelope. No I/O."""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """What a POST's response means for the envelope: sent, retry later, rate limited, or rejected for good."""
    SENT = "sent"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"


def classify(status: int | None) -> Outcome:
    """``None`` is a network error. 429 is the server's own count; other 4xx are final; 5xx retry."""
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.SENT
    if status == 429:
        return Outcome.RATE_LIMITED
    if status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED
