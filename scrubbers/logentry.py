"""Log messages with arguments: scrub each argument with the context its placeholder has.

``log.error("login failed with password %s", pw)`` reaches the event as a template, the
arguments and the formatted text. The argument alone (``"hunter2"``) looks harmless; its
placeholder's context (``password %s``, ``token=%s``, ``Bearer %s``, ``%(password)s``) does not.
So each argument is judged by the name of its placeholder and the words just before it, the
template is never rewritten, and the formatted text gets exactly the same replacement where
the argument was rendered, so template, arguments and formatted text stay consistent.
"""

from __future__ import annotations

import re
from itertools import repeat
from operator import contains
from typing import Any, Callable, Iterator, Protocol, Tuple

from scrubbers.actions import FILTERED, is_placeholder
from scrubbers.chain import Chain
from scrubbers.rules import KeyRule, Rule
from scrubbers.text import TextScrubber

__all__ = ["LogWalk", "Placeholder", "log_entries", "match_log_arguments", "placeholders", "scrub_arguments"]

_PLACEHOLDER_RE = re.compile(
    r"%(?:\((?P<name>[^)]{0,100})\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
# the word a placeholder follows: "password %s", "token=%s", "Authorization: Bearer %s", "api_key: '%s'"
_LAST_WORD_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)[\"']?[ \t]*(?:[:=][ \t]*|[ \t]*)[\"'(<\[]?$")
_CONTEXT_CHARS = 48
_NO_DATA: dict[str, Any] = {}

Placeholder = Tuple[int, int, "str | None"]
"""``(start, end, name)`` of one ``%`` placeholder in a template (``name`` for ``%(name)s``)."""

Whole = Callable[[Rule, Any, Any, Any], bool]
Remark = Callable[[Any, str, list[list[Any]], "int | None"], None]


class LogWalk(Protocol):
    """What the log-argument step needs from the walk it runs in."""

    classify: Callable[[str], object]
    text: TextScrubber
    counts: dict[str, int]
    remarks: list[Any]
    logs: list[Any]

    def whole(self, rule: Rule, container: Any, key: Any, value: Any, chain: Chain) -> bool:
        """Apply ``rule`` to a whole value; True when the dict entry must be removed."""


def placeholders(template: str) -> list[Placeholder]:
    """The ``%`` placeholders of a logging template, in order; ``%%`` is skipped."""
    out: list[Placeholder] = []
    if "%" not in template:
        return out
    for m in _PLACEHOLDER_RE.finditer(template):
        if m.group("conv") != "%":
            out.append((m.start(), m.end(), m.group("name")))
    return out


def _context_rule(classify: Callable[[str], object], context: str, name: str | None) -> KeyRule | None:
    if name:
        cls = classify(name)
        if isinstance(cls, KeyRule):
            return cls
    m = _LAST_WORD_RE.search(context)
    if m is not None:
        cls = classify(m.group(1))
        if isinstance(cls, KeyRule):
            return cls
    return None


def _slots(params: Any, phs: list[Placeholder]) -> Iterator[tuple[Any, Placeholder]]:
    if isinstance(params, dict):
        for ph in phs:
            if ph[2] is not None and ph[2] in params:
                yield ph[2], ph
    elif isinstance(params, list):
        positional = [ph for ph in phs if ph[2] is None]
        for i, ph in enumerate(positional[: len(params)]):
            yield i, ph


def scrub_arguments(
    template: str,
    params: Any,
    formatted: Any,
    classify: Callable[[str], object],
    text: TextScrubber,
    counts: dict[str, int],
    whole: Whole,
    remark: Remark,
) -> Any:
    """Scrub ``params`` in place by their placeholders' context; return the new formatted text.

    ``whole(rule, container, key, value)`` applies a key rule to one argument (and records the
    remark); ``remark(key, rule_id, remarks, length)`` records a partial change of an argument.
    Arguments without a telling context are scanned with the words before their placeholder
    in front, so context rules (``retrying with key %s``) see them as they read in the message.
    ``formatted`` is returned unchanged when no argument changed.
    """
    phs = placeholders(template)
    if not phs:
        return formatted
    changed: list[tuple[Any, Any, Any]] = []  # (slot, old value, new value)
    ends = {ph: (phs[i - 1][1] if i else 0) for i, ph in enumerate(phs)}
    # where each argument was rendered: the words before it are then read as the message shows
    # them, earlier arguments included ("%s=%s" % ("DB_PASSWORD", pw))
    spans = _rendered_spans(template, phs, formatted) if isinstance(formatted, str) else None
    at = dict(zip(phs, spans)) if spans is not None else {}
    for slot, ph in _slots(params, phs):
        if ph in at:
            start = at[ph][0]
            context = formatted[max(0, start - _CONTEXT_CHARS) : start]
        else:
            context = template[max(ends[ph], ph[0] - _CONTEXT_CHARS) : ph[0]]
        if ph[2]:  # "%(key)s": the argument's own name is context too
            context = f"{context} {ph[2]}="
        value = params[slot]
        if (
            value is None
            or isinstance(value, bool)
            or (isinstance(value, str) and (not value or is_placeholder(value)))
        ):
            continue
        rule = _context_rule(classify, context, ph[2])
        if rule is not None:
            if whole(rule, params, slot, value):  # Action.REMOVE on a dict: drop the argument
                params.pop(slot, None)
                changed.append((slot, value, ""))
            elif params[slot] is not value:
                changed.append((slot, value, params[slot]))
            continue
        if not isinstance(value, str):
            continue
        joined = context + value
        cut = len(context)
        hits = [(max(a, cut) - cut, b - cut, prio, r) for a, b, prio, r in text.scan(joined) if b > cut]
        if hits:
            new, rem = text.rewrite(value, hits, counts)
            if new != value:
                params[slot] = new
                remark(slot, "", rem, len(value))
                changed.append((slot, value, new))
    if not changed or not isinstance(formatted, str):
        return formatted
    return _reformat(template, phs, formatted, params, changed)


