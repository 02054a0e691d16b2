"""Scrubbing of strings: one joined scan for many strings, rewriting, and the clean-string cache.

The engine owns one :class:`TextScrubber`; the walk receives it inside a :class:`ScrubState`
and never touches the engine itself, so the walk depends on this module and not the other way
round.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from bisect import bisect_right
from functools import partial
from itertools import accumulate, compress
from operator import not_, or_
from typing import Any, Callable

from scrubbers.actions import REMARK_CODE, is_placeholder, replacement
from scrubbers.paths import PathState
from scrubbers.rules import FunctionRule, Rule
from scrubbers.scan import Hit, Scanner

__all__ = ["TIMESTAMP_DIGITS", "TIMESTAMP_SHAPES", "ScrubState", "TextScrubber", "is_skippable", "worth_tracking"]

_SEP = "\x00"
CACHE_MAX_ENTRIES = 8192
CACHE_MAX_LEN = 2048
DIRTY_MAX_ENTRIES = 2048
_PLUS_ONE = (1).__add__
_KNOWN_PRIO = -1_000_000  # a copy of a known secret beats any pattern at the same place
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


# ISO-8601 timestamps, ``YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]][Z|±HH[:]MM]``, as their digit
# shapes: a set lookup on the string with every ASCII digit turned into "0" is three times
# cheaper than a regex fullmatch (and breadcrumbs bring fresh ones with every event).
TIMESTAMP_DIGITS = bytes.maketrans(b"123456789", b"000000000")
TIMESTAMP_SHAPES = frozenset(
    f"0000-00-00{sep}00:00{sec}{zone}".encode()
    for sep in "T "
    for sec in ("", ":00", *(f":00{dot}{'0' * n}" for dot in ".," for n in range(1, 10)))
    for zone in ("", "Z", "+00:00", "+0000", "-00:00", "-0000")
)


_NOT_SECRET = frozenset(("none", "null", "true", "false", "undefined", "redacted", "filtered", "********"))


def worth_tracking(value: str) -> bool:
    """Values that read as secrets, not words: ``credentials: "included"`` must not filter every
    "included" in the event, while ``hunter2`` and a 40-character key are worth finding again."""
    n = len(value)
    if n < 6 or n > 4096 or value.lower() in _NOT_SECRET or is_placeholder(value):
        return False
    if n >= 16:
        return True
    return not value.isalpha()  # digits, symbols or spaces mixed in


def _starts(parts: list[str]) -> list[int]:
    """Where each part begins in ``_SEP.join(parts)`` (plus one past the end), without a Python loop."""
    return list(accumulate(map(_PLUS_ONE, map(len, parts)), initial=0))


# a lowercase UUID that is a whole token run (str(uuid4()), request and trace ids)
_UUID_TAIL = re.compile(rb"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # "-"-led: a fast search
_HEX8 = re.compile(rb"[0-9a-f]{8}")
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_UUID_MARK = b"\xff" * 36  # never in ASCII text, so a template holding it is one of these


def uuid_blind(scanner: Scanner) -> bool:
    """Whether a standalone lowercase UUID can never be (part of) a hit, so that its characters do
    not matter to a template: checked on UUIDs of every hex digit repeated and on spread ones."""
    samples = [str(uuid.UUID(c * 32)) for c in "0123456789abcdef"]
    samples += [str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128))) for i in range(1, 65)]
    return not any(scanner.scan(f"id {u} x") for u in samples)


def _mask_uuids(raw: bytes) -> bytes:
    """``raw`` with each standalone lowercase UUID replaced by one mark of the same length."""
    pieces: list[bytes] = []
    last = 0
    n = len(raw)
    for m in _UUID_TAIL.finditer(raw):
        s, e = m.start() - 8, m.end()
        if (
            s >= last
            and _HEX8.fullmatch(raw, s, s + 8) is not None
            and (s == 0 or raw[s - 1] not in _TOKEN_BYTES)
            and (e == n or raw[e] not in _TOKEN_BYTES)
        ):
            pieces.append(raw[last:s])
            pieces.append(_UUID_MARK)
            last = e
    if not pieces:
        return raw
    pieces.append(raw[last:])
    return b"".join(pieces)


def is_skippable(t: str) -> bool:
    """Holds nothing the built-in value rules find: an identifier under 16 characters, a number
    under 12 digits (a card number has 12 or more) or an ISO-8601 timestamp.

    The walk inlines this test in its hot loops; keep the copies in step.
    """
    if len(t) < 16:
        return t.isidentifier() or (len(t) < 12 and t.isdecimal())
    if len(t) > 35 or t[4] != "-":
        return False
    return t.encode("latin-1", "replace").translate(TIMESTAMP_DIGITS) in TIMESTAMP_SHAPES


class TextScrubber:
    """Scans and rewrites strings with an engine's value rules; remembers strings found clean.

    The clean cache has two generations: when the young one is full it becomes the old one,
    and the walk promotes strings it finds there, so strings that recur (source lines, module
    names) survive while one-off strings age out. Strings with a finding are never remembered
    as clean; their hits are kept under a keyed digest (``dirty``), never the text itself.
    """

    def __init__(
        self, scanner: Scanner, hash_key: bytes | None, builtin_only: bool = False, templates: bool = False
    ) -> None:
        self.scanner = scanner
        # Clean strings by their digit template ("LIMIT 00", "/orders/000000"): a string that differs
        # from one of them only in its digits is clean too, when the scan proves it (see scan_many).
        self.templates: dict[bytes, None] | None = {} if templates else None
        self.templates_old: dict[bytes, None] = {}
        # request ids and trace ids (lowercase UUIDs standing alone) count as one shape in a template
        # when the scanner proves they cannot change a scan's outcome (uuid_blind below)
        self.uuid_blind = templates and uuid_blind(scanner)
        self.hash_key = hash_key
        # only the built-in value rules are known to find nothing inside a timestamp
        self.builtin_only = builtin_only
        self.clean: dict[str, None] = {}
        self.clean_old: dict[str, None] = {}
        # Strings with a finding recur too (a source line holding a key, the same error's locals):
        # their pattern hits are kept under the string's hash and checked against a keyed digest,
        # so the cache never holds the secret itself.
        self.dirty: dict[int, tuple[bytes, list[Hit]]] = {}
        # hashes of strings with a finding seen once: the digest is paid only when one recurs
        self.dirty_once: dict[int, None] = {}
        self._salt = os.urandom(16)
        # Scrubbed results already re-scanned clean (they hold no secret: they are what is sent).
        self.rescanned: dict[str, None] = {}

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16, key=self._salt).digest()

    def _cached_hits(self, text: str) -> list[Hit] | None:
        entry = self.dirty.get(hash(text))
        if entry is None or entry[0] != self._digest(text):
            return None
        return list(entry[1])

    def _remember_dirty(self, text: str, hits: list[Hit]) -> None:
        if len(text) > CACHE_MAX_LEN:
            return
        h = hash(text)
        once = self.dirty_once
        if h not in once:
            if len(once) >= DIRTY_MAX_ENTRIES:
                once.clear()
            once[h] = None
            return
        if len(self.dirty) >= DIRTY_MAX_ENTRIES:
            self.dirty.clear()
        self.dirty[h] = (self._digest(text), list(hits))

    def scan(self, text: str) -> list[Hit]:
        """Every hit in one string."""
        return self.scanner.scan(text)

    def resolve(self, hits: list[Hit]) -> list[Hit]:
        """Sort hits and drop overlaps (earliest first, then rule order, then longest)."""
        return self.scanner.resolve(hits) if len(hits) > 1 else hits

    def scan_many(self, texts: list[str], known: dict[str, Rule] | None = None) -> dict[int, list[Hit]]:
        """Scan many strings as one joined text; returns hits per string index (local offsets).

        A string that occurs several times in the event (a request repr in every frame's
        locals) is scanned once; each occurrence gets its own copy of the hits. ``known`` maps
        values already filtered elsewhere in the event to their rule: every further copy of one
        is a hit too (and a string holding one is never remembered as clean).
        """
        scanner = self.scanner
        if scanner.empty or not texts:
            return {}
        # the walk already skipped strings known to be clean and (built-in rules only) timestamps
        unique = dict.fromkeys(texts)
        parts = list(unique)
        found: dict[int, list[Hit]] = {}
        dirty = self.dirty
        if dirty and not dirty.keys().isdisjoint(map(hash, parts)):
            # strings that had a finding before: reuse their hits, scan only the rest
            fresh: list[str] = []
            reused: list[tuple[str, list[Hit]]] = []
            for t in parts:
                cached = self._cached_hits(t) if hash(t) in dirty else None
                if cached is None:
                    fresh.append(t)
                else:
                    reused.append((t, cached))
            if reused:
                parts = fresh + [t for t, _ in reused]
                for i, (_, cached) in enumerate(reused, len(fresh)):
                    found[i] = cached
        else:
            fresh = parts
        shapes: list[bytes] | None = None
        if self.templates is not None and fresh:
            fresh, same, shapes = self._by_template(fresh)
            if same:  # clean by their template: not scanned, still searched for known values
                parts = fresh + same + parts[len(fresh) + len(same) :]  # reused ones keep their index
        blob = _SEP.join(parts)
        nfresh = len(fresh)
        activity: list[int] | None = [] if shapes is not None else None
        hits = scanner.scan(_SEP.join(fresh) if len(fresh) < len(parts) else blob, activity)
        if hits:
            starts = _starts(parts)
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
                found[k] = self.scan(parts[k])
        for k in [k for k in found if k < nfresh]:
            if len(parts[k]) <= CACHE_MAX_LEN:
                self._remember_dirty(parts[k], found[k])
        if shapes is not None and activity is not None:
            self._remember_templates(fresh, shapes, found, activity)
        if known:
            self._find_known(blob, parts, known, found)
        self._remember_clean(unique, parts, found)
        if not found:
            return {}
        if len(parts) == len(texts) and nfresh == len(parts) and shapes is None:
            return {k: found[k] for k in sorted(found)}
        out: dict[int, list[Hit]] = {}
        for k, h in found.items():
            # every occurrence of a string with a finding (list.index runs in C; findings are rare)
            t = parts[k]
            i = texts.index(t)
            while True:
                out[i] = list(h)
                try:
                    i = texts.index(t, i + 1)
                except ValueError:
                    break
        return dict(sorted(out.items()))

    def _by_template(self, fresh: list[str]) -> tuple[list[str], list[str], list[bytes] | None]:
        """Split ``fresh`` into the strings to scan and those clean by their digit template.

        Returns ``(to scan, clean by template, the template of each string to scan)``, or no
        templates when there are none to use. One translate of the joined text makes them all
        (ASCII only: one byte per character); the lookups and the split run in C.
        """
        joined = _SEP.join(fresh)
        if not joined.isascii():
            return fresh, [], None
        raw = joined.encode("ascii")
        if self.uuid_blind and b"-" in raw:
            raw = _mask_uuids(raw)
        shaped = raw.translate(_DIGITS_TO_ZERO).split(b"\x00")
        if len(shaped) != len(fresh):  # a string holding the separator itself
            return fresh, [], None
        known, old = self.templates, self.templates_old
        assert known is not None
        hit = list(map(known.__contains__, shaped))
        if old:
            hit = list(map(or_, hit, map(old.__contains__, shaped)))
        if not any(hit):
            return fresh, [], shaped
        miss = list(map(not_, hit))
        return list(compress(fresh, miss)), list(compress(fresh, hit)), list(compress(shaped, miss))

    def _remember_templates(
        self, scanned: list[str], shapes: list[bytes], found: dict[int, list[Hit]], activity: list[int]
    ) -> None:
        """Remember the templates of scanned strings that came out clean and gave no prefilter a
        candidate whose outcome depends on digits: any string of the same template scans clean.
        (Strings without digits are their own template: the exact clean cache has them.)"""
        busy = set(map(partial(bisect_right, _starts(scanned)), activity))  # index + 1 of each busy string
        busy.update(k + 1 for k in found)
        new = [t for k, t in enumerate(shapes, 1) if k not in busy and b"0" in t and len(t) <= CACHE_MAX_LEN]
        if new:
            known = self.templates
            assert known is not None
            if len(known) + len(new) > CACHE_MAX_ENTRIES:
                self.templates_old = known
                self.templates = known = {}
            known.update(dict.fromkeys(new))

    def _find_known(self, blob: str, parts: list[str], known: dict[str, Rule], found: dict[int, list[Hit]]) -> None:
        starts: list[int] = []
        touched: set[int] = set()
        for secret, rule in known.items():
            pos = blob.find(secret)
            while pos >= 0:
                if not starts:
                    starts = _starts(parts)
                k = bisect_right(starts, pos) - 1
                local = pos - starts[k]
                if local + len(secret) <= len(parts[k]):
                    found.setdefault(k, []).append((local, local + len(secret), _KNOWN_PRIO, rule))
                    touched.add(k)
                pos = blob.find(secret, pos + len(secret))
        for k in touched:
            found[k] = self.resolve(found[k])

    def _remember_clean(self, unique: dict[str, None], parts: list[str], found: dict[int, list[Hit]]) -> None:
        clean = self.clean
        if len(clean) > CACHE_MAX_ENTRIES:
            self.clean_old = clean
            self.clean = clean = {}
        if max(map(len, parts), default=0) <= CACHE_MAX_LEN:
            # all short (the usual case): add them all, then take back the ones with a finding
            clean.update(unique)
            for k in found:
                clean.pop(parts[k], None)
            return
        for k, t in enumerate(parts):
            if len(t) <= CACHE_MAX_LEN and k not in found:
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
            new = replacement(rule.action, text[a:b], self.hash_key)
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
        if is_placeholder(new):  # the whole string was replaced: nothing is left to find
            return new, remarks
        rescanned = self.rescanned
        for _ in range(3):
            if new in rescanned:
                break
            more = self.scanner.scan(new)
            if not more:
                if len(new) <= CACHE_MAX_LEN:
                    if len(rescanned) >= DIRTY_MAX_ENTRIES:
                        rescanned.clear()
                    rescanned[new] = None
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


class WeakKey:
    """Field names that only *may* hold a credential (``key``, ``sig``, ``code``).

    Their value is filtered (under ``rule``) only when it also reads as a high-entropy token:
    a context word and a token shape together, never one of them alone.
    """

    __slots__ = ("names", "rule")

    def __init__(self, rule: Rule, names: frozenset[tuple[str, ...]]) -> None:
        self.rule = rule
        self.names = names


class ScrubState:
    """Everything one walk needs from a compiled engine, handed over explicitly.

    The walk reads these public fields and nothing else of the engine, so the engine can change
    its internals without touching the walk (and the walk can be tested with a state of its own).
    """

    __slots__ = (
        "allow",
        "classify",
        "clean_keys",
        "funcs",
        "hash_key",
        "kinfo",
        "paths_start",
        "skip_short",
        "text",
        "weak",
    )

    def __init__(
        self,
        *,
        text: TextScrubber,
        classify: Callable[[str], object],
        allow: object,
        funcs: list[FunctionRule],
        paths_start: PathState | None,
        skip_short: bool,
        hash_key: bytes | None,
        weak: WeakKey | None = None,
    ) -> None:
        self.text = text
        self.weak = weak
        self.classify = classify
        self.allow = allow
        self.funcs = funcs
        self.paths_start = paths_start
        self.skip_short = skip_short
        self.hash_key = hash_key
        # per-key verdicts reused across events: raw key -> (rule | ALLOW | None, hits in the key)
        self.kinfo: dict[Any, tuple[Any, Any]] = {}
        # the str keys whose verdict is "no rule, nothing inside": a dict whose keys are all here
        # is walked by its values alone
        self.clean_keys: set[str] = set()
