"""Event building: ids, timestamps, and the fields every event of this process shares."""

from __future__ import annotations

import platform
import random
import sys
from datetime import datetime, timezone
from typing import Any

from ._version import SDK_NAME, VERSION
from .options import Options

LEVELS = ("fatal", "error", "warning", "info", "debug")
_LEVEL_ALIASES = {"warn": "warning", "critical": "fatal", "exception": "error", "notset": "debug"}


def new_event_id() -> str:
    # Not uuid4(): os.urandom releases the GIL, and a busy worker thread then makes the caller wait
    # for it (p99 in the milliseconds). random reseeds itself in forked children.
    """A random 32-hex event id (random.getrandbits: no syscall on the caller's path)."""
    return f"{random.getrandbits(128):032x}"


LEVEL_SET = frozenset(LEVELS)


def level_name(level: Any) -> str:
    """Accept protocol levels, logging's names and numbers; anything else becomes ``error``."""
    if level in LEVEL_SET:
        return level  # type: ignore[no-any-return]
    if isinstance(level, int) and not isinstance(level, bool):
        if level >= 50:
            return "fatal"
        if level >= 40:
            return "error"
        if level >= 30:
            return "warning"
        if level >= 20:
            return "info"
        return "debug"
    if isinstance(level, str):
        name = level.lower()
        name = _LEVEL_ALIASES.get(name, name)
        if name in LEVELS:
            return name
    return "error"


def format_timestamp(ts: float) -> str:
    """RFC 3339 UTC with microseconds, as the protocol expects."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sdk_info(integrations: list[str]) -> dict[str, Any]:
    """The event's ``sdk`` block: name, version and the integrations in use."""
    return {
        "name": SDK_NAME,
        "version": VERSION,
        "integrations": sorted(integrations),
        "packages": [{"name": "pypi:coderadar-sdk", "version": VERSION}],
    }


def static_contexts() -> dict[str, dict[str, Any]]:
    """Runtime and OS contexts, computed once per client."""
    impl = platform.python_implementation()
    contexts: dict[str, dict[str, Any]] = {
        "runtime": {
            "type": "runtime",
            "name": impl,
            "version": platform.python_version(),
            "build": sys.version,
        },
    }
    try:
        uname = platform.uname()
        contexts["os"] = {"type": "os", "name": uname.system, "kernel_version": uname.release}
    except Exception:
        pass
    return contexts


def static_fields(options: Options, integrations: list[str]) -> dict[str, Any]:
    """Fields computed once per client and stamped on every event unless the event set its own."""
    fields: dict[str, Any] = {
        "platform": "python",
        "environment": options.environment,
        "sdk": sdk_info(integrations),
    }
    if options.release:
        fields["release"] = options.release
    if options.dist:
        fields["dist"] = options.dist
    if options.server_name:
        fields["server_name"] = options.server_name
    return fields


def set_meta(event: dict[str, Any], path: tuple[str, ...], meta: dict[str, Any]) -> None:
    """Merge ``meta`` into ``event['_meta']`` at ``path``."""
    node = event.setdefault("_meta", {})
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    _merge(node, meta)


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        existing = into.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value)
        else:
            into[key] = value