def _rendered_spans(template: str, phs: list[Placeholder], formatted: str) -> list[tuple[int, int]] | None:
    """Where each placeholder's argument sits in ``formatted``; None when it does not follow the template."""
    if len(formatted) > 20_000:  # a huge message: not worth a backtracking match
        return None
    pattern = []
    last = 0
    for start, end, _ in phs:
        pattern.append(re.escape(template[last:start].replace("%%", "%")))
        pattern.append("(.*?)")
        last = end
    pattern.append(re.escape(template[last:].replace("%%", "%")))
    try:
        m = re.fullmatch("".join(pattern), formatted, re.S)
    except (re.error, RecursionError):
        return None
    return None if m is None else [m.span(i) for i in range(1, len(phs) + 1)]


def _reformat(template: str, phs: list[Placeholder], formatted: str, params: Any, changed: list[Any]) -> str:
    """Put each changed argument's new text where the old one was rendered in ``formatted``."""
    spans = _rendered_spans(template, phs, formatted)
    slots = {slot: (old, new) for slot, old, new in changed}
    if spans is not None:
        out = []
        pos = 0
        order = list(_slots(params, phs))
        by_ph = {ph: slot for slot, ph in order}
        for ph, (s, e) in zip(phs, spans):
            slot = by_ph.get(ph)
            if slot is None or slot not in slots:
                continue
            old, new = slots[slot]
            rendered = formatted[s:e]
            out.append(formatted[pos:s])
            out.append(_rendered_replacement(rendered, old, new))
            pos = e
        out.append(formatted[pos:])
        return "".join(out)
    # the formatted text was cut short or rendered differently: replace the old values verbatim
    for _, old, new in changed:
        for form in {str(old), repr(old)}:
            if form and form in formatted:
                formatted = formatted.replace(form, _rendered_replacement(form, old, new))
    return formatted


def _rendered_replacement(rendered: str, old: Any, new: Any) -> str:
    if isinstance(new, str) and isinstance(old, str) and rendered == old:
        return new
    if isinstance(new, str) and is_placeholder(new):
        return new
    return FILTERED


def log_entries(walk: LogWalk, event: dict[Any, Any]) -> None:
    """Judge log arguments by their placeholders, in ``logentry`` and in log breadcrumbs.

    A breadcrumb made from a log record carries its template and arguments in
    ``data.logentry``; its ``message`` is the formatted text.
    """
    entry = event.get("logentry")
    if type(entry) is dict:
        _log_entry(walk, entry, entry, "formatted", (None, "logentry"), (None, "logentry"))
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if type(crumbs) is dict else crumbs
    if type(values) is not list:
        return
    try:
        # most trails hold no log record: find that out in C, without a Python step per crumb
        datas = map(dict.get, values, repeat("data"), repeat(_NO_DATA))
        if not any(map(contains, datas, repeat("logentry"))):
            return
    except TypeError:  # a crumb or its data of another type: the careful loop below
        pass
    base: Chain = ((None, "breadcrumbs"), "values") if type(crumbs) is dict else (None, "breadcrumbs")
    for i, crumb in enumerate(values):
        if type(crumb) is dict:
            data = crumb.get("data")
            if type(data) is dict and type(data.get("logentry")) is dict:
                here: Chain = (base, i)
                _log_entry(walk, data["logentry"], crumb, "message", (((here, "data"), "logentry")), here)


def _log_entry(
    walk: LogWalk, entry: dict[Any, Any], holder: dict[Any, Any], fkey: str, chain: Chain, hchain: Chain
) -> None:
    """Scrub one logentry's params by their placeholders' context, and its formatted text to match."""
    template = entry.get("message")
    params = entry.get("params")
    if type(params) is tuple:
        params = entry["params"] = list(params)
    if type(template) is not str or not params or type(params) not in (list, dict):
        return
    pchain: Chain = (chain, "params")

    def whole(rule: Rule, container: Any, key: Any, value: Any) -> bool:
        return walk.whole(rule, container, key, value, pchain)

    def remark(key: Any, _: str, rem: list[list[Any]], length: int | None) -> None:
        walk.remarks.append((pchain, key, rem, length))

    formatted = holder.get(fkey)
    new = scrub_arguments(template, params, formatted, walk.classify, walk.text, walk.counts, whole, remark)
    if new is not formatted and new != formatted and isinstance(formatted, str):
        holder[fkey] = new
        walk.remarks.append((hchain, fkey, [["log-argument", "s"]], len(formatted)))
    if isinstance(new, str):
        slots = params.items() if type(params) is dict else enumerate(params)
        args = [(k, v) for k, v in slots if type(v) is str and len(v) >= 4 and not is_placeholder(v)]
        if args:
            walk.logs.append((params, args, holder, fkey, new, pchain))


def match_log_arguments(walk: LogWalk) -> None:
    """After the scan: an argument whose rendering was redacted in the formatted text is
    redacted too (the words that gave it away may be anywhere in the message)."""
    for params, args, holder, fkey, before, pchain in walk.logs:
        after = holder.get(fkey)
        if after is before or not isinstance(after, str):
            continue
        for slot, value in args:
            if (params[slot] if type(params) is list else params.get(slot)) is not value:
                continue  # already changed by its own scan
            if after.count(value) < before.count(value):
                params[slot] = FILTERED
                walk.counts["log-argument"] = walk.counts.get("log-argument", 0) + 1
                walk.remarks.append((pchain, slot, [["log-argument", "s"]], len(value)))
