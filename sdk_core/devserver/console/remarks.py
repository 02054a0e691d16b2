"""``_meta`` remarks: what the scrubbers replaced or removed, read for the Privacy panel."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sdk_core.devserver.console.markup import Html, esc
from sdk_core.devserver.console.text import dict_of, int_of, list_of
from sdk_core.devserver.summaries import one_line

__all__ = ["Path", "Remark", "meta_node", "path_html", "path_text", "remarks_of"]

_MAX_REMARKS = 10000
_ACTION_WORDS = {"s": "filtered", "x": "removed", "m": "masked", "p": "hashed", "e": "encrypted"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+")

Path = tuple[str, ...]
"""Keys from the event root to a value, as in ``_meta``: ``("request", "headers", "Authorization")``."""


@dataclass(frozen=True)
class Remark:
    """One ``_meta`` remark: where, which rule, what it did (and to which characters, when known)."""

    path: Path
    rule: str
    action: str
    start: int | None
    end: int | None
    length: int | None

    @property
    def action_word(self) -> str:
        """``filtered``, ``removed``, ``masked``, ...: the action code in words."""
        return _ACTION_WORDS.get(self.action, self.action or "?")


def remarks_of(meta: Any) -> list[Remark]:
    """Every remark in an event's ``_meta`` tree, in tree order (bounded in depth and count)."""
    out: list[Remark] = []

    def walk(node: Any, path: Path) -> None:
        if len(out) >= _MAX_REMARKS or len(path) > 64 or not isinstance(node, dict):
            return
        for key, child in node.items():
            if key == "" and isinstance(child, dict):
                length = int_of(child.get("len"))
                for rem in list_of(child.get("rem")):
                    if len(out) >= _MAX_REMARKS:
                        return
                    rem = list_of(rem)
                    rule = one_line(rem[0], 120) if rem else ""
                    action = one_line(rem[1], 8) if len(rem) > 1 else ""
                    start = int_of(rem[2]) if len(rem) > 3 else None
                    end = int_of(rem[3]) if len(rem) > 3 else None
                    out.append(Remark(path, rule or "?", action, start, end, length))
            elif key != "":
                walk(child, (*path, str(key)))

    walk(meta, ())
    return out


def path_text(path: Path) -> str:
    """``request.headers["X-Api-Key"]``-style display of a ``_meta`` path."""
    parts: list[str] = []
    for key in path:
        if _IDENT.fullmatch(key):
            parts.append(("." if parts else "") + key)
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(parts) or "(event)"


def path_html(path: Path) -> Html:
    """:func:`path_text` with line-break opportunities after each separator."""
    return Html(esc(path_text(path)).replace(".", ".<wbr>").replace("[", "<wbr>["))


def meta_node(meta: Any, path: Path) -> dict[str, Any]:
    """The ``_meta`` subtree at ``path`` (empty when there is none)."""
    node = meta
    for key in path:
        if not isinstance(node, dict):
            return {}
        node = node.get(key)
    return dict_of(node)
