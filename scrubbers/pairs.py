"""Named values written out in text: the value takes the key rule of the name next to it.

Kubernetes env lists and HAR headers serialised into a log line or an error message
(``[{"name": "DB_PASSWORD", "value": "..."}]``), their YAML form (``- name: DB_PASSWORD`` /
``value: ...``), AWS CLI tag shorthand (``Key=owner_email,Value=...``) and markup attributes
(``<add key="StripeSecret" value="..."/>``, ``<input name="password" value="...">``) name the
secret one field before (or after) the value; XML elements (``<password>...</password>``,
``<wsse:Password ...>...</wsse:Password>``) and multipart form fields
(``Content-Disposition: form-data; name="password"`` then a blank line) name it around it. The
walk already judges pairs in dicts; this finds them in strings. Each shape has a literal in it
("value", "</", "form-data"), so text without one costs a ``str.find``.
"""

from __future__ import annotations

import re
from typing import Callable

from scrubbers.actions import is_placeholder
from scrubbers.rules import KeyRule
from scrubbers.scan import Hit

__all__ = ["TextPairs"]

_NAME = (
    r"(?P<nq>[\"']?)(?:name|key|Name|Key|NAME|KEY)(?P=nq)[ \t]*[:=][ \t]*"
    r"(?P<vq>[\"']?)(?P<name>[A-Za-z0-9_.-]{1,64})(?P=vq)"
)
_VALUE = (
    r"(?P<q>[\"']?)(?:value|Value|VALUE)(?P=q)[ \t]*[:=][ \t]*"
    r"(?:\"(?P<dq>[^\"\\\n\x00]{1,512})\"|'(?P<sq>[^'\\\n\x00]{1,512})'|(?P<bare>[^\s\"',;}\]\x00]{1,512}))"
)
_BETWEEN = r"(?:[ \t]*(?:,|;|\r?\n)[ \t]*(?:-[ \t]*)?|[ \t]+)"
# the name first (the usual order), or the value first ({"value": ..., "name": ...})
_NAME_FIRST = re.compile(_NAME + _BETWEEN + _VALUE)
_VALUE_FIRST = re.compile(_VALUE + _BETWEEN + _NAME)
# <password>x</password>, <wsse:Password Type="...">x</wsse:Password>
_ELEMENT = re.compile(
    r"<(?P<ns>[A-Za-z][\w.-]{0,30}:)?(?P<name>[A-Za-z][\w.-]{0,63})(?:\s[^<>]{0,300})?>"
    r"(?P<bare>[^<>\x00]{1,1024})</(?P=ns)?(?P=name)>"
)
_FORM_FIELD = re.compile(
    r"form-data;[ \t]*name=\"(?P<name>[^\"\r\n\x00]{1,64})\"[^\r\n\x00]*\r?\n(?:[^\r\n\x00]+\r?\n){0,4}\r?\n"
    r"(?P<bare>[^\r\n\x00]{1,1024})"
)
_BEFORE = 120  # how far before a "value" its name can start
_AFTER = 700  # how far after it the pair can end


class TextPairs:
    """Finds name/value pairs in text and reports the values whose name is a sensitive key."""

    def __init__(self, classify: Callable[[str], object], order: dict[str, int]) -> None:
        self.classify = classify
        self.order = order

    def hits(self, text: str) -> list[Hit]:
        """The secret values of sensitive pairs, elements and form fields in ``text`` (the values' spans)."""
        out: list[Hit] = []
        if "</" in text:
            for m in _ELEMENT.finditer(text):  # "<"-led: re skips to each "<" at C speed
                self._add(m, out)
        if "form-data" in text:
            for m in _FORM_FIELD.finditer(text):
                self._add(m, out)
        if "alue" in text or "ALUE" in text:
            self._pairs(text, out)
        return out

    def _pairs(self, text: str, out: list[Hit]) -> None:
        n = len(text)
        seen = -1
        for word in ("alue", "ALUE"):
            pos = text.find(word)
            while pos >= 0:
                if pos > seen:
                    for rx in (_NAME_FIRST, _VALUE_FIRST):
                        m = rx.search(text, max(0, pos - _BEFORE), min(n, pos + _AFTER))
                        if m is not None:
                            self._add(m, out)
                            seen = max(seen, m.end())
                pos = text.find(word, pos + 4)

    def _add(self, m: re.Match[str], out: list[Hit]) -> None:
        rule = self.classify(m.group("name"))
        if not isinstance(rule, KeyRule):
            return
        for group in ("dq", "sq", "bare"):
            s = m.start(group) if group in m.re.groupindex else -1
            if s >= 0:
                e = m.end(group)
                value = m.string[s:e]
                if value.strip() and not is_placeholder(value) and value.lower() not in ("none", "null", ""):
                    out.append((s, e, -1 - self.order.get(rule.id, 0), rule))
                return
