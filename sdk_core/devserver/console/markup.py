"""HTML built safely: every ``str`` is text and is escaped, only :class:`Html` is markup.

Every string in an event comes from the application and is treated as hostile: markup is built
with :func:`el`, which escapes every text child and attribute value (``html.escape``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Html", "el", "esc", "join", "visible"]

# C0/C1 controls (but tab and newline) and bidi controls: shown as visible marks, never applied.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


class Html(str):
    """Markup built by :func:`el` / :func:`esc`; every other ``str`` is text and gets escaped."""

    __slots__ = ()


def esc(value: object) -> Html:
    """Text as HTML: ``html.escape`` (quotes too) unless it already is :class:`Html`."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(value if isinstance(value, str) else str(value), quote=True))


def _children(children: Iterable[Any]) -> Iterator[Html]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str):
            yield esc(child)
        elif isinstance(child, (int, float)):
            yield esc(str(child))
        else:
            yield from _children(child)


def join(*children: Any) -> Html:
    """Children (text, markup, nested iterables; ``None``/``False`` skipped) as one piece of markup."""
    return Html("".join(_children(children)))


_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "wbr"})


def el(tag: str, *children: Any, **attrs: object) -> Html:
    """``<tag attrs>children</tag>``; attribute names come from code (``class_`` -> ``class``,
    ``data_id`` -> ``data-id``), their values and all text children are escaped."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    start = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Html(start)
    return Html(f"{start}{join(children)}</{tag}>")


def visible(text: str) -> Html:
    """Escaped text with control and bidi characters shown as marks instead of acting on the page."""
    out: list[str] = []
    pos = 0
    for match in _INVISIBLE.finditer(text):
        out.append(esc(text[pos : match.start()]))
        code = f"U+{ord(match.group()):04X}"
        out.append(el("span", code, class_="ctl", title="control or bidi character"))
        pos = match.end()
    out.append(esc(text[pos:]))
    return Html("".join(out))
