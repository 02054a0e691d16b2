"""``python -m scrubbers``: preview what the default rules would redact, list the rules.

    python -m scrubbers preview EVENT.json [--send-default-pii] [--allow-key NAME ...]
    python -m scrubbers rules            # the rule table (Markdown), as in scrubbers/RULES.md

``preview`` prints one line per redaction (path, rule id, action), never the value, then the
scrubbed event as JSON. Use ``-`` to read the event from standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Iterator, Sequence

import scrubbers
from scrubbers.rules import FunctionRule, KeyRule, PathRule, PatternRule, Rule

_ACTION_WORD = {"s": "filtered", "m": "masked", "p": "hashed", "x": "removed"}


def _remarks(meta: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    if not isinstance(meta, dict):
        return
    for key, child in meta.items():
        if key == "":
            for rem in child.get("rem", []) if isinstance(child, dict) else []:
                yield path, rem
        else:
            yield from _remarks(child, (*path, str(key)))


def _fmt_path(path: Sequence[str]) -> str:
    return ".".join(path) if path else "(root)"


def preview(event: Any, rules: Sequence[Rule], send_default_pii: bool, allow_keys: Sequence[str]) -> str:
    """Return the preview text for one event."""
    if not isinstance(event, dict):
        raise ValueError("the JSON document must be an object (a Sentry event)")
    before = event.get("_meta")
    engine = scrubbers.compile_rules(rules, allow_keys=allow_keys, send_default_pii=send_default_pii)
    clean = scrubbers.scrub_event(event, engine.rules, allow_keys=allow_keys, send_default_pii=send_default_pii)
    lines = []
    old = {(p, json.dumps(r)) for p, r in _remarks(before)}
    found = [(p, r) for p, r in _remarks(clean.get("_meta")) if (p, json.dumps(r)) not in old]
    lines.append(f"{len(found)} redaction(s):")
    for path, rem in found:
        rule_id = rem[0] if rem else "?"
        kind = _ACTION_WORD.get(rem[1], str(rem[1])) if len(rem) > 1 else "?"
        where = f" chars {rem[2]}-{rem[3]} of the new value" if len(rem) >= 4 else ""
        lines.append(f"  {_fmt_path(path)}\t{rule_id}\t{kind}{where}")
    lines.append("")
    lines.append("Scrubbed event:")
    lines.append(json.dumps(clean, indent=2, ensure_ascii=False, default=repr))
    return "\n".join(lines)


def _what(rule: Rule) -> str:
    desc = getattr(rule, "description", "") or ""
    if isinstance(rule, KeyRule):
        names = ", ".join(f"`{n}`" for n in (*rule.names, *rule.exact))
        return f"{desc}. Field names ending in: {names}" if names else desc
    if isinstance(rule, PathRule):
        sel = rule.selector if isinstance(rule.selector, str) else ".".join(rule.selector)
        return f"{desc}. Selector `{sel}`"
    return desc


def rules_table(rules: Sequence[Rule]) -> str:
    """The Markdown table of ``rules`` (what ``scrubbers/RULES.md`` contains)."""
    kinds = {KeyRule: "key", PatternRule: "value", PathRule: "path", FunctionRule: "custom"}
    out = [
        "| # | rule id | kind | category | what it catches | action | with `send_default_pii=True` |",
        "|---:|---|---|---|---|---|---|",
    ]
    for i, rule in enumerate(rules, 1):
        what = _what(rule).replace("|", "\\|")
        pii = "kept (not scrubbed)" if rule.pii else "scrubbed"
        kind = kinds.get(type(rule), "?")
        out.append(f"| {i} | `{rule.id}` | {kind} | {rule.category} | {what} | {rule.action.value} | {pii} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scrubbers preview|rules``: what the default rules redact in an event file, or the rule table."""
    parser = argparse.ArgumentParser(prog="python -m scrubbers", description="Preview scrubbing; list rules.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preview", help="show what would be redacted in an event JSON file (values never shown)")
    p.add_argument("file", help="event JSON file, or - for standard input")
    p.add_argument("--send-default-pii", action="store_true", help="keep e-mail and IP addresses")
    p.add_argument("--allow-key", action="append", default=[], help="a field name never to touch (repeatable)")
    sub.add_parser("rules", help="print the default rule table as Markdown")
    args = parser.parse_args(argv)
    if args.command == "rules":
        sys.stdout.write(rules_table(scrubbers.DEFAULT))
        return 0
    try:
        if args.file == "-":
            event = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as fh:
                event = json.load(fh)
    except (OSError, ValueError) as exc:
        # the message of a JSON error can quote the input, so only its position is shown
        detail = f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        print(f"error: cannot read {args.file}: {type(exc).__name__} ({detail})", file=sys.stderr)
        return 2
    try:
        text = preview(event, scrubbers.DEFAULT, args.send_default_pii, args.allow_key)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
