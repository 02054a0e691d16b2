"""Sentry ``_meta`` remarks: why a value changed, never what it was.

``event["_meta"]`` mirrors the event's shape; the ``""`` key of a node holds
``{"rem": [[rule_id, type, (start, end)]], "len": original_length}``. Types: ``s`` substituted,
``m`` masked, ``p`` pseudonymised, ``x`` removed. Ranges of partial replacements point into the
new string. See https://develop.sentry.dev/sdk/data-model/event-payloads/ and Relay's ``Remark``.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeAlias

__all__ = ["Remark", "write_remarks"]

Remark: TypeAlias = "tuple[Any, Any, list[list[Any]], int | None]"
"""``(parent chain, key, remarks, original length)``: a chain is ``(parent chain, key)`` or ``None``
for the event root, the walk's linked path that is never turned into a tuple."""


def _child(node: dict[str, Any], key: object) -> dict[str, Any]:
    k = key if type(key) is str else str(key)
    child = node.setdefault(k, {})
    if type(child) is not dict:  # a value where the event's own _meta had something else
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
                    node = nodes[id(link)] = _child(node, link[1])
        _append(_child(node, key), rem, length)
