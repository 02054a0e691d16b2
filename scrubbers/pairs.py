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

Database errors name the column of every bound value: PostgreSQL's ``Key (api_token)=(...)
already exists``, SQLAlchemy's ``[SQL: INSERT INTO users (email, password) VALUES (?, ?)]``
followed by ``[parameters: ('ana@example.org', 'Xk9...')]``, literal ``INSERT ... VALUES`` and
pgcrypto's ``crypt('...', gen_salt('bf'))``. The statement maps each placeholder to its column,
the parameters' repr is read by a small tolerant parser (``datetime.datetime(...)`` and
SQLAlchemy's truncation notes are not Python literals), and anything that does not parse or
does not count out is left alone.
"""

from __future__ import annotations

import re
from typing import Callable, Union

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
_CLOSE_TAG = re.compile("</")  # a compiled literal search beats ``in`` for two characters


def _mark(text: str, literal: str, act: list[int] | None) -> None:
    if act is not None:
        i = text.find(literal)
        while i >= 0:
            act.append(i)
            i = text.find(literal, i + 1)


class TextPairs:
    """Finds name/value pairs in text and reports the values whose name is a sensitive key."""

    def __init__(self, classify: Callable[[str], object], order: dict[str, int]) -> None:
        self.classify = classify
        self.order = order

    def hits(self, text: str, lower: str | None = None, act: list[int] | None = None) -> list[Hit]:
        """The secret values of sensitive pairs, elements, form fields and bound SQL values in ``text``
        (``lower`` is ``text.lower()`` when the caller has it already; ``act`` collects where a
        shape's literal is, as the scanner's other prefilters do)."""
        out: list[Hit] = []
        # Each shape is looked for only when its literal is there. One lower-cased copy serves the
        # case-insensitive ones ("value" in every pair and every INSERT, "crypt("): these checks run
        # on every event's new text, so they are as few as the shapes allow.
        if _CLOSE_TAG.search(text) is not None:
            _mark(text, "</", act)
            for m in _ELEMENT.finditer(text):  # "<"-led: re skips to each "<" at C speed
                self._add(m, out)
        if lower is None:
            lower = text.lower()
        if len(lower) != len(text):  # a case mapping changed the length: compare as written
            lower = text
        if "alue" in lower:
            _mark(lower, "alue", act)
            self._pairs(text, out)
            if "into" in lower:
                for m in _INSERT.finditer(text):
                    _, literals = _insert_columns(text, m)
                    for name, span in literals:
                        self._emit((name,), span, text, out)
        if "\n" in text and "form-data" in lower:  # a multipart body has its line breaks
            _mark(lower, "form-data", act)
            for m in _FORM_FIELD.finditer(text):
                self._add(m, out)
        if ")=(" in text:  # PostgreSQL's "Key (cols)=(values)"
            _mark(text, ")=(", act)
            for m in _PG_KEY.finditer(text):
                self._pg_key(m, out)
        if "[parameters: " in text:
            _mark(text, "[parameters: ", act)
            self._bound(text, out)
        if "crypt(" in lower:
            _mark(lower, "crypt(", act)
            for m in _CRYPT.finditer(text):
                self._emit(("password",), (m.start("v"), m.end("v")), text, out)
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

    def _pg_key(self, m: re.Match[str], out: list[Hit]) -> None:
        cols = m.group("cols").split(", ")
        values = _split_spans(m.string, m.start("vals"), m.end("vals"))
        if len(cols) != len(values):  # a comma inside a value: the columns no longer line up
            return
        for col, span in zip(cols, values):
            self._emit((col.strip().strip('"'),), span, m.string, out)

    def _bound(self, text: str, out: list[Hit]) -> None:
        pos = text.find(_PARAMS)
        while pos >= 0:
            for names, node in _bound_values(text, pos):
                self._emit(names, node, text, out)
            pos = text.find(_PARAMS, pos + len(_PARAMS))

    def _emit(self, names: tuple[str, ...] | list[str], node: _Node, text: str, out: list[Hit]) -> None:
        """Report every value in ``node`` when one of ``names`` is a sensitive field name."""
        for name in names:
            rule = self.classify(name)
            if isinstance(rule, KeyRule):
                prio = -1 - self.order.get(rule.id, 0)
                for s, e in _leaves(node):
                    value = text[s:e]
                    # a bare word is a name, not a literal (None, a "[filtered]" marker): repr quotes strings
                    if value.strip() and not is_placeholder(value) and not _WORD.fullmatch(value):
                        out.append((s, e, prio, rule))
                return

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


# --- database errors -------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_]+")
# DETAIL:  Key (email, reset_token)=(ana@example.org, 9f8e...) already exists. The values stop
# before the next "=(", so a line of many "Key (" costs linear time.
_PG_KEY = re.compile(
    r"Key \((?P<cols>[^\x00\r\n()]{1,512})\)=\((?P<vals>(?:[^\x00\r\n=]|=(?!\())(?:[^\x00\r\n=]|=(?!\())*?)\)"
    r"(?=[ \t]+(?:already exists|is not present|is still referenced|conflicts with)|\.?[ \t]*(?:[\r\n\x00]|$))"
)
_PARAMS = "[parameters: "
_SQL = "[SQL: "
_MAX_PARAMS = 10_000  # a longer repr is not parsed
_MAX_SQL = 20_000  # how far before its parameters a statement can start
_MAX_DEPTH = 6
_PY_STR = re.compile(
    r"[bBuU]?[rR]?(?:'(?P<s>(?:[^'\\\n\x00]|\\[^\n\x00]){0,4096})'|\"(?P<d>(?:[^\"\\\n\x00]|\\[^\n\x00]){0,4096})\")"
)
_ATOM = re.compile(r"[^\s,:()\[\]{}'\"\x00]{1,256}")
_SPACE = re.compile(r"[ \t\r\n]*")
# SQLAlchemy's note between the first and the last parameter sets of a long executemany
_MORE = re.compile(r"\.\.\. displaying \d+ of \d+ total bound parameter sets \.\.\.")
# placeholders: %(name)s, %s, ?, $1, :1, :name; SQL string literals are skipped (a "?" in one is text)
_SLOT = re.compile(
    r"'(?:[^'\x00]|'')*'|%\((?P<py>[A-Za-z_]\w{0,63})\)s|(?P<seq>%s|\?)|\$(?P<num>\d{1,4})"
    r"|(?<![:\w]):(?:(?P<cnum>\d{1,4})\b|(?P<colon>[A-Za-z_]\w{0,63}))"
)
# the column a placeholder is compared with or assigned to: SET password = ?, WHERE users.token = :t
_BEFORE_SLOT = re.compile(
    r"(?P<col>[A-Za-z_][\w$]{0,63}|\"[^\"\x00]{1,64}\"|`[^`\x00]{1,64}`|\[[^\]\x00]{1,64}\])[ \t]*"
    r"(?:=|==|!=|<>|[ \t]I?LIKE)[ \t]*$",
    re.IGNORECASE,
)
_CRYPT_ARG = re.compile(r"\bcrypt\([ \t]*$", re.IGNORECASE)
# pgcrypto: crypt('the password', gen_salt('bf')) or crypt('the password', password_hash)
_CRYPT = re.compile(r"\bcrypt\([ \t]*'(?P<v>(?:[^'\x00\n]|''){1,512})'[ \t]*,", re.IGNORECASE)
_INSERT = re.compile(
    r"\bINSERT[ \t\r\n]+(?:OR[ \t]+\w+[ \t]+|IGNORE[ \t]+)?INTO[ \t\r\n]+[^\s(\x00]{1,128}[ \t\r\n]*"
    r"\((?P<cols>[^()\x00]{1,4096})\)[ \t\r\n]*VALUES[ \t\r\n]*(?=\()",
    re.IGNORECASE,
)
_SQL_LITERAL = re.compile(r"[eEnN]?'(?P<v>(?:[^'\x00]|''){0,4096})'")

# a parsed repr: a leaf is the span of a value (inside its quotes), a tuple or list is a list,
# a dict maps its keys to their values
_Node = Union[tuple[int, int], list["_Node"], dict[str, "_Node"]]


def _split_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of the ", "-separated parts of ``text[start:end]``."""
    spans: list[tuple[int, int]] = []
    while True:
        cut = text.find(", ", start, end)
        if cut < 0:
            spans.append((start, end))
            return spans
        spans.append((start, cut))
        start = cut + 2


