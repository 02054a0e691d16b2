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
from typing import Any, Callable, Iterator, Tuple

from scrubbers.actions import FILTERED, is_placeholder
from scrubbers.rules import KeyRule, Rule
from scrubbers.text import TextScrubber

__all__ = ["Placeholder", "placeholders", "scrub_arguments"]

_PLACEHOLDER_RE = re.compile(
    r"%(?:\((?P<name>[^)]{0,100})\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
# the word a placeholder follows: "password %s", "token=%s", "Authorization: Bearer %s", "api_key: '%s'"
_LAST_WORD_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)[\"']?[ \t]*(?:[:=][ \t]*|[ \t]*)[\"'(<\[]?$")
_CONTEXT_CHARS = 48

Placeholder = Tuple[int, int, "str | None"]
"""``(start, end, name)`` of one ``%`` placeholder in a template (``name`` for ``%(name)s``)."""

Whole = Callable[[Rule, Any, Any, Any], bool]
Remark = Callable[[Any, str, list[list[Any]], "int | None"], None]


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
    for slot, ph in _slots(params, phs):
        prev_end = ends[ph]
        context = template[max(prev_end, ph[0] - _CONTEXT_CHARS) : ph[0]]
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


def _reformat(template: str, phs: list[Placeholder], formatted: str, params: Any, changed: list[Any]) -> str:
    """Put each changed argument's new text where the old one was rendered in ``formatted``."""
    pattern = []
    last = 0
    for start, end, _ in phs:
        pattern.append(re.escape(template[last:start].replace("%%", "%")))
        pattern.append("(.*?)")
        last = end
    pattern.append(re.escape(template[last:].replace("%%", "%")))
    m = re.fullmatch("".join(pattern), formatted, re.S)
    slots = {slot: (old, new) for slot, old, new in changed}
    if m is not None:
        out = []
        pos = 0
        order = list(_slots(params, phs))
        by_ph = {ph: slot for slot, ph in order}
        for gi, ph in enumerate(phs, start=1):
            slot = by_ph.get(ph)
            if slot is None or slot not in slots:
                continue
            old, new = slots[slot]
            s, e = m.span(gi)
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
