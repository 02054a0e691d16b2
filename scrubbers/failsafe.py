"""The last resort after an internal scrubber error: send nothing that could hold a secret."""

from __future__ import annotations

from typing import Any

from scrubbers.actions import FILTERED
from scrubbers.walk import MAX_DEPTH

__all__ = ["fail_closed"]


def fail_closed(event: dict[Any, Any]) -> None:
    """Last resort after an internal error: filter every string, keep structure and numbers."""
    keep = {"event_id", "timestamp", "level", "platform", "sdk", "logger", "release", "environment", "_meta"}
    stack: list[tuple[Any, int]] = [(event, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            node.clear()
            continue
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for k, v in items:
            if depth == 0 and k in keep:
                continue
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1))
            elif not isinstance(v, (int, float, bool, type(None))):
                node[k] = FILTERED
