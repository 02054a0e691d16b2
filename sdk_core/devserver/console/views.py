"""The event list's rows, the summary strip and the page shell every console page shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.console.markup import Html, el, join
from sdk_core.devserver.console.remarks import remarks_of
from sdk_core.devserver.console.text import byte_size, dict_of, int_of, level_class, list_of, local_time, str_of
from sdk_core.devserver.summaries import one_line, summarize

__all__ = ["list_fields", "matches", "page", "row_html", "summary_fields", "summary_html"]


def list_fields(row: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """What one line of the event list shows (plain strings and ints: JSON for the JS, text for HTML)."""
    payload = dict_of(payload)
    summary = summarize(payload)
    server = row.get("server_redactions")
    server_count = sum(v for v in server.values() if int_of(v) is not None) if isinstance(server, dict) else 0
    level = str_of(row.get("level")) or "error"
    return {
        "id": int(row["id"]),
        "event_id": str_of(row.get("event_id")),
        "level": level,
        "level_class": level_class(level),
        "type": one_line(summary.type, 120),
        "value": one_line(summary.value, 300),
        "location": one_line(summary.location, 160),
        "transaction": one_line(payload.get("transaction"), 160),
        "release": one_line(payload.get("release"), 120),
        "environment": one_line(payload.get("environment"), 80),
        "received": local_time(row.get("received_at")),
        "received_at": str_of(row.get("received_at")),
        "redactions": len(remarks_of(payload.get("_meta"))),
        "server_redactions": server_count,
        "href": f"/event/{int(row['id'])}",
    }


def matches(fields: Mapping[str, Any], needle: str) -> bool:
    """Whether a list row contains ``needle`` (casefolded) in any of the fields the list shows."""
    if not needle:
        return True
    keys = ("type", "value", "location", "transaction", "release", "environment", "event_id", "level")
    return any(needle in str(fields[k]).casefold() for k in keys)


def row_html(f: Mapping[str, Any]) -> Html:
    """One ``<tr>`` of the list; ``console.js`` builds the same shape for rows that arrive live."""
    title = [el("span", f["type"], class_="etype") if f["type"] else None, el("span", f["value"], class_="evalue")]
    redactions = f["redactions"]
    red_title = f"{redactions} remark(s) in _meta"
    if f["server_redactions"]:
        red_title += f"; the receiver's second layer redacted {f['server_redactions']}"
    return el(
        "tr",
        el("td", el("span", f["level"], class_=f"lvl {f['level_class']}")),
        el(
            "td",
            el("a", title, href=f["href"], class_="title"),
            el("div", f["location"], class_="where") if f["location"] else None,
            class_="event",
        ),
        el("td", f["transaction"], class_="mono"),
        el("td", f["release"], class_="mono"),
        el("td", f["environment"]),
        el("td", el("time", f["received"], datetime=f["received_at"]), class_="time"),
        el("td", str(redactions), class_="num" + (" has-red" if redactions else ""), title=red_title),
        class_="ev",
        data_id=str(f["id"]),
    )


# -- the summary strip and the page shell -------------------------------------------------------------------------


def summary_fields(overview: Mapping[str, Any]) -> dict[str, Any]:
    """The summary strip's numbers (events, client-report drops, bytes, refusals) from the store overview."""
    stats = dict_of(overview.get("stats"))
    dropped: dict[str, dict[str, int]] = {}
    for report in list_of(overview.get("client_reports")):
        reason, category, quantity = str(report["reason"]), str(report["category"]), int(report["quantity"])
        dropped.setdefault(reason, {})[category] = dropped.get(reason, {}).get(category, 0) + quantity
    refused: dict[str, int] = {}
    for key, value in stats.items():
        status = key[len("status_") :] if key.startswith("status_") else ""
        if status.isdigit() and int(status) >= 400 and int_of(value) is not None:
            refused[status] = int(value)
    byte_count = int_of(stats.get("bytes_received")) or 0
    return {
        "events": int(overview.get("events", 0)),
        "last_id": int(overview.get("last_id", 0)),
        "bytes": byte_count,
        "bytes_text": byte_size(byte_count),
        "dropped": [
            {
                "reason": one_line(reason, 64),
                "quantity": sum(categories.values()),
                "categories": ", ".join(f"{one_line(c, 64)} {q}" for c, q in sorted(categories.items())),
            }
            for reason, categories in sorted(dropped.items())
        ],
        "dropped_total": sum(sum(c.values()) for c in dropped.values()),
        "refused": sum(refused.values()),
        "refused_text": ", ".join(f"{status}\u00d7{n}" for status, n in sorted(refused.items())),
    }


