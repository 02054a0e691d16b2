"""Find secrets in text fast: prefilters over cheap views, then the real patterns in small windows.

Python's ``re`` scans fast only for a pattern that starts with a literal; a pattern that starts
with a character class or a lookbehind costs about 6 ns per character. So each rule (or group
of rules sharing a prefilter) first runs a literal-led *prefilter* over a view of the text
(the text itself, lower-cased, its character "shape" or its token runs), and only the windows
around prefilter hits are searched with the rule's own pattern. ``name = value`` assignments
are found on the reversed text, where the operator comes first and the field name follows it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Callable, Dict, Iterable, List, Tuple

from scrubbers.actions import is_placeholder
from scrubbers.assigned import (
    annotation_default,
    block_scalar,
    code_value,
    harmless_word,
    pair_value,
    value_extent,
)
from scrubbers.context import CONTEXT_PASSWORD, CONTEXT_TOKEN, DEFAULT_CONTEXT_RULES
from scrubbers.decode import PCT_RE, percent_decoded
from scrubbers.keys import KeyClassifier, reversed_anchor
from scrubbers.regexinfo import digit_blind, first_chars, min_width, prefix_regex
from scrubbers.rules import KeyRule, PatternRule, Rule

__all__ = ["Hit", "Scanner", "first_chars", "min_width"]

# (start, end, priority, rule): the span to replace and the rule that caught it.
Hit = Tuple[int, int, int, Rule]
Finder = Callable[[str, "str | None", "list[int] | None"], List[Hit]]

_GROUP_NAME_RE = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_GROUP_REF_RE = re.compile(r"\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)")
_LEAD_FLAGS_RE = re.compile(r"^\(\?([aiLmsux]+)\)")
_SECRET_GROUPS = ("secret", *(f"secret{i}" for i in range(2, 10)))
_FLAG_LETTERS = ((re.I, "i"), (re.M, "m"), (re.S, "s"), (re.X, "x"), (re.A, "a"))
_FLAG_BY_LETTER = {"a": re.A, "i": re.I, "L": re.L, "m": re.M, "s": re.S, "u": re.U, "x": re.X}
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_NOT_SECRET_VALUES = frozenset(("none", "null", "nil", "true", "false", "undefined", "redacted", "filtered"))
# SQL / format placeholders are not values: "password_hash = %s", "token = ?", "pw = :pw"
_PAIR_CATEGORIES = frozenset(("auth", "credential", "password"))
_BIND_PARAM_RE = re.compile(r"%(?:\([A-Za-z_]\w*\))?[sdr]|\?|\$\d+|:[A-Za-z_]\w*|\{[A-Za-z_]?\w*\}")
# rules with no shape of their own: a value the assignment parser reads as code is not theirs either
_DEFERRING = frozenset((CONTEXT_PASSWORD.id, CONTEXT_TOKEN.id))


def _table(mapping: Dict[str, str]) -> bytes:
    table = bytearray(range(256))
    for chars, to in mapping.items():
        for ch in chars:
            table[ord(ch)] = ord(to)
    return bytes(table)


_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_SHAPE = _table({_DIGITS: "0", _UPPER: "A", _LOWER: "a", " -": "-"})
_TOKEN = _table({_DIGITS + _UPPER + _LOWER + "_.-": "a"})


def _translate(text: str, table: bytes) -> str:
    # latin-1 with "replace" keeps one byte per character, so offsets line up with ``text``.
    return text.encode("latin-1", "replace").translate(table).decode("latin-1")


def _scoped(rule: PatternRule) -> str:
    pattern, flags = rule.pattern, rule.flags
    lead = _LEAD_FLAGS_RE.match(pattern)
    if lead:
        pattern = pattern[lead.end() :]
        for ch in lead.group(1):
            flags |= _FLAG_BY_LETTER[ch]
    letters = "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)
    return f"(?{letters}:{pattern})" if letters else f"(?:{pattern})"


class _Alt:
    __slots__ = ("group", "index", "prio", "rule", "secret_groups")

    def __init__(self, group: str, index: int, rule: PatternRule, prio: int, secret_groups: tuple[str, ...]) -> None:
        self.group = group
        self.index = index
        self.rule = rule
        self.prio = prio
        self.secret_groups = secret_groups


class _Combined:
    """Several pattern rules as one alternation; a rejected match retries the later alternatives."""

    def __init__(self, rules: list[tuple[PatternRule, int]], tag: str) -> None:
        self.alts: dict[str, _Alt] = {}
        self.pieces: list[str] = []
        for i, (rule, prio) in enumerate(rules):
            group = f"{tag}{i}"
            body = _scoped(rule)
            names = _GROUP_NAME_RE.findall(body)
            body = _GROUP_NAME_RE.sub(lambda m, g=group: f"(?P<{g}_{m.group(1)}>", body)  # type: ignore[misc]
            body = _GROUP_REF_RE.sub(lambda m, g=group: f"(?P={g}_{m.group(1)})", body)  # type: ignore[misc]
            secret_groups = tuple(f"{group}_{n}" for n in _SECRET_GROUPS if n in names)
            self.alts[group] = _Alt(group, i, rule, prio, secret_groups)
            self.pieces.append(f"(?P<{group}>{body})")
        self.rx = re.compile("|".join(self.pieces))
        self._tails: dict[int, re.Pattern[str] | None] = {}

    def _tail(self, index: int) -> re.Pattern[str] | None:
        try:
            return self._tails[index]
        except KeyError:
            rest = self.pieces[index + 1 :]
            rx = re.compile("|".join(rest)) if rest else None
            self._tails[index] = rx
            return rx

    def _resolve(self, m: re.Match[str], text: str, end: int) -> Hit | None:
        for _ in range(len(self.pieces)):
            group = m.lastgroup
            alt = self.alts.get(group) if group is not None else None
            if alt is None or group is None:
                return None
            ok = True
            validator = alt.rule.validator
            if validator is not None:
                try:
                    ok = bool(validator(m.group(group)))
                except Exception:
                    ok = True  # a broken validator must not let a candidate secret through
            if ok:
                s, e = m.start(group), m.end(group)
                for g in alt.secret_groups:
                    if m.start(g) >= 0:
                        s, e = m.start(g), m.end(g)
                        break
                if is_placeholder(text[s:e]):
                    return None  # our own replacement: scrubbing twice changes nothing
                return (s, e, alt.prio, alt.rule)
            tail = self._tail(alt.index)
            if tail is None:
                return None
            m2 = tail.match(text, m.start(), end)
            if m2 is None:
                return None
            m = m2
        return None

    def hits(self, text: str, pos: int, end: int, out: list[Hit]) -> None:
        search = self.rx.search
        n = len(text)
        while pos < end:
            m = search(text, pos, end)
            if m is None:
                return
            if m.end() == end and end < n:  # the window cut the match short: look again unbounded
                m2 = self.rx.match(text, m.start())
                if m2 is None:
                    pos = m.start() + 1
                    continue
                m = m2
            hit = self._resolve(m, text, n)
            if hit is None:
                pos = m.start() + 1
                continue
            out.append(hit)
            pos = max(hit[1], m.start() + 1)


_PLAIN_WORD_RE = re.compile(r"[A-Za-z0-9_=@ /:~-]+")
_REGEX_META = frozenset(".^$*+?{}[]\\|()#")
_SPAN = re.Match.span
_DIGIT_RE = re.compile(r"\d")
# a token run that is a lowercase UUID: the same outcome whatever its characters (text.uuid_blind)
_UUID_RUN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# rules that judge a value by the words around it: a field name's own reading of its value wins
_CONTEXT_IDS = frozenset(r.id for r in DEFAULT_CONTEXT_RULES)


class _Group:
    """Rules sharing one prefilter over one view."""

    def __init__(self, view: str, prefilter: str, rules: list[tuple[PatternRule, int]], tag: str) -> None:
        self.view = view
        self.prefilter = re.compile(prefilter)
        # A prefilter that is a plain list of words ("key|token|secret") runs as one str.find per
        # word: re scans an alternation without a literal prefix character by character.
        words = prefilter.split("|")
        self.words = words if all(w and _PLAIN_WORD_RE.fullmatch(w) for w in words) and len(words) > 1 else None
        if self.words is None and prefilter and not any(c in _REGEX_META for c in prefilter):
            # one literal: str.find beats re's literal search for one character (memchr) and for
            # long literals (it skips ahead); it also finds overlapping occurrences (more candidates)
            if len(prefilter) == 1 or len(prefilter) >= 6:
                self.words = [prefilter]
        self.prefilter_ci = re.compile(prefilter, re.I) if view == "lower" else None
        self.before = max(r.window[0] for r, _ in rules)
        self.after = max(r.window[1] for r, _ in rules)
        self.anchored = all(r.window == (0, 0) and r.back is None for r, _ in rules)
        self.starts_at_hit = all(r.anchored for r, _ in rules)
        # str.find is slow for short words (little to skip): those run as one literal-led regex per
        # first character ("pass|pwd"). That finds every start when no word has its first
        # character again (no occurrence can begin inside another); only the starts_at_hit
        # branch of run() uses it, where a span's start is all that matters.
        self.word_rxs: list[re.Pattern[str]] = []
        if self.words is not None and self.starts_at_hit and not self.anchored:
            short: dict[str, list[str]] = {}
            for w in self.words:
                if len(w) <= 4 and w[0] not in w[1:]:
                    short.setdefault(w[0], []).append(w)
            self.word_rxs = [re.compile("|".join(map(re.escape, ws))) for ws in short.values()]
            taken = {w for ws in short.values() for w in ws}
            self.words = [w for w in self.words if w not in taken]
        self.backs = [(re.compile(r.back), r, prio) for r, prio in rules if r.back is not None]
        rest = [(r, prio) for r, prio in rules if r.back is None]
        self.combined = _Combined(rest, tag) if rest else None
        # Anchored groups try their rules exactly where a prefilter hit starts, so only the rules
        # that can start with that character need trying: one smaller alternation per character.
        self._rest = rest
        self._tag = tag
        self._firsts = [first_chars(r) for r, _ in rest]
        self._widths = [min_width(r) for r, _ in rest]
        # per first character: the rules that can start with it, and the shortest match any of them has
        self._by_char: dict[str, tuple[_Combined | None, int]] = {}
        self._by_subset: dict[tuple[int, ...], _Combined | None] = {}

    def _for_char(self, ch: str) -> tuple[_Combined | None, int]:
        subset = tuple(i for i, first in enumerate(self._firsts) if first is None or ch in first)
        try:
            combined = self._by_subset[subset]
        except KeyError:
            rules = [self._rest[i] for i in subset]
            combined = _Combined(rules, self._tag) if rules else None
            self._by_subset[subset] = combined
        if len(self._by_char) > 1024:
            self._by_char.clear()
        entry = (combined, min((self._widths[i] for i in subset), default=0))
        self._by_char[ch] = entry
        return entry

    def _spans(self, view: str, pf: re.Pattern[str]) -> Iterable[tuple[int, int]]:
        words = self.words
        if words is None or pf is not self.prefilter:
            return map(_SPAN, pf.finditer(view))
        found: list[tuple[int, int]] = []
        for rx in self.word_rxs:
            found.extend(map(_SPAN, rx.finditer(view)))
        for w in words:
            size = len(w)
            i = view.find(w)
            while i >= 0:
                found.append((i, i + size))
                i = view.find(w, i + 1)
        found.sort()
        return found

    def run(self, text: str, view: str, pf: re.Pattern[str], out: list[Hit], act: list[int] | None = None) -> None:
        """Add this group's hits in ``text`` to ``out``; ``act`` collects where the group looked at the
        text in a way its digits could change (see ``Scanner.scan``)."""
        n = len(text)
        combined = self.combined
        if self.anchored and combined is not None:
            by_char = self._by_char
            for s, e in self._spans(view, pf):
                if (
                    act is not None
                    and _DIGIT_RE.search(text, s, e) is not None
                    and not (e - s == 36 and _UUID_RUN.fullmatch(text, s, e))
                ):
                    act.append(s)  # matched inside the run only: a run without digits is digit-blind
                ch = text[s]
                sub, width = by_char[ch] if ch in by_char else self._for_char(ch)
                # the match is tried inside [s, e) only: a span shorter than every rule's shortest
                # match cannot hold one (a float, a host name, a 32-digit hex id)
                if sub is not None and e - s >= width:
                    cm = sub.rx.match(text, s, e)
                    if cm is not None:
                        hit = sub._resolve(cm, text, e)
                        if hit is not None:
                            out.append(hit)
            return
        if self.starts_at_hit and combined is not None:
            match = combined.rx.match
            for s, _ in self._spans(view, pf):
                if act is not None:
                    act.append(s)
                cm = match(text, s)
                if cm is not None:
                    hit = combined._resolve(cm, text, n)
                    if hit is not None:
                        out.append(hit)
            return
        start = end = -1
        before, after = self.before, self.after
        backs = self.backs
        for ms, me in self._spans(view, pf):
            if act is not None:
                act.append(ms)
            if backs:
                p = ms
                seg = text[max(0, p - 300) : p][::-1]  # shared by every rule looking back
            for back, rule, prio in backs:
                bm = back.match(seg)
                if bm is not None:
                    _match_one(rule, prio, text, p - bm.end(), out)
            if combined is None:
                continue
            s = max(0, ms - before)
            e = min(n, me + after)
            if s <= end:
                end = max(end, e)
                continue
            if end > start:
                combined.hits(text, start, end, out)
            start, end = s, e
        if combined is not None and end > start:
            combined.hits(text, start, end, out)


def _match_one(rule: PatternRule, prio: int, text: str, pos: int, out: list[Hit]) -> None:
    m = rule.compiled.match(text, pos)
    if m is None:
        return
    try:
        if rule.validator is not None and not rule.validator(m.group()):
            return
    except Exception:  # a broken validator must not let a candidate secret through
        pass
    s, e = m.start(), m.end()
    for g in _SECRET_GROUPS:
        if g in rule.compiled.groupindex and m.start(g) >= 0:
            s, e = m.start(g), m.end(g)
            break
    if not is_placeholder(text[s:e]):
        out.append((s, e, prio, rule))


_VALUE_RE = re.compile(
    r">?[ \t]{0,3}(?:(?:[bBrRuUfF]{1,2}(?=[\"']))?(?P<o>\\{0,3}[\"'])(?P<q>(?:[^\n\x00\\]|\\[^\n\x00]){0,400}?)(?P=o)"
    r"|(?P<u>(?:(?i:bearer|basic|token|digest|negotiate|ntlm|apikey|sso-key)[ \t]+)?"
    r"(?:[^\s\"'&,;)}\]<>\\\x00]|&(?![\w.%-]*=)){1,400}))"
)


class _Assignments:
    """``name = value`` / ``name: value`` / ``"name": "value"`` in free text."""

    def __init__(
        self,
        key_rules: list[KeyRule],
        named: list[tuple[PatternRule, int]],
        classifier: KeyClassifier,
        key_prio: dict[str, int],
    ) -> None:
        anchors: set[str] = set()
        for rule in key_rules:
            for name in (*rule.names, *rule.exact):
                a = reversed_anchor(name)
                if a:
                    anchors.add(a)
        for prule, _ in named:
            for word in (prule.prefilter or "").split("|"):
                if word.strip():
                    anchors.add(word.strip().lower()[::-1])
        tail = r"[ \t]{0,3}(?:[\"']\\{0,3})?(?P<k>(?:\d+[-_.]?)?" + prefix_regex(anchors) + ")"
        self.eq = re.compile("=" + tail)
        self.colon = re.compile(":" + tail)
        self.named = named
        self.classify = classifier.classify
        self.key_prio = key_prio
        self.enabled = bool(anchors)

    def hits(self, text: str, lower: str | None, out: list[Hit], act: list[int] | None = None) -> None:
        """Add the values of sensitive ``name = value`` assignments in ``text`` to ``out``."""
        n = len(text)
        if not self.enabled or ("=" not in text and ":" not in text):
            return
        rev = (lower if lower is not None else text.lower())[::-1]
        if len(rev) != n:
            rev = text[::-1].lower()
            if len(rev) != n:  # exotic case mapping changed the length: fall back to no lowering
                rev = text[::-1]
        code: set[int] = set()
        for rx in (self.eq, self.colon):
            for m in rx.finditer(rev):
                if act is not None:
                    act.append(n - 1 - m.start())
                self._one(text, n, n - 1 - m.start(), n - m.start("k"), n - m.end(), out, code)
        if code:
            out[:] = [h for h in out if h[0] not in code or h[3].id not in _DEFERRING]

    def _one(self, text: str, n: int, op: int, key_end: int, word_start: int, out: list[Hit], code: set[int]) -> None:
        j = word_start
        while j > 0 and word_start - j < 64 and text[j - 1] in _KEY_CHARS:
            j -= 1
        for prule, prio in self.named:
            nm = prule.compiled.search(text, j, min(n, op + 450))
            if nm is None or nm.start() > word_start:
                continue
            ok = True
            if prule.validator is not None:
                try:
                    ok = bool(prule.validator(nm.group()))
                except Exception:
                    ok = True
            if ok:
                s, e = nm.start(), nm.end()
                if "secret" in prule.compiled.groupindex and nm.start("secret") >= 0:
                    s, e = nm.start("secret"), nm.end("secret")
                if not is_placeholder(text[s:e]):
                    out.append((s, e, prio, prule))
                    return
        cls = self.classify(text[j:key_end])
        if isinstance(cls, KeyRule) and cls.in_text:
            self._value(text, op, text[j:key_end], cls, out, code)

    def _value(self, text: str, op: int, key: str, cls: KeyRule, out: list[Hit], code: set[int]) -> None:
        block = block_scalar(text, op) if text[op] == ":" else None
        if block is not None:  # "password: >-" and the value on the next, indented line
            if not is_placeholder(text[block[0] : block[1]]):
                out.append((block[0], block[1], -1 - self.key_prio.get(cls.id, 0), cls))
            return
        vm = _VALUE_RE.match(text, op + 1)
        if vm is None:
            return
        s = vm.start("q")
        if s >= 0:
            e = vm.end("q")
        else:
            s, e = vm.start("u"), vm.end("u")
            if text[s] == "(" or text[s] == "[":
                pair = pair_value(text, s) if cls.category in _PAIR_CATEGORIES else None
                if pair is not None:  # auth=('api', 'x'): the password half
                    out.append((pair[0], pair[1], -1 - self.key_prio.get(cls.id, 0), cls))
                return
            extent = value_extent(text, s, e, text.rfind(key, max(0, op - len(key) - 8), op), text[op])
            if extent is None:
                return
            s, e = extent
        value = text[s:e]
        words = value.rsplit(None, 1)
        if not words:  # empty or blank ('APIKEY:" "'): nothing to hide
            return
        last = words[-1]  # "Bearer %s": the part after the scheme
        if (
            is_placeholder(value)
            or value.lower() in _NOT_SECRET_VALUES
            or value[0] in "[{("
            or last[:1] in "[{("  # "Bearer [Filtered]": already scrubbed
            or _BIND_PARAM_RE.match(text, e - len(last)) is not None  # a template placeholder, not a value
        ):
            return
        end = code_value(text, s, key, text[op], vm.start("q") >= 0)
        if end >= 0 or harmless_word(value, key, cls.category, text[op]):
            code.add(s)
            eq = annotation_default(text, end) if end >= 0 and text[op] == ":" else -1
            if eq >= 0:  # "password: str = 'x'": the default is the value
                self._value(text, eq, key, cls, out, code)
            return
        out.append((s, e, -1 - self.key_prio.get(cls.id, 0), cls))


class Scanner:
    """All value rules of an engine, compiled for fast scanning."""

    def __init__(
        self,
        pattern_rules: list[PatternRule],
        key_rules: list[KeyRule],
        classifier: KeyClassifier,
        order: dict[str, int],
    ) -> None:
        groups: dict[tuple[str, str, bool], list[tuple[PatternRule, int]]] = {}
        plain: list[tuple[PatternRule, int]] = []
        named: list[tuple[PatternRule, int]] = []
        for rule in pattern_rules:
            prio = order[rule.id]
            if rule.prefilter is None:
                plain.append((rule, prio))
            elif rule.prefilter_view == "assignment":
                named.append((rule, prio))
            else:
                groups.setdefault((rule.prefilter_view, rule.prefilter, rule.anchored), []).append((rule, prio))
        self.groups = [_Group(view, pf, rules, f"g{i}_") for i, ((view, pf, _), rules) in enumerate(groups.items())]
        self.plain = _Combined(plain, "p") if plain else None
        text_keys = [r for r in key_rules if r.in_text]
        self.assignments = _Assignments(text_keys, named, classifier, order)
        self.needs_lower = any(g.view == "lower" for g in self.groups)
        self.needs_shape = any(g.view == "shape" for g in self.groups)
        self.needs_token = any(g.view == "token" for g in self.groups)
        self.empty = not self.groups and self.plain is None and not self.assignments.enabled
        self.finders: list[Finder] = []

    def digit_blind(self) -> bool:
        """Whether every prefilter finds the same candidates whatever digits a text holds."""
        pats = [g.prefilter.pattern for g in self.groups if g.view not in ("shape", "token")]  # others are blind
        pats += [self.assignments.eq.pattern, self.assignments.colon.pattern]
        return self.plain is None and all(map(digit_blind, pats))

    def add_finder(self, finder: Finder) -> None:
        """Run ``finder(text, lowered, activity)`` on every scanned text too (its hits join the overlap resolution)."""
        self.finders.append(finder)
        self.empty = False

    def scan(self, text: str, act: list[int] | None = None) -> List[Hit]:
        """Every hit in ``text``, sorted, overlaps resolved (earliest, then rule order, then longest).

        Percent-encoded text (``email=ana%40example.org``, ``next=%2Fcart``) is also scanned
        decoded; a hit found there is reported on the encoded span it came from. When ``act`` is
        a list, the scan adds the offsets where a prefilter found a candidate whose outcome could
        change with the text's digits (spans of non-token groups, token runs holding a digit,
        assignment operators, finder literals, percent escapes): text with none of them scans
        clean whatever its digits are, when the prefilters are digit-blind (:meth:`digit_blind`).
        """
        if self.empty or not text:
            return []
        out = self._scan(text, act)
        if "%" in text and PCT_RE.search(text) is not None:
            if act is not None:  # decoded text is scanned without recording: the escapes mark it
                act.extend(m.start() for m in PCT_RE.finditer(text))
            # once, and again for text encoded twice (a redirect target inside a URL: %253D)
            layers: list[list[int]] = []
            plain: str | None = text
            while plain is not None and len(layers) < 2 and "%" in plain:
                decoded = percent_decoded(plain)
                if decoded is None:
                    break
                plain, escapes = decoded
                layers.append(escapes)
                for a, b, prio, rule in self._scan(plain):
                    for esc in reversed(layers):
                        a, b = a + 2 * bisect_left(esc, a), b + 2 * bisect_left(esc, b)
                    out.append((a, b, prio, rule))
        if len(out) > 1:
            return self.resolve(out)
        return out

    def _scan(self, text: str, act: list[int] | None = None) -> List[Hit]:
        n = len(text)
        out: list[Hit] = []
        lower: str | None = None
        if self.needs_lower:
            lower = text.lower()
            if len(lower) != n:
                lower = None
        views: dict[str, str | None] = {"text": text, "lower": lower}
        if self.needs_shape:
            views["shape"] = _translate(text, _SHAPE)
        if self.needs_token:
            views["token"] = _translate(text, _TOKEN)
        for g in self.groups:
            view = views.get(g.view)
            pf = g.prefilter
            if view is None:  # lower-casing changed the length: search the text case-insensitively
                view = text
                pf = g.prefilter_ci or pf
            g.run(text, view, pf, out, act)
        if self.plain is not None:
            self.plain.hits(text, 0, n, out)
        self.assignments.hits(text, lower, out, act)
        for finder in self.finders:
            out.extend(finder(text, lower, act))
        return out

    def resolve(self, hits: list[Hit]) -> list[Hit]:
        """Sort ``hits`` and drop overlaps: the earliest start, then the earlier rule, then the longest."""
        # Same start: the earlier rule wins (the password of postgres://app:PW@db.internal beats
        # the e-mail look-alike PW@db.internal, which would take the host with it).
        hits.sort(key=lambda h: (h[0], h[2], h[0] - h[1]))
        kept: list[Hit] = []
        last_end = -1
        for h in hits:
            if h[0] >= last_end:
                kept.append(h)
                last_end = h[1]
                continue
            prev = kept[-1]
            # a field-name hit whose value holds a known credential is reported as that credential,
            # over the whole of both: "iban=DE89 3704 ..." has a value that ends at its first space
            if (
                isinstance(prev[3], KeyRule)
                and isinstance(h[3], PatternRule)
                and (h[1] <= prev[1] or (h[0] == prev[0] and h[3].id not in _CONTEXT_IDS))
            ):
                kept[-1] = (prev[0], max(prev[1], h[1]), h[2], h[3])
                last_end = kept[-1][1]
        return kept