def _leaves(node: _Node) -> list[tuple[int, int]]:
    if isinstance(node, tuple):
        return [node]
    items = node.values() if isinstance(node, dict) else node
    return [leaf for item in items for leaf in _leaves(item)]


class _Repr:
    """Reads the ``repr()`` of bound parameters: tuples, lists, dicts, strings, and atoms such as
    numbers, ``None`` or ``datetime.datetime(2024, 1, 1, 0, 0)`` (a name and its call). Every
    method returns ``None`` on anything else."""

    def __init__(self, text: str, end: int) -> None:
        self.text = text
        self.end = end

    def skip(self, i: int) -> int:
        m = _SPACE.match(self.text, i, self.end)
        return m.end() if m is not None else i

    def value(self, i: int, depth: int) -> tuple[_Node, int] | None:
        text, i = self.text, self.skip(i)
        if i >= self.end or depth > _MAX_DEPTH:
            return None
        c = text[i]
        if c == "(" or c == "[":
            return self.seq(i + 1, ")" if c == "(" else "]", depth)
        if c == "{":
            return self.mapping(i + 1, depth)
        m = _PY_STR.match(text, i, self.end)
        if m is not None:
            g = "s" if m.start("s") >= 0 else "d"
            return (m.start(g), m.end(g)), m.end()
        m = _ATOM.match(text, i, self.end)
        if m is None:
            return None
        j = m.end()
        if j < self.end and text[j] == "(":  # a constructor call: Decimal('1.50'), UUID('...')
            call = self.seq(j + 1, ")", depth)
            return None if call is None else ((i, call[1]), call[1])
        return (i, j), j

    def seq(self, i: int, close: str, depth: int) -> tuple[_Node, int] | None:
        items: list[_Node] = []
        text = self.text
        while True:
            i = self.skip(i)
            if i < self.end and text[i] == close:
                return items, i + 1
            got = self.value(i, depth + 1)
            if got is None:
                return None
            items.append(got[0])
            i = self.skip(got[1])
            if i >= self.end:
                return None
            if text[i] == ",":
                i += 1
            elif text[i] == close:
                return items, i + 1
            else:
                more = _MORE.match(text, i, self.end)
                if more is None:
                    return None
                i = more.end()

    def mapping(self, i: int, depth: int) -> tuple[_Node, int] | None:
        items: dict[str, _Node] = {}
        text = self.text
        while True:
            i = self.skip(i)
            if i < self.end and text[i] == "}":
                return items, i + 1
            key = _PY_STR.match(text, i, self.end)
            if key is None:
                return None
            i = self.skip(key.end())
            if i >= self.end or text[i] != ":":
                return None
            got = self.value(i + 1, depth + 1)
            if got is None:
                return None
            items[key.group("s") if key.start("s") >= 0 else key.group("d")] = got[0]
            i = self.skip(got[1])
            if i >= self.end:
                return None
            if text[i] == ",":
                i += 1
            elif text[i] == "}":
                return items, i + 1
            else:
                return None


