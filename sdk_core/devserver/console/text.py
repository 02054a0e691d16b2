"""Reading untyped event JSON and formatting it for people: the console views' small helpers."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from sdk_core.devserver.store import dumps
from sdk_core.devserver.summaries import one_line

__all__ = [
    "LEVELS",
    "byte_size",
    "clock",
    "dict_of",
    "int_of",
    "json_text",
    "level_class",
    "list_of",
    "local_time",
    "parse_time",
    "plural",
    "str_of",
    "values_of",
]

LEVELS = ("fatal", "error", "warning", "info", "debug")
"""The Sentry levels, most severe first (the level filter lists them in this order)."""


def str_of(value: Any) -> str:
    """``value`` when it is a string, else ``""`` (event data is untyped JSON)."""
    return value if isinstance(value, str) else ""


def int_of(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dict_of(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    """``value`` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def values_of(container: Any) -> list[Any]:
    """``{"values": [...]}`` or a bare list (both occur in the wild)."""
    if isinstance(container, dict):
        return list_of(container.get("values"))
    return list_of(container)


def parse_time(value: Any) -> datetime | None:
    """An event timestamp (epoch seconds or RFC 3339 text) as an aware datetime; ``None`` when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d:?\d\d)?", text)
    if match is None:
        return None
    base, fraction, offset = match.groups()
    text = base.replace(" ", "T") + "." + (fraction or "0")[:6].ljust(6, "0") + (offset or "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A timestamp in the laptop's local time (the console runs where the developer is)."""
    moment = parse_time(value)
    if moment is None:
        return one_line(value, 40) if isinstance(value, str) else ""
    try:
        return moment.astimezone().strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return moment.strftime(fmt)


def clock(value: Any) -> str:
    """``HH:MM:SS.mmm`` in local time, for breadcrumb timelines."""
    moment = parse_time(value)
    if moment is None:
        return local_time(value)
    try:
        local = moment.astimezone()
    except (OverflowError, OSError, ValueError):
        local = moment
    return local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def byte_size(n: int) -> str:
    """``512 bytes``, ``1.5 KiB``, ...: a size for people."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover - the loop always returns


def plural(n: int, word: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def level_class(level: str) -> str:
    """The CSS class of a level badge (``lvl-other`` for levels the stylesheet does not know)."""
    return f"lvl-{level}" if level in LEVELS else "lvl-other"


def json_text(value: Any, indent: bool = True) -> str:
    """JSON text for display; never raises (falls back to the store's lenient ``dumps``)."""
    try:
        return json.dumps(value, indent=2 if indent else None, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError, RecursionError):
        return dumps(value)
