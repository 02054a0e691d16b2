"""Sentry ``_meta`` remarks: why a value changed, never what it was.

``event["_meta"]`` mirrors the event's shape; the ``""`` key of a node holds
``{"rem": [[rule_id, type, (start, end)]], "len": original_length}``. Types: ``s`` substituted,
``m`` masked, ``p`` pseudonymised, ``x`` removed. Ranges of partial replacements point into the
new string. See https://develop.sentry.dev/sdk/data-model/event-payloads/ and Relay's ``Remark``.
"""

from __future__ import annotations

from typing import Any, Sequence

from typing_extensions import TypeAlias

__all__ = ["Remark", "add_remarks", "write_remarks"]

Remark: TypeAlias = "tuple[Any, Any, list[list[Any]], int | None]"
"""``(parent chain, key, remarks, original length)``: a chain is ``(parent chain, key)`` or ``None``
for the event root, the walk's linked path that is never turned into a tuple."""


def _child(node: dict[str, Any], key: object) -> dict[str, Any]:
    k = key if type(key) is str else str(key)
    child = node.get(k)
    if type(child) is not dict:
        child = node[k] = {}
    return child


def _append(node: dict[str, Any], remarks: list[list[Any]], length: int | None) -> None:
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


def _root(event: dict[str, Any]) -> dict[str, Any]:
    meta = event.get("_meta")
    if type(meta) is not dict:
        meta = event["_meta"] = {}
    return meta


def add_remarks(event: dict[str, Any], path: Sequence[object], remarks: list[list[Any]], length: int | None) -> None:
    """Append ``remarks`` at ``path`` under ``event["_meta"]``; keep an existing ``len``."""
    node = _root(event)
    for key in path:
        node = _child(node, key)
    _append(node, remarks, length)


def write_remarks(event: dict[str, Any], remarks: list[Remark]) -> None:
    """Append every :data:`Remark` of one walk under ``event["_meta"]``.

    Siblings share their parent chain object, so each parent ``_meta`` node is found once (by the
    chain's identity: every chain is alive while ``remarks`` holds it) rather than once per remark.
    """
    if not remarks:
        return
    meta = _root(event)
    nodes: dict[int, dict[str, Any]] = {}
    last: Any = None
    node: Any = meta
    for chain, key, rem, length in remarks:
        if chain is not last:  # consecutive remarks mostly share their parent (a dict's keys)
            last = chain
            node = meta if chain is None else nodes.get(id(chain))
            if node is None:
                links = []
                up = chain
                while up is not None:
                    node = nodes.get(id(up))
                    if node is not None:
                        break
                    links.append(up)
                    up = up[0]
                else:
                    node = meta
                for link in reversed(links):
                    k = link[1] if type(link[1]) is str else str(link[1])
                    child = node.setdefault(k, {})
                    if type(child) is not dict:
                        child = node[k] = {}
                    node = nodes[id(link)] = child
        k = key if type(key) is str else str(key)
        leaf = node.setdefault(k, {})
        if type(leaf) is not dict:
            leaf = node[k] = {}
        if "" in leaf and type(leaf[""]) is dict:
            _append(leaf, rem, length)
        else:
            leaf[""] = {"rem": rem} if length is None else {"rem": rem, "len": length}
