"""One walk over an event: key and path rules on the way down, strings collected for one scan.

Hot code: the loops bind attributes to locals and dispatch on ``type(value) is ...`` first.
"""

from __future__ import annotations

from typing import Any, Callable

from scrubbers.actions import FILTERED, REMARK_CODE, is_placeholder, replacement
from scrubbers.chain import Chain, path_of
from scrubbers.context import high_entropy
from scrubbers.keys import key_tokens
from scrubbers.logentry import log_entries, match_log_arguments
from scrubbers.meta import Remark, write_remarks
from scrubbers.paths import PathState
from scrubbers.rules import Action, KeyRule, PatternRule, Rule
from scrubbers.text import TIMESTAMP_DIGITS, TIMESTAMP_SHAPES, ScrubState, WeakKey, is_skippable, worth_tracking

__all__ = ["MAX_DEPTH", "Walk"]

MAX_DEPTH = 64
# enum members as module constants: ``Action.X`` goes through the enum metaclass on every access
_FILTER, _MASK, _HASH, _REMOVE = Action.FILTER, Action.MASK, Action.HASH, Action.REMOVE
_META = "_meta"
_NAME_KEYS = ("name", "key", "Name", "Key", "NAME", "KEY")

_NOT_SCANNED = (None, ())
CLEAN_KEY: Any = (None, ())  # cached verdict for the common case: no rule, nothing inside the key
VALUE_KEY: Any = tuple([None, ()])  # a clean "value"/"Value" key: judged by a sibling "name" (not CLEAN_KEY)
_VALUE_KEYS = frozenset(("value", "Value", "VALUE"))


