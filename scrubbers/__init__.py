"""CodeRadar scrubbers: remove secrets and personal data from Sentry-shaped events.

Pure functions over dicts; imports nothing from ``sdk_core``.

    import scrubbers
    engine = scrubbers.compile_rules(scrubbers.DEFAULT.without("ip-address"), allow_keys=["order_token"])
    counts = engine.scrub_in_place(event)          # {rule_id: redactions}
    clean = scrubbers.scrub_event(event)           # a scrubbed deep copy

The rule list is documented in ``scrubbers/RULES.md``.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Union

from scrubbers.defaults import CREDENTIALS, DEFAULT
from scrubbers.engine import Engine, compile_rules
from scrubbers.rules import Action, FunctionRule, KeyRule, PathRule, PatternRule, Rule, RuleList, rule

__all__ = [
    "CREDENTIALS",
    "DEFAULT",
    "Action",
    "Engine",
    "FunctionRule",
    "KeyRule",
    "PathRule",
    "PatternRule",
    "Rule",
    "RuleList",
    "compile_rules",
    "rule",
    "scrub_event",
]

_ENGINES: dict[Any, Engine] = {}


def _engine(
    rules: Iterable[Any], allow_keys: Iterable[str], send_default_pii: bool, hash_key: Union[bytes, str, None]
) -> Engine:
    try:
        # a RuleList is immutable: its identity is a cheap cache key (the engine keeps it alive)
        rules_key: Any = ("id", id(rules)) if isinstance(rules, RuleList) else tuple(rules)
        cache_key: Any = (rules_key, tuple(allow_keys), send_default_pii, hash_key)
        hash(cache_key)
    except TypeError:
        return compile_rules(rules, allow_keys=allow_keys, send_default_pii=send_default_pii, hash_key=hash_key)
    engine = _ENGINES.get(cache_key)
    if engine is not None and isinstance(rules, RuleList) and engine.rules is not rules:
        engine = None  # an id reused by a new list after the old one was freed
    if engine is None:
        engine = compile_rules(rules, allow_keys=allow_keys, send_default_pii=send_default_pii, hash_key=hash_key)
        if len(_ENGINES) > 32:
            _ENGINES.clear()
        _ENGINES[cache_key] = engine
    return engine


def _copy(value: Any, depth: int = 0) -> Any:
    if depth > 100:
        return None
    if isinstance(value, dict):
        return {k: _copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_copy(v, depth + 1) for v in value]
    if isinstance(value, (str, int, float, bool, type(None), bytes)):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:
        return repr(value)


def scrub_event(
    event: dict[str, Any],
    rules: Iterable[Any] = DEFAULT,
    *,
    allow_keys: Iterable[str] = (),
    send_default_pii: bool = False,
    hash_key: Union[bytes, str, None] = None,
) -> dict[str, Any]:
    """Return a scrubbed deep copy of ``event``; the input is not modified.

    Takes the same options as :func:`compile_rules`; compiled rule sets are cached, but code
    that scrubs many events should compile once and call ``engine.scrub_in_place``.
    Raises only for a misconfigured rule list, never because of the event's content.
    """
    engine = _engine(rules, allow_keys, send_default_pii, hash_key)
    clean = _copy(event)
    if not isinstance(clean, dict):
        return {}
    engine.scrub_in_place(clean)
    return clean
