"""Console pages for what is not an event: Logs, Monitors, Releases, one trace, and an event's attachments.

* ``/logs?level=&q=&trace=``: newest logs first, filtered by level, text (body, logger, attributes)
  and trace; each log links to its trace page.
* ``/trace/<trace id>``: the events, logs and check-ins that carry one trace id.
* ``/monitors``: each monitor slug's recent check-ins (status, duration); a run whose
  ``in_progress`` never got a final check-in, and ``missed``/``timeout``/``error`` ones, are highlighted.
* ``/releases``: session aggregates summed per release and environment, with the crash-free rate.
* ``/attachment/<row id>``: an attachment's bytes, always as a download (never rendered here).

Every value comes from the application and is escaped by :func:`markup.el`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.console.markup import Html, el, join
from sdk_core.devserver.console.text import byte_size, dict_of, list_of, local_time, str_of
from sdk_core.devserver.console.views import filter_form
from sdk_core.devserver.store import ReceiverStore

__all__ = ["attachments_section", "logs_body", "monitors_body", "releases_body", "trace_sections"]

LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace")
_PAGE = 200
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_ATTENTION = frozenset({"error", "missed", "timeout"})


def _attr(log: Mapping[str, Any], key: str) -> str:
    value = dict_of(dict_of(log.get("attributes")).get(key)).get("value")
    return "" if value is None else str(value)


def _log_class(level: str) -> str:
    return {"warn": "lvl-warning", "trace": "lvl-debug"}.get(level, f"lvl-{level}" if level in LOG_LEVELS else "")


def _log_matches(log: Mapping[str, Any], needle: str) -> bool:
    if not needle:
        return True
    texts = [str_of(log.get("body"))]
    texts.extend(str(dict_of(v).get("value")) for v in dict_of(log.get("attributes")).values())
    return any(needle in text.casefold() for text in texts)


def _trace_link(trace_id: str) -> Any:
    if not _TRACE_ID.match(trace_id):
        return el("span", trace_id, class_="mono")
    return el("a", trace_id[:8] + "\u2026", href=f"/trace/{trace_id}", class_="mono trace", title=trace_id)


def _log_rows(logs: list[dict[str, Any]]) -> Any:
    rows = []
    for row in logs:
        log = dict_of(row.get("payload"))
        level = str_of(log.get("level"))
        rows.append(
            el(
                "tr",
                el("td", el("span", level, class_=f"lvl {_log_class(level)}")),
                el("td", el("div", str_of(log.get("body")), class_="logbody"), class_="event"),
                el("td", _attr(log, "logger.name"), class_="mono"),
                el("td", _trace_link(str_of(log.get("trace_id")))),
                el(
                    "td",
                    el("time", local_time(row.get("received_at")), datetime=str_of(row.get("received_at"))),
                    class_="time",
                ),
                class_="log",
                data_id=str(row["id"]),
            )
        )
    return rows


def _log_table(logs: list[dict[str, Any]], empty: str) -> Html:
    head = el("tr", el("th", "Level"), el("th", "Message"), el("th", "Logger"), el("th", "Trace"), el("th", "Received"))
    body = _log_rows(logs) or el("tr", el("td", empty, colspan="5"), class_="empty")
    return el("table", el("thead", head), el("tbody", body), class_="events", id="logs")


def logs_body(store: ReceiverStore, query: Mapping[str, list[str]]) -> Html:
    """``/logs``: the level/text filter form and the newest matching logs."""
    level = (query.get("level") or [""])[0].strip()[:16]
    text = (query.get("q") or [""])[0].strip()[:200]
    trace = (query.get("trace") or [""])[0].strip().lower()[:32]
    needle = text.casefold()
    logs = store.items("log", limit=5000, newest_first=True, trace_id=trace or None)
    shown = [r for r in logs if (not level or dict_of(r["payload"]).get("level") == level)]
    shown = [r for r in shown if _log_matches(dict_of(r["payload"]), needle)][:_PAGE]
    form = filter_form(
        "/logs", LOG_LEVELS, level, text, "message, logger, attribute\u2026", hidden={"trace": trace}
    )
    empty = "No logs match." if (level or text or trace) else "No logs yet: init the SDK with enable_logs=True."
    return join(el("div", el("h1", "Logs"), form, class_="list-head"), _log_table(shown, empty))


def trace_sections(store: ReceiverStore, trace_id: str) -> Html:
    """The logs and check-ins of one trace, for the trace page (``/trace/<id>``) under its spans and errors."""
    logs = store.items("log", trace_id=trace_id, newest_first=True, limit=_PAGE)
    check_ins = store.items("check_in", trace_id=trace_id, newest_first=True, limit=_PAGE)
    return join(
        el("section", el("h2", f"Logs ({len(logs)})"), _log_table(logs, "No logs.")),
        el("section", el("h2", f"Check-ins ({len(check_ins)})"), _check_in_table(check_ins)),
    )


def _duration(check_in: Mapping[str, Any]) -> str:
    value = check_in.get("duration")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.1f} s"
    return ""


def _check_in_table(rows: list[dict[str, Any]], finals: set[str] | None = None) -> Html:
    out = []
    for row in rows:
        check_in = dict_of(row.get("payload"))
        status = str_of(check_in.get("status"))
        check_in_id = str_of(check_in.get("check_in_id"))
        unfinished = finals is not None and status == "in_progress" and check_in_id not in finals
        shown = "missed (no final check-in)" if unfinished else status
        attention = unfinished or status in _ATTENTION
        out.append(
            el(
                "tr",
                el("td", el("span", shown, class_=f"status status-{status}" + (" attention" if attention else ""))),
                el("td", _duration(check_in), class_="num"),
                el("td", check_in_id[:12], class_="mono", title=check_in_id),
                el(
                    "td",
                    el("time", local_time(row.get("received_at")), datetime=str_of(row.get("received_at"))),
                    class_="time",
                ),
                class_="checkin" + (" missed" if attention else ""),
            )
        )
    head = el("tr", el("th", "Status"), el("th", "Duration"), el("th", "Check-in id"), el("th", "Received"))
    body = out or el("tr", el("td", "No check-ins.", colspan="4"), class_="empty")
    return el("table", el("thead", head), el("tbody", body), class_="events checkins")


def monitors_body(store: ReceiverStore) -> Html:
    """``/monitors``: one block per slug, its recent check-ins newest first."""
    rows = store.items("check_in", limit=5000, newest_first=True)
    by_slug: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_slug.setdefault(str(row["label"]), []).append(row)
    blocks = []
    for slug in sorted(by_slug):
        recent = by_slug[slug][:50]
        finals = {
            str_of(dict_of(r["payload"]).get("check_in_id"))
            for r in by_slug[slug]
            if dict_of(r["payload"]).get("status") != "in_progress"
        }
        latest = dict_of(recent[0]["payload"])
        schedule = dict_of(dict_of(latest.get("monitor_config")).get("schedule"))
        when = " ".join(str(schedule.get(k)) for k in ("value", "unit") if schedule.get(k) is not None)
        blocks.append(
            el(
                "section",
                el(
                    "h2",
                    el("span", slug, class_="mono"),
                    " ",
                    el("span", f"{schedule.get('type')}: {when}", class_="muted") if schedule else None,
                ),
                _check_in_table(recent, finals),
                class_="monitor",
                data_slug=slug,
            )
        )
    if not blocks:
        blocks.append(el("p", "No check-ins yet: decorate a job with @sdk_core.monitor(\u2026).", class_="muted"))
    return join(el("div", el("h1", "Monitors"), class_="list-head"), blocks)


def releases_body(store: ReceiverStore) -> Html:
    """``/releases``: sessions per release and environment, crash-free rate first."""
    totals: dict[tuple[str, str], list[int]] = {}
    for row in store.items("session"):
        payload = dict_of(row["payload"])
        attrs = dict_of(payload.get("attrs"))
        key = (str_of(attrs.get("release")), str_of(attrs.get("environment")))
        counts = totals.setdefault(key, [0, 0, 0, 0])
        for bucket in list_of(payload.get("aggregates")):
            for i, name in enumerate(("exited", "errored", "abnormal", "crashed")):
                value = dict_of(bucket).get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    counts[i] += value
    rows = []
    for (release, environment), (exited, errored, abnormal, crashed) in sorted(totals.items()):
        total = exited + errored + abnormal + crashed
        rate = f"{100.0 * (total - crashed) / total:.2f}%" if total else "\u2014"
        rows.append(
            el(
                "tr",
                el("td", release, class_="mono"),
                el("td", environment),
                el("td", rate, class_="num crashfree"),
                el("td", str(total), class_="num"),
                el("td", str(errored), class_="num"),
                el("td", str(crashed), class_="num" + (" has-red" if crashed else "")),
                class_="release",
                data_release=release,
            )
        )
    head = el(
        "tr",
        el("th", "Release"),
        el("th", "Environment"),
        el("th", "Crash-free"),
        el("th", "Sessions"),
        el("th", "Errored"),
        el("th", "Crashed"),
    )
    body = rows or el("tr", el("td", "No sessions yet: set a release and serve requests.", colspan="6"), class_="empty")
    return join(
        el("div", el("h1", "Releases"), class_="list-head"),
        el("table", el("thead", head), el("tbody", body), class_="events", id="releases"),
    )


def attachments_section(store: ReceiverStore, event_id: str) -> Html | None:
    """The event page's list of attachments, each a download link; None when it has none."""
    if not event_id:
        return None
    rows = store.items("attachment", event_id=event_id)
    if not rows:
        return None
    items = [
        el(
            "li",
            el("a", str_of(dict_of(r["payload"]).get("filename")), href=f"/attachment/{int(r['id'])}", download=True),
            " ",
            el(
                "span",
                f"{str_of(dict_of(r['payload']).get('content_type'))}, "
                f"{byte_size(int(dict_of(r['payload']).get('size') or 0))}",
                class_="muted",
            ),
        )
        for r in rows
    ]
    return el("section", el("h2", f"Attachments ({len(rows)})"), el("ul", items), id="attachments")