def _sql_items(sql: str, i: int) -> tuple[list[tuple[int, int]], int] | None:
    """The top-level items of the SQL tuple that opens at ``sql[i]`` (stripped spans) and the
    index after it; quotes and nested parentheses are stepped over."""
    items: list[tuple[int, int]] = []
    depth, start, j, n = 0, i + 1, i + 1, len(sql)
    while j < n:
        c = sql[j]
        if c == "'":
            close = sql.find("'", j + 1)
            if close < 0:
                return None
            j = close
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif (c == "," and not depth) or c == ")":
            a, b = start, j
            while a < b and sql[a].isspace():
                a += 1
            while b > a and sql[b - 1].isspace():
                b -= 1
            items.append((a, b))
            start = j + 1
            if c == ")":
                return items, j + 1
        elif c == "\x00":
            return None
        j += 1
    return None


def _insert_columns(sql: str, m: re.Match[str]) -> tuple[dict[int, str], list[tuple[str, tuple[int, int]]]]:
    """For ``INSERT INTO t (cols) VALUES (...), (...)``: the column of each placeholder (by its
    offset) and the literal values with their columns (spans inside the quotes)."""
    cols = [c.strip().strip('"`[]').rsplit(".", 1)[-1] for c in m.group("cols").split(",")]
    slots: dict[int, str] = {}
    literals: list[tuple[str, tuple[int, int]]] = []
    i = m.end()
    for _ in range(1000):
        row = _sql_items(sql, i)
        if row is None or len(row[0]) != len(cols):
            break
        for col, (a, b) in zip(cols, row[0]):
            slot = _SLOT.fullmatch(sql, a, b)
            if slot is not None and not slot.group().startswith("'"):
                slots[a] = col
                continue
            lit = _SQL_LITERAL.fullmatch(sql, a, b)
            if lit is not None:
                literals.append((col, (lit.start("v"), lit.end("v"))))
        i = row[1]
        while i < len(sql) and sql[i] in " \t\r\n":
            i += 1
        if not sql.startswith(",", i):
            break
        i += 1
        while i < len(sql) and sql[i] in " \t\r\n":
            i += 1
        if not sql.startswith("(", i):
            break
    return slots, literals


