"""Turn arbitrary Python values into JSON-safe snapshots within depth, breadth and length limits.

Never raises: objects whose ``repr`` fails, recursive containers, bytes and huge strings all become
placeholders or trimmed strings. Trimming is recorded as Sentry ``_meta`` remarks.
"""

from __future__ import annotations

import math
from typing import Any, Dict

Meta = Dict[str, Any]

MAX_DEPTH = 5
MAX_BREADTH = 50
_LIMIT_RULE = "!limit"


def safe_repr(value: object, max_length: int = 1024) -> str:
    """``repr()`` that never raises, cut to ``max_length`` characters."""
    try:
        text = repr(value)
    except Exception:
        try:
            return f"<{type(value).__name__} object (repr failed)>"
        except Exception:
            return "<object (repr failed)>"
    if not isinstance(text, str):
        return "<object (repr returned a non-string)>"
    return text if len(text) <= max_length else text[: max_length - 3] + "..."


def safe_str(value: object, max_length: int = 1024) -> str:
    """``str()`` that never raises, cut to ``max_length`` characters."""
    if isinstance(value, str):
        return value
    try:
        text = str(value)
        if isinstance(text, str):
            return text[:max_length]
    except Exception:
        pass
    return safe_repr(value, max_length)


def trim_string(value: str, max_length: int, meta: Meta | None = None, key: str | None = None) -> str:
    """Cut ``value`` to ``max_length`` characters ending in ``...``, and record the cut in ``meta``."""
    if len(value) <= max_length:
        return value
    if meta is not None and key is not None:
        meta[key] = {"": {"len": len(value), "rem": [[_LIMIT_RULE, "x", max_length - 3, max_length]]}}
    return value[: max_length - 3] + "..."


class Normalizer:
    """Holds the limits; ``normalize`` returns a fresh JSON-safe structure and fills ``meta``."""

    __slots__ = ("max_breadth", "max_depth", "max_length")

    def __init__(self, max_length: int = 1024, max_depth: int = MAX_DEPTH, max_breadth: int = MAX_BREADTH) -> None:
        self.max_length = max_length
        self.max_depth = max_depth
        self.max_breadth = max_breadth

    def normalize(self, value: Any, meta: Meta | None = None) -> Any:
        """Normalise ``value``; remarks for it land in ``meta`` (a dict mirroring its path)."""
        holder: Meta = {}
        result = self._value(value, 0, set(), holder, "")
        if meta is not None and holder.get(""):
            meta.update(holder[""])
        return result

    def _value(self, value: Any, depth: int, seen: set[int], meta: Meta, key: str) -> Any:
        cls = type(value)
        if cls is str:
            if len(value) > self.max_length:
                return trim_string(value, self.max_length, meta, key)
            return value
        if cls is bool or value is None:
            return value
        if cls is int:
            return value if -(2**63) <= value < 2**64 else safe_repr(value, self.max_length)
        if cls is float:
            return value if math.isfinite(value) else repr(value)
        if cls is dict or cls is list or cls is tuple or isinstance(value, (dict, list, tuple, set, frozenset)):
            return self._container(value, depth, seen, meta, key)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return trim_string(safe_repr(bytes(value[: self.max_length])), self.max_length)
        if isinstance(value, str):
            return self._value(str.__str__(value), depth, seen, meta, key)
        return trim_string(safe_repr(value, self.max_length + 1), self.max_length, meta, key)

    def _container(self, value: Any, depth: int, seen: set[int], meta: Meta, key: str) -> Any:
        ident = id(value)
        if ident in seen:
            return "<recursion>"
        if depth >= self.max_depth:
            return safe_repr(value, min(self.max_length, 128))
        seen.add(ident)
        try:
            child_meta: Meta = {}
            if isinstance(value, dict):
                out: Any = {}
                try:
                    items = list(value.items())
                except Exception:
                    return safe_repr(value, self.max_length)
                for i, (k, v) in enumerate(items):
                    if i >= self.max_breadth:
                        child_meta[""] = {"len": len(items)}
                        break
                    name = k if type(k) is str else safe_str(k, 200)
                    out[name] = self._value(v, depth + 1, seen, child_meta, name)
            else:
                try:
                    elements = list(value) if not isinstance(value, (set, frozenset)) else sorted(value, key=repr)
                except Exception:
                    try:
                        elements = list(value)
                    except Exception:
                        return safe_repr(value, self.max_length)
                out = []
                for i, v in enumerate(elements):
                    if i >= self.max_breadth:
                        child_meta[""] = {"len": len(elements)}
                        break
                    out.append(self._value(v, depth + 1, seen, child_meta, str(i)))
            if child_meta:
                meta[key] = child_meta
            return out
        finally:
            seen.discard(ident)
