"""orjson with a fallback for odd values; an event that still cannot be serialised is a counted drop."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def dumps(value: Any) -> bytes | None:
    """Serialise to JSON bytes, or None if even the fallback fails (never raises)."""
    try:
        return orjson.dumps(value, default=_fallback, option=_OPTIONS)
    except Exception:
        return None
