"""Sentry ``_meta`` remarks: why a value changed, never what it was.

``event["_meta"]`` mirrors the event's shape; the ``""`` key of a node holds
``{"rem": [[rule_id, type, (start, end)]], "len": original_length}``. Types: ``s`` substituted,
``m`` masked, ``p`` pseudonymised, ``x`` removed. Ranges of partial replacements point into the
new string. See https://develop.sentry.dev/sdk/data-model/event-payloads/ and Relay's ``Remark``.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["add_remarks"]


def add_remarks(event: dict[str, Any], path: Sequence[object], remarks: list[list[Any]], length: int | None) -> None:
    """Append ``remarks`` at ``path`` under ``event["_meta"]``; keep an existing ``len``."""
    meta = event.get("_meta")
    if type(meta) is not dict:
        meta = {}
        event["_meta"] = meta
    node: dict[str, Any] = meta
    for key in path:
        k = key if type(key) is str else str(key)
        child = node.get(k)
        if type(child) is not dict:
            child = node[k] = {}
        node = child
    entry = node.get("")
    if type(entry) is not dict:
        entry = node[""] = {"rem": remarks}
    else:
        rem = entry.get("rem")
        if type(rem) is list:
            rem.extend(remarks)
        else:
            entry["rem"] = remarks
    if length is not None and "len" not in entry:
        entry["len"] = length
