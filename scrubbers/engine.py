"""The scrub engine: one walk over the event, key rules then value rules, matched span only.

How it stays fast:

* key classification is cached per raw key string (keys repeat across events);
* path rules run as a tiny automaton whose transitions are cached, so most subtrees pay one
  truthiness check;
* every string in the event is collected during the walk, then scanned *once* as a single
  ``"\\x00"``-joined text by one combined alternation regex; only the strings with a confirmed
  hit are rewritten.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Iterable, Union

from scrubbers.actions import REMARK_CODE, replacement
from scrubbers.credentials import DEFAULT_CREDENTIAL_RULES
from scrubbers.keys import KeyClassifier
from scrubbers.paths import PathMatcher
from scrubbers.patterns import DEFAULT_PATTERN_RULES
from scrubbers.rules import Action, FunctionRule, KeyRule, PathRule, PatternRule, RuleList
from scrubbers.scan import Hit, Scanner
from scrubbers.walk import Walk, fail_closed

__all__ = ["Engine", "compile_rules"]

BUILTIN_PATTERN_RULES = frozenset(DEFAULT_CREDENTIAL_RULES + DEFAULT_PATTERN_RULES)

_SEP = "\x00"
_CACHE_MAX_ENTRIES = 8192
_CACHE_MAX_LEN = 2048


class Engine:
    """A compiled, immutable rule set. Thread-safe: ``scrub_in_place`` keeps no per-event state.

    It remembers (bounded) which short strings it has already found clean, so strings that repeat
    across events (source lines, function names, SQL templates, user agents) are not scanned
    again; strings in which something was found are never remembered.
    """

    def __init__(
        self,
        rules: RuleList,
        allow_keys: tuple[str, ...],
        send_default_pii: bool,
        hash_key: bytes | None,
    ) -> None:
        self.rules = rules
        self.allow_keys = allow_keys
        self.send_default_pii = send_default_pii
        self._hash_key = hash_key
        active = [r for r in rules if not (send_default_pii and r.pii)]
        order = {r.id: i for i, r in enumerate(rules)}
        self._key_rules = [r for r in active if isinstance(r, KeyRule)]
        self._pattern_rules = [r for r in active if isinstance(r, PatternRule)]
        self._func_rules = [r for r in active if isinstance(r, FunctionRule)]
        path_rules = [r for r in active if isinstance(r, PathRule)]
        self._paths = PathMatcher(path_rules) if path_rules else None
        self._classifier = KeyClassifier(self._key_rules, allow_keys)
        self._classify = self._classifier.classify
        self._allow = KeyClassifier.ALLOW
        self._scanner = Scanner(self._pattern_rules, self._key_rules, self._classifier, order)
        self._clean: dict[str, None] = {}
        self._clean_old: dict[str, None] = {}
        self._kinfo: dict[Any, tuple[Any, Any]] = {}
        # Identifier-like strings under 16 characters cannot hold anything the built-in value
        # rules look for; with custom pattern rules every string is scanned.
        self._skip_short = all(r in BUILTIN_PATTERN_RULES for r in self._pattern_rules)

    # ------------------------------------------------------------------ text scanning

    def _scan(self, text: str) -> list[Hit]:
        return self._scanner.scan(text)

    def _scan_many(self, texts: list[str]) -> dict[int, list[Hit]]:
        """Scan many strings as one joined text; returns hits per string index (local offsets).

        A string that occurs several times in the event (a request repr in every frame's
        locals) is scanned once; each occurrence gets its own copy of the hits.
        """
        scanner = self._scanner
        if scanner.empty or not texts:
            return {}
        parts = list(dict.fromkeys(texts))  # the walk already skipped strings known to be clean
        blob = _SEP.join(parts)
        hits = scanner.scan(blob)
        found: dict[int, list[Hit]] = {}
        if hits:
            starts: list[int] = []
            off = 0
            for t in parts:
                starts.append(off)
                off += len(t) + 1
            rescan: set[int] = set()
            for hit in hits:
                a, b = hit[0], hit[1]
                k = bisect_right(starts, a) - 1
                base = starts[k]
                if b <= base + len(parts[k]):
                    found.setdefault(k, []).append((a - base, b - base, hit[2], hit[3]))
                else:  # a match across the separator: redo the strings it touched one by one
                    while k < len(parts) and starts[k] < b:
                        rescan.add(k)
                        k += 1
            for k in rescan:
                found[k] = scanner.scan(parts[k])
        self._remember_clean(parts, found)
        if not found:
            return {}
        if len(parts) == len(texts):
            return {k: found[k] for k in sorted(found)}
        by_text = {parts[k]: h for k, h in found.items()}
        return {i: list(by_text[t]) for i, t in enumerate(texts) if t in by_text}

    def _remember_clean(self, parts: list[str], found: dict[int, list[Hit]]) -> None:
        """Remember the strings without hits. Two generations: when the young one is full it
        becomes the old one, and the walk promotes strings it finds there, so strings that recur
        (source lines, module names) survive while one-off strings age out."""
        clean = self._clean
        if len(clean) > _CACHE_MAX_ENTRIES:
            self._clean_old = clean
            self._clean = clean = {}
        for k, t in enumerate(parts):
            if len(t) <= _CACHE_MAX_LEN and k not in found:
                clean[t] = None

    def _apply_hits(
        self, text: str, hits: list[Hit], counts: dict[str, int]
    ) -> tuple[str, list[list[Any]], list[tuple[int, int, int]]]:
        parts: list[str] = []
        remarks: list[list[Any]] = []
        edits: list[tuple[int, int, int]] = []  # (start, end, new length) in ``text``
        last = 0
        out_len = 0
        for a, b, _, rule in hits:
            if a < last:
                continue
            parts.append(text[last:a])
            out_len += a - last
            new = replacement(rule.action, text[a:b], self._hash_key)
            parts.append(new)
            remarks.append([rule.id, REMARK_CODE[rule.action], out_len, out_len + len(new)])
            edits.append((a, b, len(new)))
            out_len += len(new)
            last = b
            counts[rule.id] = counts.get(rule.id, 0) + 1
        parts.append(text[last:])
        return "".join(parts), remarks, edits

    def rewrite(self, text: str, hits: list[Hit], counts: dict[str, int]) -> tuple[str, list[list[Any]]]:
        """Apply ``hits`` to ``text``, then scan the result again until nothing is left.

        A replacement can change what surrounds a neighbouring candidate (a token that was
        glued to a PEM block is free-standing once the block is ``[Filtered]``), so the result
        is scanned again; this keeps scrubbing idempotent. Remark ranges are kept in step.
        """
        new, remarks, _ = self._apply_hits(text, hits, counts)
        for _ in range(3):
            more = self._scanner.scan(new)
            if not more:
                break
            newer, rem2, edits = self._apply_hits(new, more, counts)
            kept: list[list[Any]] = []
            for rem in remarks:
                s0, e0 = rem[2], rem[3]
                if any(a < e0 and s0 < b for a, b, _ in edits):
                    continue  # swallowed by a later, wider replacement
                shift = sum(n - (b - a) for a, b, n in edits if b <= s0)
                kept.append([rem[0], rem[1], s0 + shift, e0 + shift])
            remarks = sorted(kept + rem2, key=lambda r: r[2])
            new = newer
        return new, remarks

    def scrub_text(self, text: str) -> str:
        """Scrub one free-text string with the value rules (no event, no ``_meta``)."""
        hits = self._scan(text)
        return self.rewrite(text, hits, {})[0] if hits else text

    # ------------------------------------------------------------------ events

    def scrub_in_place(self, event: Any) -> dict[str, int]:
        """Scrub a Sentry-shaped event dict in place; return ``{rule_id: redactions}``.

        Adds ``_meta`` remarks for every change. Never raises: if something unexpected
        happens half-way, every string in the event is filtered (fail closed) and the count is
        reported under ``"scrubber-error"``.
        """
        counts: dict[str, int] = {}
        if not isinstance(event, dict):
            return counts
        try:
            Walk(self, event, counts).run()
        except Exception:
            counts["scrubber-error"] = counts.get("scrubber-error", 0) + 1
            try:
                fail_closed(event)
            except Exception:
                event.clear()
        return counts


def _check_rules(rules: object) -> RuleList:
    if isinstance(rules, (str, bytes, dict)) or not isinstance(rules, Iterable):
        raise TypeError(f"rules must be an iterable of rules (e.g. scrubbers.DEFAULT), got {type(rules).__name__}")
    checked = rules if isinstance(rules, RuleList) else RuleList(rules)
    seen: set[str] = set()
    for r in checked:
        if r.id in seen:
            raise ValueError(f"duplicate rule id {r.id!r}: each rule in the list needs its own id")
        seen.add(r.id)
    return checked


def compile_rules(
    rules: Iterable[Any] | None = None,
    *,
    allow_keys: Iterable[str] = (),
    send_default_pii: bool = False,
    hash_key: Union[bytes, str, None] = None,
) -> Engine:
    """Validate ``rules`` and build an :class:`Engine`.

    ``rules`` defaults to ``scrubbers.DEFAULT``; any iterable of rules or callables works
    (``[*scrubbers.DEFAULT, my_rule]``). ``allow_keys`` are field names (normalised like key
    rules) whose values are never touched. ``send_default_pii=True`` skips the rules marked
    ``pii`` (e-mail, IP addresses). ``hash_key`` is the HMAC key for ``Action.HASH`` rules.
    Raises ``TypeError``/``ValueError`` naming the rule and field on bad input.
    """
    if rules is None:
        from scrubbers.defaults import DEFAULT

        rules = DEFAULT
    checked = _check_rules(rules)
    if isinstance(allow_keys, (str, bytes)) or not isinstance(allow_keys, Iterable):
        raise TypeError(f"allow_keys must be an iterable of str, got {type(allow_keys).__name__}")
    allow = tuple(allow_keys)
    for k in allow:
        if not isinstance(k, str):
            raise TypeError(f"allow_keys must contain str, got {k!r}")
    if not isinstance(send_default_pii, bool):
        raise TypeError(f"send_default_pii must be a bool, got {send_default_pii!r}")
    key: bytes | None
    if hash_key is None:
        key = None
    elif isinstance(hash_key, str):
        key = hash_key.encode("utf-8")
    elif isinstance(hash_key, (bytes, bytearray)):
        key = bytes(hash_key)
    else:
        raise TypeError(f"hash_key must be bytes or str, got {type(hash_key).__name__}")
    if key is not None and not key:
        raise ValueError("hash_key must not be empty")
    for r in checked:
        if r.action is Action.HASH and key is None:
            raise ValueError(f"rule {r.id!r} uses Action.HASH but no hash_key was given to compile_rules")
    return Engine(checked, allow, send_default_pii, key)
