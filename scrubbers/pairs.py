"""Name/value pairs written out in text: the value takes the key rule of the name next to it.

Kubernetes env lists and HAR headers serialised into a log line or an error message
(``[{"name": "DB_PASSWORD", "value": "..."}]``), their YAML form (``- name: DB_PASSWORD`` /
``value: ...``) and AWS CLI tag shorthand (``Key=owner_email,Value=...``) name the secret one
field before (or after) the value. The walk already judges such pairs in dicts; this finds them
in strings. Every pair has the word "value" in it, so text without it costs one ``str.find``.
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
_BETWEEN = r"[ \t]*(?:,|;|\r?\n)[ \t]*(?:-[ \t]*)?"
# the name first (the usual order), or the value first ({"value": ..., "name": ...})
_NAME_FIRST = re.compile(_NAME + _BETWEEN + _VALUE)
_VALUE_FIRST = re.compile(_VALUE + _BETWEEN + _NAME)
_BEFORE = 120  # how far before a "value" its name can start
_AFTER = 700  # how far after it the pair can end


class TextPairs:
    """Finds name/value pairs in text and reports the values whose name is a sensitive key."""

    def __init__(self, classify: Callable[[str], object], order: dict[str, int]) -> None:
        self.classify = classify
        self.order = order

    def hits(self, text: str) -> list[Hit]:
        """The secret values of sensitive pairs in ``text`` (spans of the values only)."""
        if "alue" not in text and "ALUE" not in text:
            return []
        out: list[Hit] = []
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
        return out

    def _add(self, m: re.Match[str], out: list[Hit]) -> None:
        rule = self.classify(m.group("name"))
        if not isinstance(rule, KeyRule):
            return
        for group in ("dq", "sq", "bare"):
            s = m.start(group)
            if s >= 0:
                e = m.end(group)
                value = m.string[s:e]
                if value.strip() and not is_placeholder(value) and value.lower() not in ("none", "null", ""):
                    out.append((s, e, -1 - self.order.get(rule.id, 0), rule))
                return
