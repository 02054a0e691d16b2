"""Is the value of a ``name = value`` found in text a literal, or code, a reference or a state word?

Source context lines sit in nearly every error event, and in them a sensitive name is mostly
assigned code (``password = os.environ['DB_PASSWORD']``, ``api_key = settings.STRIPE_API_KEY``,
``login(password=password)``, ``secret: Optional[str] = None``) or a template reference
(``DB_PASSWORD=${DB_PASSWORD}``). Log lines say what state a credential is in (``auth: required``,
``token: EOF``), and test runners report ``pass=120``. None of these is a secret; literals are.
"""

from __future__ import annotations

import keyword
import re

from scrubbers.context import high_entropy, password_like, word_built
from scrubbers.keys import key_tokens

__all__ = ["annotation_default", "block_scalar", "code_value", "harmless_word", "pair_value", "value_extent"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CHAIN_RE = re.compile(r"\$?" + _IDENT + r"(?:\." + _IDENT + r")*")
# ${VAR}, $VAR, {{ var }}, {% tag %}, <PASSWORD>, %(name)s: filled in later, not values
_REFERENCE_RE = re.compile(
    r"\$\{[^}\s]{1,100}\}|\$[A-Z_][A-Z0-9_]*(?![\w$])|\{\{[^}]{1,100}\}\}|\{%[^}]{1,100}%\}"
    r"|<[A-Za-z_][\w-]{0,60}>|%\([A-Za-z_]\w*\)[sdr]"
)
_TYPE_NAMES = frozenset(
    ("str", "bytes", "int", "bool", "float", "object", "any", "text", "anystr", "secretstr", "secretbytes")
)
# common roots of attribute chains that hold configuration: os.environ, settings.X, self.password
_ROOTS = frozenset(
    (
        "self", "cls", "this", "os", "settings", "config", "conf", "cfg", "env", "environ", "request", "req",
        "app", "ctx", "context", "args", "kwargs", "options", "opts", "params", "process", "secrets", "vault",
    )
)  # fmt: skip
_SNAKE_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_CAPS_RE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
_ENDS = frozenset(" \t\r\n),;]}:'\"")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
# the rest of an annotation ("| None", "| dict[str, str]") up to the "=" of its default
_DEFAULT_RE = re.compile(r"(?:[ \t]*\|[ \t]*[\w.]+(?:\[[^\]\n]{0,80}\])?)*[ \t]*=(?!=)")
_STATE_CATEGORIES = frozenset(("auth", "session", "credential"))
_TEST_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+")


def _closes(text: str, pos: int) -> int:
    """Where the bracket at ``pos`` is closed on the same line (after the closer), or -1."""
    stack: list[str] = []
    quote = ""
    for i in range(pos, min(len(text), pos + 300)):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in _PAIRS:
            stack.append(_PAIRS[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                return -1
            if not stack:
                return i + 1
        elif c == "\n":
            return -1
    return -1


def _attribute_chain(parts: list[str], key: str) -> bool:
    """``os.environ``, ``settings.STRIPE_API_KEY``, ``self.password``: names, not a dotted token."""
    if any(keyword.iskeyword(p) or high_entropy(p) for p in parts):
        return False  # "abc.def.ghi", "eyJ...": a dotted token
    if parts[0].lower() in _ROOTS:
        return True
    own = key_tokens(key)[-1:]
    if own and key_tokens(parts[-1])[-1:] == own:
        return True
    return any(_SNAKE_RE.fullmatch(p) or (len(p) > 1 and _CAPS_RE.fullmatch(p)) for p in parts)


def code_value(text: str, start: int, key: str, op: str, quoted: bool = False) -> int:
    """Where the code or reference at ``start`` (after ``key`` and its operator ``op``) ends, or -1.

    A call or subscript (``get_token(user)``, ``os.environ['X']``, ``Optional[str]``), an
    attribute chain, the key's own name (``password=password``), a type annotation after ``:``,
    or a template/shell reference (the only one of these a ``quoted`` value can be). A chain
    glued to more characters (``Tr0ub4dor&3``) is a literal.
    """
    ref = _REFERENCE_RE.match(text, start)
    if ref is not None and (not quoted or text[ref.end() : ref.end() + 1] in "'\""):
        return ref.end()
    m = _CHAIN_RE.match(text, start)
    if m is None or quoted:  # a quoted call or name is a string literal
        return -1
    end = m.end()
    parts = m.group().lstrip("$").split(".")
    nxt = text[end : end + 1]
    if nxt in ("(", "["):
        close = _closes(text, end)
        after = text[close : close + 1]
        code = close > 0 and not (after.isalnum() or after in ("_", "$")) and not any(map(high_entropy, parts))
        return close if code else -1
    if nxt and nxt not in _ENDS:
        return -1
    if len(parts) > 1:
        return end if _attribute_chain(parts, key) else -1
    name = parts[0]
    return end if name == key or (op == ":" and name.lower() in _TYPE_NAMES) else -1


def annotation_default(text: str, end: int) -> int:
    """Where the ``=`` of an annotation's default is (``password: str | None = "x"``), or -1."""
    m = _DEFAULT_RE.match(text, end)
    return m.end() - 1 if m is not None else -1


def harmless_word(value: str, key: str, category: str, op: str = ":") -> bool:
    """A state word (``auth: required``, ``token: EOF``) or a test count (``pass=120``), not a secret.

    Only for names that are not password fields: a password may well be a word
    (``password: sunshine``). The bare name ``pass`` is also a test result, so it needs a
    password-like value, and a test name (``PASS: test_login``) is not one. A word is a state
    only in prose (``token: EOF``); assigned (``?token=abc``), it is the value.
    """
    if key_tokens(key) == ("pass",):
        return not password_like(value) or _TEST_NAME_RE.fullmatch(value) is not None
    if op != ":" or category not in _STATE_CATEGORIES or not value.isalpha() or len(value) > 24:
        return False
    return len(value) <= 4 or word_built(value)


# A value that carries on past a separator: "password = s3cr3t,Tr0ub4dor" or "PW=abc;def" (no
# "name=" after the separator, so it is not the next field)
_CONTINUES_RE = re.compile(r"[,;<>][^\s,;<>()\"'=:\x00]+(?=[\s,;<>)\"'\x00]|$)")
_BLOCK_RE = re.compile(r"[ \t]*[|>][-+]?[ \t]*\r?\n(?P<indent>[ \t]+)(?P<v>[^\s\x00][^\n\x00]*)")
_BRACED_RE = re.compile(r"\{(?P<v>[^{}:\"'\s\x00]{1,256})\}(?=[;\s\x00]|$)")
_PAIR_TUPLE_RE = re.compile(
    r"[(\[][ \t]*(?P<o>[\"'])[^\"'\n\x00]{0,256}(?P=o)[ \t]*,[ \t]*"
    r"(?P<q>[\"'])(?P<v>[^\"'\n\x00]{1,256})(?P=q)[ \t]*[)\]]"
)


def value_extent(text: str, start: int, end: int, key_start: int, op: str) -> tuple[int, int] | None:
    """Where an unquoted value found at ``[start, end)`` really ends (or starts), for the shapes
    whose first separator is not the value's end; None when it is not a value at all.

    * ``{Tr0ub;4dor}`` (ODBC's braced values) is the text inside the braces;
    * ``s3cr3t,Tr0ub4dor`` carries on over ``,;<>`` while no ``name=`` follows;
    * ``Password=Blue Sky Rain 42!;`` in a ``;``-separated connection string runs to the ``;``;
    """
    if text.startswith("{", start) and not text.startswith("{{", start):
        m = _BRACED_RE.match(text, start)
        return (m.start("v"), m.end("v")) if m is not None else None
    while True:
        m = _CONTINUES_RE.match(text, end)
        if m is None:
            break
        end = m.end()
    if op == "=" and text.startswith(" ", end) and key_start > 0 and text[key_start - 1] in ";":
        semi = text.find(";", end, end + 128)
        nl = text.find("\n", end, semi) if semi > 0 else -1
        if semi > 0 and nl < 0 and "=" not in text[end:semi]:
            end = semi
    return start, end


def pair_value(text: str, start: int) -> tuple[int, int] | None:
    """The second element of a ``('user', 'password')`` pair assigned to a credential name
    (``auth=('api', 'x')`` in requests calls); None when the value is not such a pair."""
    m = _PAIR_TUPLE_RE.match(text, start)
    return (m.start("v"), m.end("v")) if m is not None else None


def block_scalar(text: str, colon: int) -> tuple[int, int] | None:
    """A YAML block scalar after ``name:`` (``password: >-`` or ``|``, then an indented line): that line."""
    m = _BLOCK_RE.match(text, colon + 1)
    if m is None:
        return None
    return m.start("v"), m.end("v") - (len(m.group("v")) - len(m.group("v").rstrip()))
