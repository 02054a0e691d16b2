from __future__ import annotations

import pytest

from sdk_core.transport.backoff import Backoff
from sdk_core.transport.envelope import Envelope, Item, parse
from sdk_core.transport.outcomes import Outcome, classify
from sdk_core.transport.ratelimit import RateLimits, parse_rate_limits


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("60:error:key", {"error": 60.0}),
        ("60::key", {"": 60.0}),
        ("2.5:error;transaction:organization:quota:ns", {"error": 2.5, "transaction": 2.5}),
        (" 10 : error : project , 30:error:key", {"error": 30.0}),
        ("86400:transaction;span:organization", {"transaction": 86400.0, "span": 86400.0}),
        ("5:unknown_thing:key", {}),
        ("5:unknown_thing;error:key", {"error": 5.0}),
        ("garbage, :error:key, -3:error:key, nan:error:key", {}),
        ("7:error:key:reason:extra:more:fields", {"error": 7.0}),
    ],
)
def test_rate_limit_header_grammar(header: str, expected: dict[str, float]) -> None:
    assert parse_rate_limits(header) == expected


def test_rate_limits_per_category_and_fallbacks() -> None:
    now = [100.0]
    limits = RateLimits(clock=lambda: now[0])
    limits.update(200, {"x-sentry-rate-limits": "86400:transaction;span:organization"})
    assert not limits.is_limited("error") and limits.is_limited("transaction")
    limits.update(429, {"retry-after": "3"})
    assert limits.is_limited("error")
    now[0] += 3.1
    assert not limits.is_limited("error")
    limits.update(429, {})
    now[0] += 59
    assert limits.is_limited("error")
    now[0] += 2
    assert not limits.is_limited("error")
    assert not limits.is_limited("internal")


def test_outcomes() -> None:
    assert classify(200) is Outcome.SENT
    assert classify(None) is Outcome.RETRY
    assert classify(503) is Outcome.RETRY
    assert classify(429) is Outcome.RATE_LIMITED
    for status in (400, 401, 403, 413):
        assert classify(status) is Outcome.REJECTED


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    b = Backoff(max_retries=3, base=1.0, cap=8.0)
    assert b.delay(1, rand=1.0) == 1.0 and b.delay(3, rand=1.0) == 4.0 and b.delay(10, rand=1.0) == 8.0
    assert 0.5 <= b.delay(1, rand=0.0) <= 1.0
    assert b.delay(1, retry_after=6, rand=0.0) == 6.0
    assert b.should_retry(3) and not b.should_retry(4)


def test_envelope_roundtrip_with_lengths_and_newlines() -> None:
    env = Envelope({"event_id": "a" * 32}, [Item("event", b'{"x":"line\\nbreak"}'), Item("attachment", b"a\nb\n")])
    data = env.serialize()
    lines = data.split(b"\n")
    assert b'"length":19' in lines[1]
    back = parse(data)
    assert back.event_id == "a" * 32
    assert [i.payload for i in back.items] == [b'{"x":"line\\nbreak"}', b"a\nb\n"]


def test_backoff_survives_a_long_outage() -> None:
    assert Backoff(max_retries=3, base=1.0, cap=30.0).delay(5000, rand=1.0) == 30.0  # no OverflowError
