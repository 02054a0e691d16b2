"""orjson with a fallback for odd values; an event that still cannot be serialised is a counted drop."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
_MAX_DEPTH = 64


def _fallback(value: Any) -> Any:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def _text(value: str) -> str:
    """Lone surrogates cannot be UTF-8: replace them, keep the rest."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _text(str.__str__(key))
    try:
        text = str(key)
    except Exception:
        text = _fallback(key)
    return _text(text if isinstance(text, str) else _fallback(key))


def _sanitise(value: Any, depth: int) -> Any:
    """A JSON-safe copy: what orjson refused (odd keys, surrogates, huge ints, cycles) made plain."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(str.__str__(value))
    if isinstance(value, int):
        return int(value) if -(2**63) <= value < 2**64 else str(int(value))
    if isinstance(value, float):
        return float(value) if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if depth >= _MAX_DEPTH:
        return "<too deep>"
    try:
        if isinstance(value, dict):
            return {_key(k): _sanitise(v, depth + 1) for k, v in list(value.items())}
        if isinstance(value, (list, tuple)):
            return [_sanitise(v, depth + 1) for v in list(value)]
    except Exception:
        pass
    return _text(_fallback(value))


def dumps(value: Any) -> bytes | None:
    """Serialise to JSON bytes, or None if even the fallback fails (never raises).

    The result is an exact-size copy: orjson's own bytes keep its growing working buffer (a 7 KiB
    event can hold 32 KiB), which adds up in the retry heap during an outage.
    """
    try:
        return bytes(memoryview(orjson.dumps(value, default=_fallback, option=_OPTIONS)))
    except Exception:
        pass
    try:
        return bytes(memoryview(orjson.dumps(_sanitise(value, 0), default=_fallback, option=_OPTIONS)))
    except Exception:
        return None
