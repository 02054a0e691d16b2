"""Backoff after a very long outage: the delay stays capped instead of overflowing."""

from __future__ import annotations

from sdk_core.transport.backoff import Backoff


def test_delay_after_thousands_of_failures_is_the_cap() -> None:
    backoff = Backoff(cap=30.0)
    for attempt in (1, 63, 1025, 10_000):
        assert 0 < backoff.delay(attempt, rand=1.0) <= 30.0
    assert backoff.delay(10_000, rand=1.0) == 30.0