def _finished(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("this walk has finished")


class Walk:
    """The state of one scrub: collected strings, pending remarks, counts."""

    dict_: Callable[[dict[Any, Any], Chain, int, PathState | None], None]
    list_: Callable[[list[Any], Chain, int, PathState | None], None]
    release: Callable[[], None]

    def __init__(self, state: ScrubState, event: dict[Any, Any], counts: dict[str, int]) -> None:
        self.state = state
        self.text = state.text
        self.classify = state.classify
        self.event = event
        self.counts = counts
        self.leaves: list[Any] = []  # flat (container, key, chain) triples: no tuple kept per string
        self.texts: list[str] = []
        self.remarks: list[Remark] = []  # written to _meta once the walk is done
        self.logs: list[Any] = []  # log entries whose arguments must end up as redacted as their message
        self.known: dict[str, Rule] = {}  # values filtered by a key rule in this event
        self.funcs = state.funcs
        self.kinfo = state.kinfo
        self.clean_keys = state.clean_keys
        self.allow = state.allow
        self.skip_short = state.skip_short
        self.clean = state.text.clean
        self.clean_old = state.text.clean_old
        self._build()

    def run(self) -> None:
        """Walk the whole event once: log entries first (template context), then every value; remarks go to _meta."""
        text_scrubber = self.text
        event = self.event
        meta = event.pop(_META, None)
        try:
            log_entries(self, event)
            self.dict_(event, None, 0, self.state.paths_start)
            if self.texts:
                # a value filtered under a sensitive name is a secret wherever else it shows up:
                # charge(token) puts it in the task frame's "token" local (filtered by name) and in
                # the caller frame's "args" repr (no name to go by)
                found = text_scrubber.scan_many(self.texts, self.known)
                for i, hits in found.items():
                    if hits:
                        container, key, chain = self.leaves[3 * i : 3 * i + 3]
                        text = self.texts[i]
                        new, rem = text_scrubber.rewrite(text, hits, self.counts)
                        container[key] = new
                        self.remarks.append((chain, key, rem, len(text)))
                if self.logs:
                    match_log_arguments(self)
        finally:
            if meta is not None:
                event[_META] = meta
            self.release()
        write_remarks(event, self.remarks)

    def pair_rule(self, d: dict[Any, Any], value: Any) -> Rule | None:
        """``{"name": "DB_PASSWORD", "value": ...}`` and its spellings: the rule the value takes from its name."""
        for nk in _NAME_KEYS:
            name = d.get(nk)
            if type(name) is str:
                break
        else:
            return None
        cls = self.classify(name)
        weak = self.state.weak
        if cls is None and weak is not None and type(value) is str and key_tokens(name)[-1:] in weak.names:
            cls = weak.rule if high_entropy(value) else None
        return cls if isinstance(cls, (KeyRule, PatternRule)) else None

    # ------------------------------------------------------------------ whole values
    def whole(self, rule: Rule, container: Any, key: Any, value: Any, chain: Chain) -> bool:
        """Apply ``rule`` to a whole value; True when the dict entry must be removed."""
        if value is None or (type(value) is str and is_placeholder(value)):
            return False
        action = rule.action
        self.counts[rule.id] = self.counts.get(rule.id, 0) + 1
        if type(value) is str and action is not _REMOVE and worth_tracking(value):
            self.known[value] = rule
        length = len(value) if isinstance(value, str) else None
        if action is _REMOVE:
            self.remarks.append((chain, key, [[rule.id, "x"]], length))
            if isinstance(container, dict):
                return True
            container[key] = None
            return False
        if action is _MASK and not isinstance(value, (dict, list, tuple)):
            container[key] = replacement(_MASK, value if isinstance(value, str) else str(value), None)
        elif action is _HASH and self.state.hash_key is not None:
            text = value if isinstance(value, str) else repr(value)
            container[key] = replacement(_HASH, text, self.state.hash_key)
        else:
            container[key] = FILTERED
            action = _FILTER
        self.remarks.append((chain, key, [[rule.id, REMARK_CODE[action]]], length))
        return False

    def custom(self, container: Any, key: Any, value: str, chain: Chain) -> bool:
        """Run function rules on one string; True if one of them replaced it."""
        path = path_of(chain, key, True)
        for frule in self.funcs:
            try:
                result = frule.func(path, value)
            except Exception:
                result = True  # fail closed
            if result is None or result is False:
                continue
            if isinstance(result, str):
                if result == value:
                    continue
                container[key] = result
                self.counts[frule.id] = self.counts.get(frule.id, 0) + 1
                self.remarks.append((chain, key, [[frule.id, "s"]], len(value)))
                return True
            self.whole(frule, container, key, value, chain)
            return True
        return False

    # ------------------------------------------------------------------ keys
    def key_info(self, key: Any) -> Any:
        """``(key rule | ALLOW | None, hits inside the key text)``; cached for clean string keys."""
        if type(key) is str:
            ks: str = key
        elif isinstance(key, str):
            ks = str(key)
        elif isinstance(key, (bytes, bytearray)):
            ks = bytes(key).decode("utf-8", "replace")
        else:
            return _NOT_SCANNED  # ints, floats, None, tuples: no name to judge
        cls = self.classify(ks)
        weak = self.state.weak
        if cls is None and weak is not None and key_tokens(ks)[-1:] in weak.names:
            cls = weak
        hits: Any = ()
        if cls is None and ks and not (self.skip_short and len(ks) < 16 and ks.isidentifier()):
            hits = tuple(self.text.scan(ks))
        info = (cls, hits)
        if cls is None and not hits and ks in _VALUE_KEYS:
            info = VALUE_KEY
        if type(key) is str and not hits:
            if len(self.kinfo) > 20_000:
                self.kinfo.clear()
                self.clean_keys.clear()
            if cls is None and info is not VALUE_KEY:
                self.kinfo[key] = CLEAN_KEY
                self.clean_keys.add(key)
            else:
                self.kinfo[key] = info
        return info

    def renamed(self, d: dict[Any, Any], k: Any, hits: Any, chain: Chain) -> str:
        """A key whose text held a secret, rewritten (and made unique in its dict)."""
        text = k if isinstance(k, str) else str(k)
        new, rem = self.text.rewrite(text, list(hits), self.counts)
        base = new
        n = 2
        while new != text and new in d:
            new = f"{base} ({n})"
            n += 1
        self.remarks.append((chain, new, rem, len(text)))
        return new

    # ------------------------------------------------------------------ containers
    def _build(self) -> None:
        """Bind the two hot container walkers as closures over this walk's state: per-container
        setup is a few cell loads, and the recursion calls plain functions. Rare cases (sensitive
        keys, path rules, renames, odd types) call back into the methods below.
        """
        kinfo_get = self.kinfo.get
        all_clean = self.clean_keys.issuperset
        clean = self.clean
        old = self.clean_old
        leaves_extend = self.leaves.extend
        texts_append = self.texts.append
        skip_short = self.skip_short
        # text.is_skippable, inlined and tried before the clean-cache lookup (it is cheaper)
        ts_digits = TIMESTAMP_DIGITS
        ts_shapes = TIMESTAMP_SHAPES
        funcs = self.funcs
        allow = self.allow
        whole = self.whole
        custom = self.custom
        other = self.other
        number = self.number
        # the default engine (built-in value rules, no function rules) outside any path rule:
        # loops that judge only the values, with the short-string checks inlined
        fast = skip_short and not funcs

        def dict_(d: dict[Any, Any], chain: Chain, depth: int, st: PathState | None) -> None:
            if depth > MAX_DEPTH:
                self.too_deep(d, chain)
                return
            if st is None and fast and all_clean(d):
                # every key is a known plain name (one C-level check for the whole dict)
                for k, v in d.items():
                    t = type(v)
                    if t is str:
                        if (
                            (v.isidentifier() or (len(v) < 12 and v.isdecimal()))
                            if len(v) < 16
                            else (
                                len(v) <= 35
                                and v[4] == "-"
                                and v.encode("latin-1", "replace").translate(ts_digits) in ts_shapes
                            )
                        ) or v in clean:
                            continue
                        if v in old:
                            clean[v] = None  # a recurring string: keep it young
                            continue
                        leaves_extend((d, k, chain))
                        texts_append(v)
                    elif t is dict:
                        dict_(v, (chain, k), depth + 1, None)
                    elif t is list:
                        list_(v, (chain, k), depth + 1, None)
                    elif t is int:
                        if v > 99_999_999_999:  # 12+ digits: perhaps a card number
                            number(d, k, v, chain)
                    elif not (t is float or t is bool or v is None):
                        other(d, k, v, chain, depth, None)
                return
            removals: list[Any] | None = None
            renames: list[tuple[Any, Any, Any, PathState | None]] | None = None
            for k, v in d.items():
                # Only str keys are cached, so any other key misses (or, for an object that
                # compares equal to a cached str, gets that str's verdict).
                info = kinfo_get(k)
                if info is None or type(k) is not str:
                    info = self.key_info(k)
                if info is VALUE_KEY:  # "value" next to a "name": a name/value pair (K8s env, HAR, AWS tags)
                    prule = self.pair_rule(d, v)
                    if prule is not None:
                        if whole(prule, d, k, v, chain):
                            if removals is None:
                                removals = []
                            removals.append(k)
                        continue
                    info = CLEAN_KEY
                if info is not CLEAN_KEY:
                    cls = info[0]
                    if cls is not None:
                        if cls is allow:
                            continue
                        if type(cls) is WeakKey:
                            cls = cls.rule if type(v) is str and high_entropy(v) else None
                    if cls is not None:
                        if whole(cls, d, k, v, chain):
                            if removals is None:
                                removals = []
                            removals.append(k)
                        continue
                sub = None
                if st is not None:
                    tr = st.trans.get(k)
                    if tr is None:
                        tr = st.compute(k)
                    sub, prule = tr
                    if prule is not None:
                        if whole(prule, d, k, v, chain):
                            if removals is None:
                                removals = []
                            removals.append(k)
                        continue
                if info is not CLEAN_KEY and info[1]:
                    if renames is None:
                        renames = []
                    renames.append((k, info[1], v, sub))
                    continue
                t = type(v)
                if t is str:
                    if funcs:
                        if v and not custom(d, k, v, chain):
                            leaves_extend((d, k, chain))
                            texts_append(v)
                    elif skip_short and (
                        (v.isidentifier() or (len(v) < 12 and v.isdecimal()))
                        if len(v) < 16
                        else (
                            len(v) <= 35
                            and v[4] == "-"
                            and v.encode("latin-1", "replace").translate(ts_digits) in ts_shapes
                        )
                    ):
                        pass
                    elif v in clean:
                        pass
                    elif v in old:
                        clean[v] = None
                    else:
                        leaves_extend((d, k, chain))
                        texts_append(v)
                elif t is dict:
                    dict_(v, (chain, k), depth + 1, sub)
                elif t is list:
                    list_(v, (chain, k), depth + 1, sub)
                elif t is int:
                    if v > 99_999_999_999:  # 12+ digits: perhaps a card number
                        number(d, k, v, chain)
                elif not (t is float or t is bool or v is None):
                    other(d, k, v, chain, depth, sub)
            if renames is not None:
                self.apply_renames(d, renames, chain, depth)
            if removals is not None:
                for k in removals:
                    d.pop(k, None)

        def list_(lst: list[Any], chain: Chain, depth: int, st: PathState | None) -> None:
            if depth > MAX_DEPTH:
                self.too_deep(lst, chain)
                return
            if st is not None or not fast:
                self.list_general(lst, chain, depth, st)
                return
            i = -1
            for v in lst:
                i += 1
                t = type(v)
                if t is str:
                    if (
                        (v.isidentifier() or (len(v) < 12 and v.isdecimal()))
                        if len(v) < 16
                        else (
                            len(v) <= 35
                            and v[4] == "-"
                            and v.encode("latin-1", "replace").translate(ts_digits) in ts_shapes
                        )
                    ) or v in clean:
                        continue
                    if v in old:
                        clean[v] = None
                        continue
                    leaves_extend((lst, i, chain))
                    texts_append(v)
                elif t is dict:
                    dict_(v, (chain, i), depth + 1, None)
                elif t is list or t is tuple:
                    if t is tuple:
                        v = lst[i] = list(v)
                    # [name, value] pairs (headers or query strings as lists) are judged by their name
                    if len(v) == 2 and type(v[0]) is str and self.pair(v, (chain, i), depth):
                        continue
                    list_(v, (chain, i), depth + 1, None)
                elif t is int:
                    if v > 99_999_999_999:  # 12+ digits: perhaps a card number
                        number(lst, i, v, chain)
                elif not (t is float or t is bool or v is None):
                    other(lst, i, v, chain, depth, None)

        def release() -> None:
            # The two walkers call each other through their closure cells and reach this walk
            # through ``self``: a reference cycle that would keep every walk (its leaves, chains
            # and strings) alive until the garbage collector runs. Emptying the cells breaks it.
            nonlocal dict_, list_
            dict_ = list_ = _finished
            del self.dict_, self.list_, self.release

        self.dict_ = dict_
        self.list_ = list_
        self.release = release

    def list_general(self, lst: list[Any], chain: Chain, depth: int, st: PathState | None) -> None:
        """A list under a path rule, or walked by an engine with function or custom value rules."""
        for i, v in enumerate(lst):
            sub = None
            if st is not None:
                tr = st.trans.get(i)
                if tr is None:
                    tr = st.compute(i)
                sub, prule = tr
                if prule is not None:
                    self.whole(prule, lst, i, v, chain)
                    continue
            t = type(v)
            if t is list or t is tuple:
                if t is tuple:
                    v = lst[i] = list(v)
                if len(v) == 2 and type(v[0]) is str and self.pair(v, (chain, i), depth):
                    continue
                self.list_(v, (chain, i), depth + 1, sub)
            elif t is str:
                self.string(lst, i, v, chain)
            else:
                self.value(lst, i, v, chain, depth, sub)

    def string(self, container: Any, key: Any, v: str, chain: Chain) -> None:
        """One string on the general path: function rules, then the clean cache, then collected for the scan."""
        if self.funcs:
            if v and not self.custom(container, key, v, chain):
                self.leaves.extend((container, key, chain))
                self.texts.append(v)
            return
        if (self.skip_short and is_skippable(v)) or v in self.clean:
            return
        if v in self.clean_old:
            self.clean[v] = None
            return
        self.leaves.extend((container, key, chain))
        self.texts.append(v)

    def apply_renames(
        self, d: dict[Any, Any], renames: list[tuple[Any, Any, Any, PathState | None]], chain: Chain, depth: int
    ) -> None:
        """Rename keys whose text held a secret (keeping the order), then judge the new names."""
        mapping = {}
        for k, hits, _, _ in renames:
            mapping[k] = self.renamed(d, k, hits, chain)
        items = [(mapping.get(k, k), v) for k, v in d.items()]
        d.clear()
        d.update(items)
        for k, _, v, sub in renames:
            new = mapping[k]
            cls = self.classify(new)  # the scrubbed name can read as sensitive itself
            if cls is self.allow:
                continue
            if isinstance(cls, KeyRule):
                if self.whole(cls, d, new, v, chain):
                    d.pop(new, None)
                continue
            self.value(d, new, v, chain, depth, sub)

    def pair(self, v: list[Any], chain: Chain, depth: int) -> bool:
        """A ``[name, value]`` pair: judge the value by the name. True when fully handled."""
        info = self.kinfo.get(v[0])
        if info is None:
            info = self.key_info(v[0])
        elif info is CLEAN_KEY:
            return False
        cls, hits = info
        if hits:  # the name itself held something: scrub it now, then judge the scrubbed name
            new, rem = self.text.rewrite(v[0], list(hits), self.counts)
            self.remarks.append((chain, 0, rem, len(v[0])))
            v[0] = new
            cls = self.classify(new)
        if cls is self.allow:
            return True
        if type(cls) is WeakKey:
            cls = cls.rule if type(v[1]) is str and high_entropy(v[1]) else None
        if cls is not None:
            self.whole(cls, v, 1, v[1], chain)
            return True
        if hits:
            # walk the pair as the list it is (as the next scrub will see it, with the scrubbed
            # name): a value that is itself a [name, value] pair is judged as one
            self.list_(v, chain, depth + 1, None)
            return True
        return False

    def value(self, container: Any, key: Any, v: Any, chain: Chain, depth: int, sub: PathState | None) -> None:
        """Handle one value (the slow, general path)."""
        t = type(v)
        if t is str:
            if v:
                if self.funcs and self.custom(container, key, v, chain):
                    return
                self.leaves.extend((container, key, chain))
                self.texts.append(v)
        elif t is dict:
            self.dict_(v, (chain, key), depth + 1, sub)
        elif t is list:
            self.list_(v, (chain, key), depth + 1, sub)
        elif t is int:
            if v > 99_999_999_999:
                self.number(container, key, v, chain)
        elif not (t is float or t is bool or v is None):
            self.other(container, key, v, chain, depth, sub)

    def number(self, container: Any, key: Any, v: int, chain: Chain) -> None:
        """An int of 12 to 19 digits is judged as its digits: a card number is filtered as it is in a string."""
        if v >= 10_000_000_000_000_000_000:
            return
        digits = str(v)
        for s, e, _, rule in self.text.scan(digits):
            if s == 0 and e == len(digits):
                if self.whole(rule, container, key, v, chain):
                    container[key] = None  # removed by its rule; the dict is being walked, so not popped here
                return

    def other(self, container: Any, key: Any, v: Any, chain: Chain, depth: int, sub: PathState | None) -> None:
        """Subclasses of str/dict/list, tuples, sets, bytes; anything else is left alone."""
        if isinstance(v, str):
            container[key] = str(v)
            self.value(container, key, str(v), chain, depth, sub)
        elif isinstance(v, dict):
            self.dict_(v, (chain, key), depth + 1, sub)
        elif isinstance(v, list):
            self.list_(v, (chain, key), depth + 1, sub)
        elif isinstance(v, (tuple, set, frozenset)):
            as_list = list(v)
            container[key] = as_list
            self.list_(as_list, (chain, key), depth + 1, sub)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            text = bytes(v).decode("utf-8", "replace")
            if text:
                # scrubbed bytes come back as str; clean ones stay bytes
                self.leaves.extend((container, key, chain))
                self.texts.append(text)

    def too_deep(self, node: Any, chain: Chain) -> None:
        """Empty a container nested past the depth limit, and say so in _meta (what cannot be walked is not sent)."""
        node.clear()
        self.counts["max-depth"] = self.counts.get("max-depth", 0) + 1
        if chain is not None:  # always, past depth 0
            self.remarks.append((chain[0], chain[1], [["max-depth", "x"]], None))
