"""The console's traces: ``/traces`` (one row per trace) and ``/trace/<trace id>`` (its transactions,
each with a span waterfall, and the error events of the trace).

The waterfall's bars are SVG rectangles positioned by attributes: the page's Content-Security-Policy
forbids inline styles, and nothing from the payload ever becomes markup (every text goes through
:func:`~sdk_core.devserver.console.markup.el`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.console.markup import Html, el, join
from sdk_core.devserver.console.text import dict_of, level_class, list_of, local_time, str_of
from sdk_core.devserver.summaries import one_line

__all__ = ["trace_body", "traces_body"]


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def traces_body(traces: list[dict[str, Any]]) -> Html:
    """``/traces``: newest first, one row per trace, linking to its page."""
    if traces:
        rows: Any = [
            el(
                "tr",
                el(
                    "td",
                    el("a", one_line(t["name"], 200) or "<unnamed>", href=f"/trace/{t['trace_id']}"),
                    class_="event",
                ),
                el("td", one_line(t["op"], 60), class_="mono"),
                el("td", _ms(_num(t["duration_ms"])), class_="num"),
                el("td", str(t["transactions"]), class_="num"),
                el("td", str(t["spans"] or 0), class_="num"),
                el("td", "failed" if t["failed"] else "ok", class_="lvl error" if t["failed"] else "lvl info"),
                el("td", el("code", t["trace_id"])),
                class_="tr-row",
            )
            for t in traces
        ]
    else:
        rows = el(
            "tr",
            el("td", "No transactions yet. Initialise the SDK with traces_sample_rate=1.0.", colspan="7"),
            class_="empty",
        )
    head = el(
        "tr",
        [el("th", h) for h in ("Trace", "Root op", "Duration", "Transactions", "Spans", "Status", "Trace id")],
    )
    table = el("table", el("thead", head), el("tbody", rows), class_="events", id="traces")
    return join(el("div", el("h1", "Traces"), class_="list-head"), table)


def _waterfall(tx: Mapping[str, Any], trace_start: float, trace_end: float) -> Html:
    payload = dict_of(tx.get("payload"))
    trace = dict_of(dict_of(payload.get("contexts")).get("trace"))
    start = _num(payload.get("start_timestamp")) or _num(tx.get("start_timestamp"))
    method = str_of(dict_of(payload.get("request")).get("method"))
    name = str_of(payload.get("transaction"))
    root = {
        "span_id": trace.get("span_id"),
        "op": trace.get("op"),
        "description": f"{method} {name}" if method and trace.get("op") == "http.server" else name,
        "start_timestamp": start,
        "timestamp": start + _num(tx.get("duration_ms")) / 1000.0,
        "status": trace.get("status"),
    }
    spans = [dict_of(s) for s in list_of(payload.get("spans"))]
    depth = {str_of(root["span_id"]): 0}
    ordered = sorted(spans, key=lambda s: _num(s.get("start_timestamp")))
    for span in ordered:  # parents start first, so one pass over the sorted spans finds each depth
        depth[str_of(span.get("span_id"))] = depth.get(str_of(span.get("parent_span_id")), 0) + 1
    total = max(trace_end - trace_start, 1e-6)
    rows = []
    for span in [root, *ordered]:
        s_start, s_end = _num(span.get("start_timestamp")), _num(span.get("timestamp"))
        x = max(0.0, min(1000.0, (s_start - trace_start) / total * 1000.0))
        width = max(2.0, min(1000.0 - x, (s_end - s_start) / total * 1000.0))
        status = str_of(span.get("status")) or "ok"
        bar = el(
            "svg",
            el(
                "rect",
                x=f"{x:.1f}",
                y="0",
                width=f"{width:.1f}",
                height="10",
                class_="bar-ok" if status == "ok" else "bar-bad",
            ),
            viewBox="0 0 1000 10",
            preserveAspectRatio="none",
            class_="bar",
            role="img",
        )
        level = min(depth.get(str_of(span.get("span_id")), 1), 12)
        rows.append(
            el(
                "tr",
                el("td", one_line(span.get("op"), 60), class_=f"mono indent-{level}"),
                el("td", one_line(span.get("description"), 300), class_="mono desc"),
                el("td", _ms(max(0.0, s_end - s_start) * 1000.0), class_="num"),
                el("td", status, class_="mono"),
                el("td", bar, class_="waterfall"),
                class_="span-row",
            )
        )
    head = el("tr", [el("th", h) for h in ("Op", "Description", "Duration", "Status", "Timeline")])
    title = f"{one_line(payload.get('transaction'), 200)} \u00b7 {_ms(_num(tx.get('duration_ms')))}"
    return el(
        "section",
        el("h2", title),
        el("table", el("thead", head), el("tbody", rows), class_="events spans"),
        class_="transaction",
        data_event_id=str_of(tx.get("event_id")),
    )


def trace_body(trace_id: str, transactions: list[dict[str, Any]], errors: list[dict[str, Any]]) -> Html:
    """``/trace/<id>``: each transaction's span waterfall on one time axis, then the trace's errors."""
    if transactions:
        starts = [_num(t.get("start_timestamp")) for t in transactions]
        ends = [_num(t.get("start_timestamp")) + _num(t.get("duration_ms")) / 1000.0 for t in transactions]
        trace_start, trace_end = min(starts), max(ends)
        for tx in transactions:
            for span in list_of(dict_of(tx.get("payload")).get("spans")):
                trace_end = max(trace_end, _num(dict_of(span).get("timestamp")))
        waterfalls: Any = [_waterfall(tx, trace_start, trace_end) for tx in transactions]
        received = local_time(transactions[0].get("received_at"))
    else:
        waterfalls = el("p", "No transactions stored for this trace (it may have been unsampled).", class_="muted")
        received = ""
    if errors:
        error_rows: Any = el(
            "ul",
            [
                el(
                    "li",
                    el("span", e["level"], class_=f"lvl {level_class(str_of(e['level']))}"),
                    " ",
                    el("a", one_line(e["summary"], 300), href=f"/event/{int(e['id'])}"),
                )
                for e in errors
            ],
            id="trace-errors",
        )
    else:
        error_rows = el("p", "No error events in this trace.", class_="muted", id="trace-errors")
    return join(
        el("div", el("h1", "Trace ", el("code", trace_id)), el("span", received, class_="muted"), class_="list-head"),
        waterfalls,
        el("section", el("h2", "Errors in this trace"), error_rows, class_="trace-errors"),
    )
