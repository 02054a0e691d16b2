"""Property tests: arbitrary nested events never make the engine raise; scrubbing is idempotent."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scrubbers
from scrubbers import Action, KeyRule, PatternRule

ENGINE = scrubbers.compile_rules()
ENGINE_PII = scrubbers.compile_rules(send_default_pii=True, allow_keys=["order_token"])
ENGINE_ACTIONS = scrubbers.compile_rules(
    [
        KeyRule(id="masked-field", names=("card_ref",), action=Action.MASK),
        KeyRule(id="hashed-field", names=("user_ref",), action=Action.HASH),
        KeyRule(id="removed-field", names=("debug_blob",), action=Action.REMOVE),
        PatternRule(id="masked-order", pattern=r"ORD-\d{8}", action=Action.MASK, category="pii"),
        *scrubbers.DEFAULT,
    ],
    hash_key=b"fuzz",
)

# Text that looks like what events carry: fragments of secrets, separators, unicode.
FRAGMENTS = [
    "password=",
    "token: ",
    '"api_key": "',
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "jane@example.org",
    "@",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "123-45-6789",
    "203.0.113.7",
    "2001:db8::1",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx",
    "sk-proj-",
    "postgres://u:p@h/db",
    "-----BEGIN RSA PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghij",
    "[Filtered]",
    "ORD-12345678",
    "\x00",
    "\n",
    "İ",
    "ß",
    "\ud800",
    "=",
    ":",
    "'",
    '"',
    " ",
    "\\",
]
text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=8).map("".join),
)
keys = st.one_of(
    text,
    st.sampled_from(
        [
            "password",
            "api_key",
            "X-Api-Key",
            "cookies",
            "request",
            "headers",
            "card_ref",
            "user_ref",
            "debug_blob",
            "order_token",
            "email",
            "ip_address",
            "vars",
            "_meta",
        ]
    ),
    st.integers(),
    st.none(),
)
scalars = st.one_of(text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.binary(max_size=20))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=40,
)
events = st.dictionaries(keys, values, max_size=6).map(lambda d: {k: v for k, v in d.items() if k != "_meta"})


def _content(event: dict[Any, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "_meta"}
    return json.dumps(body, sort_keys=False, default=repr, ensure_ascii=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_engine_never_raises(event: dict[Any, Any]) -> None:
    """Any nesting of odd keys and values is scrubbed without an exception or a fail-closed fallback."""
    for engine in (ENGINE, ENGINE_PII, ENGINE_ACTIONS):
        ev = copy.deepcopy(event)
        counts = engine.scrub_in_place(ev)
        assert isinstance(counts, dict)
        assert "scrubber-error" not in counts, counts
        assert all(isinstance(k, str) and isinstance(n, int) and n > 0 for k, n in counts.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_scrubbing_is_idempotent(event: dict[Any, Any]) -> None:
    """scrub(scrub(e)) has the same content as scrub(e)."""
    for engine in (ENGINE, ENGINE_ACTIONS):
        once = copy.deepcopy(event)
        engine.scrub_in_place(once)
        twice = copy.deepcopy(once)
        engine.scrub_in_place(twice)
        assert _content(twice) == _content(once)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS[:18]), min_size=1, max_size=6), st.text(max_size=10))
def test_scrub_event_copy_matches_in_place(parts: list[str], noise: str) -> None:
    """scrub_event on a copy gives what scrub_in_place gives, and leaves its input alone."""
    event = {"message": noise.join(parts), "extra": {"t": parts}}
    before = copy.deepcopy(event)
    out = scrubbers.scrub_event(event)
    assert event == before
    ENGINE.scrub_in_place(event)
    assert _content(out) == _content(event)