def summary_html(s: Mapping[str, Any], *, live: bool) -> Html:
    """The summary strip in the page header; ``console.js`` refreshes it from ``/poll``."""
    if s["dropped"]:
        dropped: Any = [
            el("span", f"{d['reason']} {d['quantity']}", class_="drop", title=d["categories"]) for d in s["dropped"]
        ]
    else:
        dropped = "none"
    return el(
        "dl",
        el("div", el("dt", "Events received"), el("dd", str(s["events"]), id="sum-events")),
        el(
            "div",
            el("dt", "Dropped by the SDK (client reports)"),
            el("dd", dropped, id="sum-dropped", title=f"{s['dropped_total']} in total"),
        ),
        el("div", el("dt", "Bytes received"), el("dd", s["bytes_text"], id="sum-bytes", title=f"{s['bytes']} bytes")),
        el(
            "div",
            el("dt", "Requests refused"),
            el("dd", str(s["refused"]), id="sum-refused", title=s["refused_text"] or "none"),
            title="ingest requests answered with an error (wrong key, malformed, too large), by status",
        ),
        el("div", el("dt", "Updates"), el("dd", "live", id="live", class_="live")) if live else None,
        class_="strip",
        id="summary",
    )


_NAV = (
    ("Events", "/"),
    ("Traces", "/traces"),
    ("Logs", "/logs"),
    ("Monitors", "/monitors"),
    ("Releases", "/releases"),
)


def page(title: str, body: Any, *, body_class: str, summary: Mapping[str, Any], live: bool = False) -> bytes:
    """A whole HTML page: head with the static CSS/JS (no inline script or style), header, ``body``."""
    doc = join(
        Html("<!doctype html>\n"),
        el(
            "html",
            el(
                "head",
                Html('<meta charset="utf-8">'),
                Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
                Html('<meta name="referrer" content="no-referrer">'),
                el("title", title),
                el("link", rel="stylesheet", href="/static/console.css"),
                el("link", rel="icon", href="/static/favicon.svg", type="image/svg+xml"),
                el("script", src="/static/console.js", defer=True),
            ),
            el(
                "body",
                el(
                    "header",
                    el("a", el("span", "CodeRadar", class_="brand-name"), " local receiver", href="/", class_="brand"),
                    el(
                        "nav",
                        [el("a", name, href=href) for name, href in _NAV],
                        class_="sections",
                        id="sections",
                    ),
                    summary_html(summary, live=live),
                    class_="top",
                ),
                el("main", body),
                el(
                    "footer",
                    "Loopback only. The DSN key is write-only: it reads nothing, here or on the API. "
                    "Events are shown as stored, after the SDK's scrubbing and the receiver's second layer.",
                ),
                class_=body_class,
            ),
            lang="en",
        ),
    )
    return doc.encode("utf-8", "backslashreplace")


def filter_form(
    action: str, levels: Any, level: str | None, text: str, placeholder: str, *, hidden: Mapping[str, str] | None = None
) -> Html:
    """The level + text filter form of a list page (events, logs); ``clear`` shows while a filter is on."""
    extra = [el("input", type="hidden", name=k, value=v) for k, v in (hidden or {}).items() if v]
    return el(
        "form",
        el(
            "label",
            "Level ",
            el(
                "select",
                el("option", "all levels", value=""),
                [el("option", lv, value=lv, selected=lv == level) for lv in levels],
                name="level",
                id="f-level",
            ),
        ),
        el(
            "label",
            "Text ",
            el("input", type="search", name="q", id="f-q", value=text, maxlength="200", placeholder=placeholder),
        ),
        extra or None,
        el("button", "Filter", type="submit"),
        el("a", "clear", href=action, class_="clear") if (level or text or extra) else None,
        method="get",
        action=action,
        class_="filters",
        id="filters",
    )
