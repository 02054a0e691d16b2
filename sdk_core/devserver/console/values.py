"""Event values drawn as HTML with their ``_meta`` remarks highlighted in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.console.markup import Html, el, join, visible
from sdk_core.devserver.console.remarks import Path, Remark, meta_node, remarks_of
from sdk_core.devserver.console.text import dict_of, json_text

__all__ = ["ValueRenderer"]

_MAX_DEPTH = 24  # nesting shown on the event page; deeper values are shown as JSON text
_MAX_ITEMS = 500  # entries shown per dict or list


class ValueRenderer:
    """Draws any JSON value of one event, highlighting what its ``_meta`` remarks point at; the
    first highlight of each path gets an anchor (``r1``, ``r2``, ...) the Privacy panel links to,
    and :attr:`shown` records which paths were drawn."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.meta = dict_of(payload.get("_meta"))
        self.remarks = remarks_of(self.meta)
        self.anchors: dict[Path, str] = {}
        self.by_path: dict[Path, list[Remark]] = {}
        self.prefixes: set[Path] = set()  # every path that has a remark at or below it
        for remark in self.remarks:
            self.anchors.setdefault(remark.path, f"r{len(self.anchors) + 1}")
            self.by_path.setdefault(remark.path, []).append(remark)
            self.prefixes.update(remark.path[:i] for i in range(len(remark.path) + 1))
        self.shown: set[Path] = set()

    def _mark_attrs(self, path: Path, remarks: list[Remark]) -> dict[str, object]:
        """Attributes of a highlight; the first one drawn for a path carries the path's anchor."""
        attrs: dict[str, object] = {} if path in self.shown else {"id": self.anchors[path]}
        self.shown.add(path)
        words = "; ".join(f"{r.rule} ({r.action_word})" for r in remarks)
        length = next((r.length for r in remarks if r.length is not None), None)
        if length is not None:
            words += f"; original length {length}"
        attrs.update(class_="redacted", title=words, data_rule=remarks[0].rule)
        return attrs

    def _remarks_at(self, path: Path) -> list[Remark]:
        return self.by_path.get(path, [])

    def text(self, value: str, path: Path) -> Html:
        """A string, with the spans its remarks point at (or the whole string) marked."""
        remarks = self._remarks_at(path)
        if not remarks:
            return visible(value)
        ranged = sorted(
            (r for r in remarks if r.start is not None and r.end is not None and 0 <= r.start < r.end <= len(value)),
            key=lambda r: (r.start or 0, r.end or 0),
        )
        whole = [r for r in remarks if r not in ranged]
        parts: list[Html] = []
        pos = 0
        for r in ranged:
            start, end = r.start or 0, r.end or 0
            if start < pos:
                continue  # overlapping spans: the first one wins
            parts.append(visible(value[pos:start]))
            parts.append(el("mark", visible(value[start:end]), **self._mark_attrs(path, [r])))
            pos = end
        parts.append(visible(value[pos:]))
        inner = join(parts)
        if whole:
            return el("mark", inner, **self._mark_attrs(path, whole))
        return inner

    def value(self, value: Any, path: Path, depth: int = 0) -> Html:
        """Any JSON value, nested tables for objects; remarks highlighted wherever they point."""
        if isinstance(value, str):
            return el("span", self.text(value, path), class_="v-str")
        remarks = self._remarks_at(path)
        if depth > _MAX_DEPTH:
            inner: Html = el("span", json_text(value, indent=False)[:2000], class_="v-deep")
        elif isinstance(value, dict):
            inner = self._object(value, path, depth)
        elif isinstance(value, list):
            inner = self._array(value, path, depth)
        elif value is None:
            inner = el("span", "null", class_="v-null")
        elif isinstance(value, bool):
            inner = el("span", "true" if value else "false", class_="v-bool")
        else:
            inner = el("span", json_text(value, indent=False), class_="v-num")
        if remarks:
            block = isinstance(value, (dict, list))
            return el("div" if block else "mark", inner, **self._mark_attrs(path, remarks))
        return inner

    def _removed_rows(self, present: Mapping[str, Any], path: Path) -> list[Html]:
        """Rows for keys a rule removed (``x``): gone from the data, still named in ``_meta``."""
        rows = []
        for key, child in meta_node(self.meta, path).items():
            if key == "" or key in present or not isinstance(child, dict):
                continue
            remarks = self._remarks_at((*path, key))
            if remarks and any(r.action == "x" for r in remarks):
                mark = el("mark", "(removed)", **self._mark_attrs((*path, key), remarks))
                rows.append(el("tr", el("th", visible(key)), el("td", mark), class_="removed"))
        return rows

    def _object(self, value: Mapping[str, Any], path: Path, depth: int) -> Html:
        rows: list[Html] = []
        for i, (key, child) in enumerate(value.items()):
            if i == _MAX_ITEMS:
                rows.append(el("tr", el("td", f"\u2026 {len(value) - i} more (see the raw JSON)", colspan="2")))
                break
            child_path = (*path, str(key))
            rows.append(el("tr", el("th", visible(str(key))), el("td", self.value(child, child_path, depth + 1))))
        rows += self._removed_rows(value, path)
        if not rows:
            return el("span", "{}", class_="v-empty")
        return el("table", el("tbody", rows), class_="kv")

    def _array(self, value: list[Any], path: Path, depth: int) -> Html:
        if not value:
            return el("span", "[]", class_="v-empty")
        items = [el("li", self.value(child, (*path, str(i)), depth + 1)) for i, child in enumerate(value[:_MAX_ITEMS])]
        if len(value) > _MAX_ITEMS:
            items.append(el("li", f"\u2026 {len(value) - _MAX_ITEMS} more (see the raw JSON)", class_="more"))
        return el("ol", items, start="0", class_="v-list")