_Key = Union[int, str]


def _slots(sql: str) -> tuple[list[tuple[_Key, list[str]]], int]:
    """Each placeholder of ``sql`` with its key (position or name) and the names it is known by
    (its own name, the column it is assigned or compared to); and how many are "?" or "%s"."""
    cols: dict[int, str] = {}
    for m in _INSERT.finditer(sql):
        cols.update(_insert_columns(sql, m)[0])
    slots: list[tuple[_Key, list[str]]] = []
    seq = 0
    for m in _SLOT.finditer(sql):
        kind = m.lastgroup
        if kind is None:
            continue  # a string literal
        key: _Key
        names: list[str] = []
        if kind == "seq":
            key, seq = seq, seq + 1
        elif kind in ("num", "cnum"):
            key = int(m.group(kind)) - 1
        else:
            key = m.group(kind)
            names.append(key)
        col = cols.get(m.start())
        if col is None:
            before = sql[max(0, m.start() - 80) : m.start()]
            found = _BEFORE_SLOT.search(before)
            if found is not None:
                col = found.group("col").strip('"`[]')
            elif _CRYPT_ARG.search(before):
                col = "password"
        if col:
            names.append(col)
        slots.append((key, names))
    return slots, seq


def _row(row: _Node, slots: list[tuple[_Key, list[str]]], seq: int) -> list[tuple[list[str], _Node]]:
    """The values of one parameter set with the names of their placeholders; nothing when the
    placeholders and the values do not count out."""
    if isinstance(row, dict):
        named: dict[str, list[str]] = {}
        for key, names in slots:
            if isinstance(key, str):
                named.setdefault(key, []).extend(names)
        return [([k, *named.get(k, ())], v) for k, v in row.items()]
    if not isinstance(row, list) or not slots or any(isinstance(k, str) for k, _ in slots):
        return []
    if (seq and seq != len(row)) or max(k for k, _ in slots if isinstance(k, int)) >= len(row):
        return []
    by_key: dict[int, list[str]] = {}
    for key, names in slots:
        if isinstance(key, int) and key >= 0:
            by_key.setdefault(key, []).extend(names)
    return [(names, row[k]) for k, names in by_key.items() if names]


def _bound_values(text: str, pos: int) -> list[tuple[list[str], _Node]]:
    """The values in the ``[parameters: ...]`` at ``pos`` with the names of their placeholders in
    the ``[SQL: ...]`` just before it; nothing when either cannot be read."""
    sql_at = text.rfind(_SQL, max(0, pos - _MAX_SQL), pos)
    sql_end = text.rfind("]", sql_at, pos)
    if sql_at < 0 or sql_end < 0 or text[sql_end + 1 : pos].strip() or "\x00" in text[sql_at:pos]:
        return []
    start = pos + len(_PARAMS)
    end = min(len(text), start + _MAX_PARAMS)
    got = _Repr(text, end).value(start, 0)
    if got is None or not text.startswith("]", got[1]):
        return []
    slots, seq = _slots(text[sql_at + len(_SQL) : sql_end])
    tree = got[0]
    rows: list[_Node] = [tree]
    if isinstance(tree, list) and tree and all(isinstance(r, dict) for r in tree):
        rows = tree  # executemany with named placeholders
    elif isinstance(tree, list) and tree and all(isinstance(r, list) and len(r) == seq for r in tree):
        rows = tree  # executemany with positional placeholders
    return [pair for row in rows for pair in _row(row, slots, seq)]
