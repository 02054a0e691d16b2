"""Path rules as a small automaton over key segments; each state caches its transitions."""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from scrubbers.rules import PathRule

__all__ = ["PathMatcher", "PathState"]

_Item = Tuple[int, int]  # (rule index, segment index)


class PathState:
    """A set of partial selector matches. ``trans`` maps a raw key to ``(next_state, matched_rule)``."""

    __slots__ = ("items", "matcher", "trans")

    def __init__(self, matcher: PathMatcher, items: FrozenSet[_Item]) -> None:
        self.matcher = matcher
        self.items = items
        self.trans: Dict[object, Tuple[PathState | None, PathRule | None]] = {}

    def compute(self, key: object) -> Tuple[PathState | None, PathRule | None]:
        """The transition on ``key`` (cached; the cache is bounded)."""
        result = self.matcher.step(self.items, key)
        if len(self.trans) > 4096:
            self.trans.clear()
        self.trans[key] = result
        return result


class PathMatcher:
    """Selectors (``request.cookies.*``, ``**.vars.*``) compiled into interned states."""

    def __init__(self, rules: list[PathRule]) -> None:
        self.rules = rules
        self.segs = [r.segments for r in rules]
        self._states: dict[FrozenSet[_Item], PathState] = {}
        start = self._state(self._closure({(i, 0) for i in range(len(rules))}))
        assert start is not None
        self.start: PathState = start

    def _closure(self, items: set[_Item]) -> FrozenSet[_Item]:
        out = set(items)
        todo = list(items)
        while todo:
            ri, si = todo.pop()
            segs = self.segs[ri]
            if si < len(segs) and segs[si] == "**" and (ri, si + 1) not in out:
                out.add((ri, si + 1))
                todo.append((ri, si + 1))
        return frozenset(out)

    def _state(self, items: FrozenSet[_Item]) -> PathState | None:
        live = frozenset((ri, si) for ri, si in items if si < len(self.segs[ri]))
        if not live:
            return None
        state = self._states.get(live)
        if state is None:
            state = PathState(self, live)
            self._states[live] = state
        return state

    def step(self, items: FrozenSet[_Item], key: object) -> Tuple[PathState | None, PathRule | None]:
        """Advance by one key: the next state (None when no path rule can match below) and the rule matched here."""
        name = key.lower() if isinstance(key, str) else str(key)
        nxt: set[_Item] = set()
        for ri, si in items:
            seg = self.segs[ri][si]
            if seg == "**":
                nxt.add((ri, si))
            elif seg == "*" or seg == name:
                nxt.add((ri, si + 1))
        closed = self._closure(nxt)
        matched = None
        for ri, si in sorted(closed):
            if si == len(self.segs[ri]):
                matched = self.rules[ri]
                break
        return self._state(closed), matched
