"""Server rate limits (``X-Sentry-Rate-Limits``, ``Retry-After``) as per-category deadlines."""

from __future__ import annotations

import time
from typing import Callable, Mapping

KNOWN_CATEGORIES = frozenset(
    {
        "default",
        "error",
        "transaction",
        "security",
        "attachment",
        "session",
        "profile",
        "profile_chunk",
        "replay",
        "monitor",
        "span",
        "log_item",
        "log_byte",
        "feedback",
        "trace_metric",
        "metric_bucket",
        "internal",
    }
)
ALL = ""
DEFAULT_RETRY_AFTER = 60.0


def parse_rate_limits(header: str) -> dict[str, float]:
    """``retry_after:categories:scope[:reason[:namespaces]]``, comma-separated -> {category: seconds}.

    Empty categories mean all (``""``); limits naming only unknown categories are ignored.
    """
    limits: dict[str, float] = {}
    for limit in header.split(","):
        fields = [f.strip() for f in limit.replace(" ", "").split(":")]
        if not fields or not fields[0]:
            continue
        try:
            seconds = float(fields[0])
        except ValueError:
            continue
        if seconds != seconds or seconds < 0:
            continue
        raw = fields[1] if len(fields) > 1 else ""
        categories = [c for c in raw.split(";") if c] if raw else [ALL]
        known = [c for c in categories if c == ALL or c in KNOWN_CATEGORIES]
        for category in known:
            limits[category] = max(limits.get(category, 0.0), seconds)
    return limits


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given as delta seconds, or None if missing or unusable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None


class RateLimits:
    """Disabled-until times per category; ``""`` is the all-categories limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def update(self, status: int, headers: Mapping[str, str]) -> bool:
        """Apply a response's limits; return True if it told us to back off."""
        now = self._clock()
        header = headers.get("x-sentry-rate-limits")
        changed = False
        if header:
            for category, seconds in parse_rate_limits(header).items():
                self._until[category] = max(self._until.get(category, 0.0), now + seconds)
                changed = True
        elif status == 429:
            retry_after = parse_retry_after(headers.get("retry-after"))
            until = now + (DEFAULT_RETRY_AFTER if retry_after is None else retry_after)
            self._until[ALL] = max(self._until.get(ALL, 0.0), until)
            changed = True
        return changed

    def is_limited(self, category: str) -> bool:
        """Whether ``category`` is rate limited right now."""
        if category == "internal":
            return False
        if not self._until:
            return False
        now = self._clock()
        return self._until.get(category, 0.0) > now or self._until.get(ALL, 0.0) > now

    def limited_categories(self, categories: set[str]) -> set[str]:
        """Which of ``categories`` are rate limited right now."""
        return {c for c in categories if self.is_limited(c)}
