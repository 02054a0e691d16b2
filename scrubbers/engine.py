"""The scrub engine: one walk over the event, key rules then value rules, matched span only.

How it stays fast:

* key classification is cached per raw key string (keys repeat across events);
* path rules run as a tiny automaton whose transitions are cached, so most subtrees pay one
  truthiness check;
* every string in the event is collected during the walk, then scanned *once* as a single
  ``"\\x00"``-joined text by one combined alternation regex; only the strings with a confirmed
  hit are rewritten.

The engine compiles; :mod:`scrubbers.walk` walks. The walk gets a :class:`ScrubState` and
reads nothing else of the engine.
"""

from __future__ import annotations

from typing import Any, Iterable, Union

from scrubbers.context import CONTEXT_TOKEN, DEFAULT_CONTEXT_RULES, WEAK_KEY_NAMES
from scrubbers.credentials import DEFAULT_CREDENTIAL_RULES
from scrubbers.failsafe import fail_closed
from scrubbers.keys import KeyClassifier
from scrubbers.pairs import TextPairs
from scrubbers.paths import PathMatcher
from scrubbers.patterns import DEFAULT_PATTERN_RULES
from scrubbers.rules import Action, FunctionRule, KeyRule, PathRule, PatternRule, RuleList
from scrubbers.scan import Scanner
from scrubbers.text import ScrubState, TextScrubber, WeakKey
from scrubbers.walk import Walk

__all__ = ["Engine", "compile_rules"]

_WEAK = frozenset((n,) for n in WEAK_KEY_NAMES)
BUILTIN_PATTERN_RULES = frozenset(DEFAULT_CREDENTIAL_RULES + DEFAULT_PATTERN_RULES + DEFAULT_CONTEXT_RULES)


class Engine:
    """A compiled, immutable rule set. Thread-safe: ``scrub_in_place`` keeps no per-event state.

    It remembers (bounded) which short strings it has already found clean, so strings that repeat
    across events (source lines, function names, SQL templates, user agents) are not scanned
    again. Strings in which something was found are remembered only as a keyed digest with their
    hit offsets (never the text), so a recurring line holding a key is not scanned again either.
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
        active = [r for r in rules if not (send_default_pii and r.pii)]
        order = {r.id: i for i, r in enumerate(rules)}
        key_rules = [r for r in active if isinstance(r, KeyRule)]
        pattern_rules = [r for r in active if isinstance(r, PatternRule)]
        path_rules = [r for r in active if isinstance(r, PathRule)]
        paths = PathMatcher(path_rules) if path_rules else None
        classifier = KeyClassifier(key_rules, allow_keys)
        builtin_only = all(r in BUILTIN_PATTERN_RULES for r in pattern_rules)
        scanner = Scanner(pattern_rules, key_rules, classifier, order)
        if key_rules:  # name/value pairs, markup and SQL in text are judged by the key rules too
            scanner.add_finder(TextPairs(classifier.classify, order).hits)
        self.text = TextScrubber(scanner, hash_key, builtin_only, templates=builtin_only and scanner.digit_blind())
        """The value-rule scanner and the clean-string cache (shared by every walk)."""
        self.state = ScrubState(
            text=self.text,
            classify=classifier.classify,
            allow=KeyClassifier.ALLOW,
            funcs=[r for r in active if isinstance(r, FunctionRule)],
            paths_start=paths.start if paths is not None else None,
            # Identifier-like strings under 16 characters cannot hold anything the built-in value
            # rules look for; with custom pattern rules every string is scanned.
            skip_short=builtin_only,
            hash_key=hash_key,
            # bare key/sig/code fields: filtered when the value is a token, under the context-token rule
            weak=WeakKey(CONTEXT_TOKEN, _WEAK) if CONTEXT_TOKEN in pattern_rules else None,
        )
        """What each walk is handed: the engine's compiled parts, read-only by convention."""

    def scrub_text(self, text: str) -> str:
        """Scrub one free-text string with the value rules (no event, no ``_meta``)."""
        hits = self.text.scan(text)
        return self.text.rewrite(text, hits, {})[0] if hits else text

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
            Walk(self.state, event, counts).run()
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
