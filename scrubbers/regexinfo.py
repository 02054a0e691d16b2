"""What a pattern can look like, read from Python's own regex parser: first characters, shortest match.

The scanner uses both to skip work it can prove useless: rules that cannot start with the character
at a candidate, and candidates shorter than any rule's shortest match.
"""

from __future__ import annotations

import functools
import re
from typing import Any, FrozenSet

try:  # the regex parser, to learn which characters a pattern can start with
    from re import _parser as _sre_parse  # type: ignore[attr-defined]  # Python 3.11+
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse

from scrubbers.rules import PatternRule

__all__ = ["first_chars", "min_width"]


_ZERO_WIDTH = frozenset(("ASSERT", "ASSERT_NOT", "AT"))


def _op_name(op: object) -> str:
    return str(getattr(op, "name", op))


def _seq_first(items: Any) -> FrozenSet[str] | None:
    """Characters a parsed sequence can start with; None when unknown (or it can match empty)."""
    for op, av in items:
        name = _op_name(op)
        if name in _ZERO_WIDTH:
            continue
        return _item_first(name, av)
    return None


def _item_first(name: str, av: Any) -> FrozenSet[str] | None:
    if name == "LITERAL":
        return frozenset((chr(av),))
    if name == "IN":
        chars: set[str] = set()
        for op, a in av:
            n = _op_name(op)
            if n == "LITERAL":
                chars.add(chr(a))
            elif n == "RANGE" and a[1] - a[0] <= 256:
                chars.update(chr(c) for c in range(a[0], a[1] + 1))
            else:  # negated sets, categories (\w, \d): anything
                return None
        return frozenset(chars)
    if name == "BRANCH":
        out: set[str] = set()
        for branch in av[1]:
            first = _seq_first(branch)
            if first is None:
                return None
            out |= first
        return frozenset(out)
    if name == "SUBPATTERN":
        add_flags, body = av[1], av[3]
        if add_flags & re.IGNORECASE:
            return None
        return _seq_first(body)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _seq_first(av[2]) if av[0] >= 1 else None
    return None


def first_chars(rule: PatternRule) -> FrozenSet[str] | None:
    """A superset of the characters a match of ``rule`` can start with, or None for any."""
    return _facts(rule.pattern, rule.flags)[0]


def min_width(rule: PatternRule) -> int:
    """The fewest characters a match of ``rule`` can span (0 when unknown)."""
    return _facts(rule.pattern, rule.flags)[1]


@functools.lru_cache(maxsize=1024)
def _facts(pattern: str, flags: int) -> tuple[FrozenSet[str] | None, int]:
    # parsed once per pattern: every compile_rules() (one per init, or per test) asks again
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:  # an unexpected parser shape: assume anything, and that it can be short
        return None, 0
    try:
        first = None if parsed.state.flags & re.IGNORECASE else _seq_first(parsed)
    except Exception:
        first = None
    try:
        width = max(0, min(int(parsed.getwidth()[0]), 1 << 20))
    except Exception:
        width = 0
    return first, width
