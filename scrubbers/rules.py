"""Rule model: the four rule kinds, the Action enum and the composable RuleList.

Rules are frozen values with a stable kebab-case ``id``, a ``category`` and an ``action``.
They validate themselves on construction, so a misconfigured rule fails where it is written;
:func:`scrubbers.compile_rules` checks the list as a whole (types, duplicate ids).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, SupportsIndex, Tuple, Union, overload

__all__ = [
    "Action",
    "FunctionRule",
    "KeyRule",
    "PathRule",
    "PatternRule",
    "Rule",
    "RuleList",
    "rule",
]

PREFILTER_VIEWS = ("text", "lower", "shape", "token", "assignment")
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_GLOBAL_FLAGS_RE = re.compile(r"^\(\?([aiLmsux]+)\)")


class Action(enum.Enum):
    """What happens to a value (or the matched span of a string) that a rule catches.

    ``FILTER`` replaces it with ``"[Filtered]"``; ``MASK`` keeps a few trailing characters and
    stars the rest; ``HASH`` replaces it with a keyed HMAC-SHA256 pseudonym (needs ``hash_key``);
    ``REMOVE`` drops the key (or the span).
    """

    FILTER = "filter"
    MASK = "mask"
    HASH = "hash"
    REMOVE = "remove"

    # Members are singletons compared by identity, so identity hashing is consistent, and it
    # runs in C (Enum's own __hash__ is Python code, paid on every REMARK_CODE lookup).
    __hash__ = object.__hash__

    @classmethod
    def coerce(cls, value: object, rule_id: object) -> Action:
        """Accept an ``Action`` or its string value; anything else is a ``ValueError`` naming the rule."""
        if isinstance(value, Action):
            return value
        if isinstance(value, str):
            try:
                return cls(value.lower())
            except ValueError:
                pass
        choices = ", ".join(repr(a.value) for a in cls)
        raise ValueError(f"rule {rule_id!r}: unknown action {value!r}; expected an Action or one of {choices}")


def _check_common(rule: object, rule_id: object, category: object, action: object) -> Action:
    kind = type(rule).__name__
    if not isinstance(rule_id, str):
        raise TypeError(f"{kind}.id must be a str, got {type(rule_id).__name__}")
    if not _ID_RE.match(rule_id):
        raise ValueError(f"{kind}.id {rule_id!r} must be kebab-case (lowercase letters, digits and '-')")
    if not isinstance(category, str) or not category:
        raise TypeError(f"rule {rule_id!r}: category must be a non-empty str, got {category!r}")
    return Action.coerce(action, rule_id)


def _str_tuple(value: object, rule_id: str, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, frozenset, set)):
        raise TypeError(f"rule {rule_id!r}: {field_name} must be a tuple of str, got {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise TypeError(f"rule {rule_id!r}: {field_name} must contain non-empty str, got {item!r}")
    return items


@dataclass(frozen=True)
class KeyRule:
    """Sensitive field names, wherever they appear as a dict key (or as ``name=value`` in text).

    Names are compared after normalisation (``X-Api-Key``, ``x_api_key`` and ``xApiKey`` all become
    the tokens ``x api key``). A key matches ``names`` when one of its token suffixes, joined,
    equals a normalised name: ``db_password`` and ``newPassword2`` match ``password``, while
    ``password_attempts`` and ``reset_password_view`` do not. ``exact`` names must equal the whole
    normalised key. Names of 5+ characters also match glued onto a longer word (``AUTHTOKEN``,
    ``webhooksecret``). The whole value under a matching key is replaced, whatever its type.
    With ``in_text`` the same names are looked for in free text as ``name=value``,
    ``name: value`` or ``"name": "value"``, and only the value is replaced.
    ``pii`` rules are skipped when ``send_default_pii=True``.
    """

    id: str
    names: Tuple[str, ...] = ()
    category: str = "credential"
    action: Action = Action.FILTER
    exact: Tuple[str, ...] = ()
    pii: bool = False
    in_text: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _check_common(self, self.id, self.category, self.action))
        object.__setattr__(self, "names", _str_tuple(self.names, self.id, "names"))
        object.__setattr__(self, "exact", _str_tuple(self.exact, self.id, "exact"))
        if not self.names and not self.exact:
            raise ValueError(f"rule {self.id!r}: a KeyRule needs at least one name in names or exact")


@dataclass(frozen=True)
class PatternRule:
    """A value pattern found inside any string; only the matched span is replaced.

    If the pattern has a named group ``secret`` (or ``secret2``..``secret9`` for alternatives),
    only that group's span is replaced (``Bearer [Filtered]``); otherwise the whole match is.
    ``validator`` receives the whole matched text and returns ``True`` to confirm the match
    (Luhn for cards, mod-97 for IBAN, ...); a rejected match is skipped.
    Patterns must not use numbered back-references (they are combined into one alternation).

    Speed (optional): a rule without ``prefilter`` is searched over all text. With one, the
    ``prefilter`` regex (best: starting with a literal, which ``re`` finds fast) is run over a
    *view* of the text, and ``pattern`` is only tried from ``window[0]`` characters before to
    ``window[1]`` characters after each prefilter hit. Views: ``"text"`` (as is), ``"lower"``
    (lower-cased), ``"shape"`` (digits -> ``0``, A-Z -> ``A``, a-z -> ``a``, space and ``-`` ->
    ``-``), ``"token"`` (``[A-Za-z0-9_.-]`` -> ``a``), and ``"assignment"``: ``prefilter`` is a
    ``|``-separated list of words a field name ends with, and ``pattern`` is tried where such a
    name starts in ``name = value`` / ``name: value`` text. ``window=(0, 0)`` means a match
    starts exactly where its prefilter hit starts. ``back`` (with a prefilter) is a regex matched
    on the *reversed* text just before each prefilter hit; the rule's pattern is then tried
    exactly that many characters earlier (an e-mail's local part before ``@``). ``anchored=True``
    says a match always starts where a prefilter hit starts (the prefilter finds the pattern's
    first word); the pattern is then tried there only, however far the match runs, which is
    much cheaper than searching a window.
    """

    id: str
    pattern: str
    category: str = "pii"
    action: Action = Action.FILTER
    validator: Union[Callable[[str], bool], None] = None
    flags: int = 0
    pii: bool = False
    description: str = ""
    prefilter: Union[str, None] = None
    prefilter_view: str = "text"
    window: Tuple[int, int] = (256, 256)
    back: Union[str, None] = None
    anchored: bool = False
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _check_common(self, self.id, self.category, self.action))
        if not isinstance(self.pattern, str) or not self.pattern:
            raise TypeError(f"rule {self.id!r}: pattern must be a non-empty str, got {self.pattern!r}")
        if not isinstance(self.flags, int):
            raise TypeError(f"rule {self.id!r}: flags must be an int (re flags), got {self.flags!r}")
        if self.validator is not None and not callable(self.validator):
            raise TypeError(f"rule {self.id!r}: validator must be callable(str) -> bool or None")
        pattern, flags = self.pattern, self.flags
        lead = _GLOBAL_FLAGS_RE.match(pattern)
        if lead:
            pattern = pattern[lead.end() :]
            for ch in lead.group(1):
                flags |= {"a": re.A, "i": re.I, "L": re.L, "m": re.M, "s": re.S, "u": re.U, "x": re.X}[ch]
        try:
            compiled = re.compile(pattern, flags)
        except re.error as exc:
            raise ValueError(f"rule {self.id!r}: invalid regular expression {self.pattern!r}: {exc}") from None
        if compiled.groups and re.search(r"\\[1-9]", pattern):
            raise ValueError(f"rule {self.id!r}: numbered back-references are not supported; use (?P=name)")
        if compiled.match(""):
            raise ValueError(f"rule {self.id!r}: pattern {self.pattern!r} matches the empty string")
        object.__setattr__(self, "compiled", compiled)
        if self.prefilter_view not in PREFILTER_VIEWS:
            raise ValueError(
                f"rule {self.id!r}: prefilter_view {self.prefilter_view!r} is not one of {', '.join(PREFILTER_VIEWS)}"
            )
        if self.prefilter is not None:
            if not isinstance(self.prefilter, str) or not self.prefilter:
                raise TypeError(f"rule {self.id!r}: prefilter must be a non-empty str or None")
            if self.prefilter_view != "assignment":
                try:
                    if re.compile(self.prefilter).match(""):
                        raise ValueError(f"rule {self.id!r}: prefilter {self.prefilter!r} matches the empty string")
                except re.error as exc:
                    raise ValueError(f"rule {self.id!r}: invalid prefilter {self.prefilter!r}: {exc}") from None
        elif self.prefilter_view != "text":
            raise ValueError(f"rule {self.id!r}: prefilter_view {self.prefilter_view!r} needs a prefilter")
        if self.back is not None:
            if self.prefilter is None or not isinstance(self.back, str):
                raise TypeError(f"rule {self.id!r}: back must be a str regex and needs a prefilter")
            try:
                re.compile(self.back)
            except re.error as exc:
                raise ValueError(f"rule {self.id!r}: invalid back pattern {self.back!r}: {exc}") from None
        if not isinstance(self.anchored, bool) or (self.anchored and (self.prefilter is None or self.back is not None)):
            raise TypeError(f"rule {self.id!r}: anchored must be a bool, and needs a prefilter and no back pattern")
        w = self.window
        if not (isinstance(w, tuple) and len(w) == 2 and all(isinstance(x, int) and x >= 0 for x in w)):
            raise TypeError(f"rule {self.id!r}: window must be a (before, after) tuple of non-negative ints, got {w!r}")


@dataclass(frozen=True)
class PathRule:
    """Replace the whole value at every path matching ``selector``.

    A selector is a dotted path of keys: ``request.cookies.*``. ``*`` matches one key or list
    index, ``**`` any number of them (``**.vars.*`` is every frame local). Keys compare
    case-insensitively. A tuple of segments may be given instead of a dotted string, for keys
    that contain dots.
    """

    id: str
    selector: Union[str, Tuple[str, ...]]
    category: str = "credential"
    action: Action = Action.FILTER
    pii: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _check_common(self, self.id, self.category, self.action))
        if isinstance(self.selector, str):
            segs = tuple(self.selector.split("."))
        else:
            segs = _str_tuple(self.selector, self.id, "selector")
        if not segs or any(not s for s in segs):
            raise ValueError(f"rule {self.id!r}: selector {self.selector!r} has an empty segment")
        if all(s == "**" for s in segs):
            raise ValueError(f"rule {self.id!r}: selector {self.selector!r} would match the whole event")

    @property
    def segments(self) -> tuple[str, ...]:
        """The selector split into lower-cased segments."""
        segs = self.selector.split(".") if isinstance(self.selector, str) else self.selector
        return tuple(s.lower() for s in segs)


Path = Tuple[Union[str, int], ...]
"""A location in the event: keys and list indices from the root, e.g. ``("request", "headers", "Cookie")``."""

CustomFunc = Callable[[Path, str], object]


@dataclass(frozen=True)
class FunctionRule:
    """A custom rule written as a plain function (or any callable object).

    ``func(path, value)`` is called for every string value in the event (not under an
    allow-listed key), with ``path`` the tuple of keys/indices from the event root. It returns:

    * ``None`` or ``False``: leave the value alone;
    * ``True``: apply this rule's ``action`` to the whole value;
    * a ``str``: use it as the new value (recorded as a substitution).

    Exceptions raised by ``func`` are swallowed and the value is filtered (fail closed).
    """

    id: str
    func: CustomFunc
    category: str = "custom"
    action: Action = Action.FILTER
    pii: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _check_common(self, self.id, self.category, self.action))
        if not callable(self.func):
            raise TypeError(f"rule {self.id!r}: func must be callable(path, value), got {self.func!r}")


Rule = Union[KeyRule, PatternRule, PathRule, FunctionRule]
RuleLike = Union[Rule, Callable[..., Any]]


def _kebab(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "custom"


@overload
def rule(
    func: CustomFunc,
    *,
    id: str | None = None,
    category: str = "custom",
    action: Action | str = Action.FILTER,
    pii: bool = False,
) -> FunctionRule: ...
@overload
def rule(
    func: None = None,
    *,
    id: str | None = None,
    category: str = "custom",
    action: Action | str = Action.FILTER,
    pii: bool = False,
) -> Callable[[CustomFunc], FunctionRule]: ...
def rule(
    func: CustomFunc | None = None,
    *,
    id: str | None = None,
    category: str = "custom",
    action: Action | str = Action.FILTER,
    pii: bool = False,
) -> FunctionRule | Callable[[CustomFunc], FunctionRule]:
    """Turn ``def f(path, value) -> str | bool | None`` (or a callable object) into a rule.

    Use as ``@scrubbers.rule``, ``@scrubbers.rule(id="employee-id")`` or
    ``scrubbers.rule(obj, id=...)``. Without ``id`` the function's name is kebab-cased
    (``employee_id`` -> ``employee-id``); a callable object's ``id`` attribute wins.
    See :class:`FunctionRule` for what the function returns.
    """

    def wrap(f: CustomFunc) -> FunctionRule:
        rid = id if id is not None else getattr(f, "id", None)
        if rid is None:
            rid = _kebab(getattr(f, "__name__", type(f).__name__))
        return FunctionRule(
            id=rid,
            func=f,
            category=getattr(f, "category", category) if id is None else category,
            action=Action.coerce(getattr(f, "action", action), rid),
            pii=pii,
        )

    if func is None:
        return wrap
    return wrap(func)


def as_rule(obj: object) -> Rule:
    """Return ``obj`` as a rule: rule instances pass through, callables become FunctionRules."""
    if isinstance(obj, (KeyRule, PatternRule, PathRule, FunctionRule)):
        return obj
    if callable(obj):
        return rule(obj)
    raise TypeError(
        f"expected a rule (KeyRule, PatternRule, PathRule, FunctionRule or a callable(path, value)), "
        f"got {type(obj).__name__}: {obj!r}"
    )


class RuleList(Tuple[Rule, ...]):
    """An ordered, immutable, inspectable list of rules (a tuple subclass).

    Compose it: ``DEFAULT.without("ip-address")``, ``DEFAULT.extend(my_rule)``,
    ``DEFAULT + [my_rule]``. Order matters: for a key or a span caught by two rules, the
    earlier rule wins.
    """

    def __new__(cls, rules: Iterable[RuleLike] = ()) -> RuleList:
        if isinstance(rules, (str, bytes)) or not isinstance(rules, Iterable):
            raise TypeError(f"rules must be an iterable of rules, got {type(rules).__name__}")
        return super().__new__(cls, (as_rule(r) for r in rules))

    @property
    def ids(self) -> tuple[str, ...]:
        """The rule ids, in order."""
        return tuple(r.id for r in self)

    def get(self, rule_id: str) -> Rule:
        """The rule with this id (``KeyError`` if there is none)."""
        for r in self:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def without(self, *rule_ids: str) -> RuleList:
        """A copy without the given rule ids; an unknown id is a ``ValueError``."""
        known = set(self.ids)
        unknown = [i for i in rule_ids if i not in known]
        if unknown:
            raise ValueError(f"unknown rule id(s) {unknown!r}; known ids: {', '.join(self.ids)}")
        drop = set(rule_ids)
        return RuleList(r for r in self if r.id not in drop)

    def extend(self, *rules: RuleLike) -> RuleList:
        """A copy with ``rules`` appended (they run after the existing ones)."""
        return RuleList((*self, *rules))

    def only(self, *categories: str) -> RuleList:
        """A copy keeping only the rules of the given categories."""
        return RuleList(r for r in self if r.category in categories)

    def __add__(self, other: Iterable[RuleLike]) -> RuleList:  # type: ignore[override]
        return RuleList((*self, *other))

    def __radd__(self, other: Iterable[RuleLike]) -> RuleList:
        return RuleList((*other, *self))

    @overload
    def __getitem__(self, index: SupportsIndex) -> Rule: ...
    @overload
    def __getitem__(self, index: slice) -> RuleList: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Rule | RuleList:
        if isinstance(index, slice):
            return RuleList(super().__getitem__(index))
        return super().__getitem__(index)

    def __repr__(self) -> str:
        return f"RuleList({', '.join(self.ids)})"
