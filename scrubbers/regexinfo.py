"""What a pattern can look like, read from Python's own regex parser: first characters, shortest match.

The scanner uses both to skip work it can prove useless: rules that cannot start with the character
at a candidate, and candidates shorter than any rule's shortest match.
"""

from __future__ import annotations

import functools
import re
from typing import Any, FrozenSet, Iterable

try:  # the regex parser, to learn which characters a pattern can start with
    from re import _parser as _sre_parse  # type: ignore[attr-defined]  # Python 3.11+
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse

from scrubbers.rules import PatternRule

__all__ = ["digit_blind", "first_chars", "min_width", "prefix_regex"]


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


_ALL_DIGITS = frozenset("0123456789")


@functools.lru_cache(maxsize=1024)
def digit_blind(pattern: str, flags: int = 0) -> bool:
    """True when which digits a text holds cannot change where ``pattern`` matches: no digit
    literal, and every character class holds all ten digits or none (``\\d``, ``\\w``,
    ``[0-9A-F]`` and ``[a-z]`` are blind; ``3`` and ``[2-7]`` are not). Unknown shapes are not."""
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:
        return False

    def blind(items: Any) -> bool:
        for op, av in items:
            name = str(op)
            if name in ("LITERAL", "NOT_LITERAL"):
                if chr(av) in _ALL_DIGITS:
                    return False
            elif name == "IN":
                chars: set[str] = set()
                for iop, iav in av:
                    kind = str(iop)
                    if kind in ("LITERAL", "NOT_LITERAL"):
                        chars.add(chr(iav))
                    elif kind == "RANGE":
                        chars.update(chr(c) for c in range(iav[0], min(iav[1], 0x7F) + 1))
                    elif kind not in ("CATEGORY", "NEGATE"):
                        return False
                digits = chars & _ALL_DIGITS
                if digits and digits != _ALL_DIGITS:
                    return False
            elif name == "SUBPATTERN":
                if not blind(av[3]):
                    return False
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                if not blind(av[2]):
                    return False
            elif name == "BRANCH":
                if not all(blind(b) for b in av[1]):
                    return False
            elif name in ("ASSERT", "ASSERT_NOT"):
                if not blind(av[1]):
                    return False
            elif name == "ATOMIC_GROUP":
                if not blind(av):
                    return False
            elif name not in ("AT", "ANY", "GROUPREF", "CATEGORY"):
                return False
        return True

    return blind(parsed)


def prefix_regex(words: Iterable[str]) -> str:
    """A regex that matches where any of ``words`` starts (a trie, so candidates fail fast)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a whole word matched: enough for a candidate
        alts = []
        for ch in sorted(node):
            piece = "[-_. ]?" if ch == "\x01" else re.escape(ch)
            alts.append(piece + build(node[ch]))
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(trie) if trie else "(?!)"
