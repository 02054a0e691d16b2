"""The event page: one stored event, section by section, and its Privacy panel.

Values are drawn by :class:`~sdk_core.devserver.console.values.ValueRenderer` with their ``_meta``
remarks highlighted in place; the Privacy panel lists every remark and links to each spot drawn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.console.markup import Html, el, esc, join, visible
from sdk_core.devserver.console.remarks import Path, meta_node, path_html
from sdk_core.devserver.console.text import (
    byte_size,
    clock,
    dict_of,
    int_of,
    json_text,
    level_class,
    list_of,
    local_time,
    plural,
    str_of,
    values_of,
)
from sdk_core.devserver.console.values import ValueRenderer
from sdk_core.devserver.summaries import one_line, summarize

__all__ = ["EventView"]

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_COVERED = frozenset(
    {
        "event_id", "timestamp", "level", "exception", "threads", "stacktrace", "breadcrumbs", "request",
        "user", "tags", "contexts", "extra", "logentry", "message", "transaction", "release", "environment",
        "server_name", "platform", "logger", "dist", "_meta",
    }
)  # fmt: skip


class EventView(ValueRenderer):
    """Renders one stored event row (``payload`` decoded) as the body of the event page."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__(dict_of(row.get("payload")))
        self.row = row
        self.summary = summarize(self.payload)
        self.etype, self.evalue = self.summary.type, self.summary.value
        self.title = one_line(self.summary.headline, 120) or "event"

    def _fact(self, label: str, key: str) -> tuple[str, Html] | None:
        if key not in self.payload or self.payload[key] in (None, ""):
            return None
        return label, self.value(self.payload[key], (key,))

    def overview(self) -> Html:
        """The "Event" facts: ids, times, release, environment, trace, SDK, size."""
        trace = dict_of(dict_of(self.payload.get("contexts")).get("trace"))
        sdk = dict_of(self.payload.get("sdk"))
        sdk_text = " ".join(x for x in (str_of(sdk.get("name")), str_of(sdk.get("version"))) if x)
        received = str_of(self.row.get("received_at"))
        facts: list[tuple[str, Html] | None] = [
            ("Event id", el("code", str_of(self.row.get("event_id")))),
            self._fact("Transaction", "transaction"),
            ("Received", el("time", local_time(received), datetime=received)),
            self._fact("Release", "release"),
            ("Occurred", el("time", local_time(self.payload["timestamp"])))
            if self.payload.get("timestamp") is not None
            else None,
            self._fact("Environment", "environment"),
            (
                "Trace id",
                el(
                    "span",
                    self.value(trace["trace_id"], ("contexts", "trace", "trace_id")),
                    " ",
                    el("a", "view trace", href=f"/trace/{trace['trace_id']}", id="trace-link")
                    if _TRACE_ID.fullmatch(str_of(trace["trace_id"]))
                    else None,
                    id="trace-id",
                ),
            )
            if "trace_id" in trace
            else None,
            self._fact("Dist", "dist"),
            ("Span id", self.value(trace["span_id"], ("contexts", "trace", "span_id"))) if "span_id" in trace else None,
            self._fact("Server", "server_name"),
            self._fact("Level", "level"),
            self._fact("Platform", "platform"),
            self._fact("Logger", "logger"),
            ("SDK", esc(sdk_text)) if sdk_text else None,
            ("Stored", esc(f"{byte_size(int(self.row.get('size') or 0))} via /{str_of(self.row.get('endpoint'))}/")),
        ]
        items = [el("div", el("dt", f[0]), el("dd", f[1])) for f in facts if f is not None]
        return el("section", el("h2", "Event"), el("dl", items, class_="facts"), id="overview")

    def message(self) -> Html | None:
        """The log message (formatted, else the template, and its params), when there is one."""
        parts = []
        logentry = self.payload.get("logentry")
        if isinstance(logentry, dict):
            for key in ("formatted", "message"):
                if isinstance(logentry.get(key), str):
                    parts.append(el("pre", self.text(logentry[key], ("logentry", key)), class_="message"))
                    break
            if logentry.get("params") not in (None, [], {}):
                parts.append(
                    el("div", "params ", self.value(logentry["params"], ("logentry", "params")), class_="params")
                )
        message = self.payload.get("message")
        if isinstance(message, str) and message:
            parts.append(el("pre", self.text(message, ("message",)), class_="message"))
        elif isinstance(message, dict):
            parts.append(self.value(message, ("message",)))
        if not parts:
            return None
        return el("section", el("h2", "Message"), parts, id="message")

    def frame(self, frame: Mapping[str, Any], path: Path) -> Html:
        """One frame: function and location; source context and locals, open when in-app or redacted."""
        in_app = frame.get("in_app") is True
        function = str_of(frame.get("function")) or "?"
        filename = str_of(frame.get("filename")) or str_of(frame.get("abs_path")) or str_of(frame.get("module")) or "?"
        lineno = int_of(frame.get("lineno"))
        where = f"{filename}:{lineno}" if lineno is not None else filename
        pre = [x for x in list_of(frame.get("pre_context"))]
        post = [x for x in list_of(frame.get("post_context"))]
        source_rows: list[Html] = []
        if isinstance(frame.get("context_line"), str):
            first = (lineno - len(pre)) if lineno is not None else None

            def line(text: Any, key: Path, n: int | None, current: bool) -> Html:
                code = self.text(text, (*path, *key)) if isinstance(text, str) else ""
                return el(
                    "tr",
                    el("td", "" if n is None else str(n), class_="ln"),
                    el("td", el("code", code)),
                    class_="current" if current else None,
                )

            for i, text in enumerate(pre):
                source_rows.append(line(text, ("pre_context", str(i)), None if first is None else first + i, False))
            source_rows.append(line(frame["context_line"], ("context_line",), lineno, True))
            for i, text in enumerate(post):
                n = None if lineno is None else lineno + 1 + i
                source_rows.append(line(text, ("post_context", str(i)), n, False))
        variables = frame.get("vars")
        body = [
            el("table", el("tbody", source_rows), class_="source") if source_rows else None,
            el("div", el("h4", "Local variables"), self.value(variables, (*path, "vars")), class_="vars")
            if isinstance(variables, dict) and (variables or meta_node(self.meta, (*path, "vars")))
            else None,
        ]
        has_remarks = path in self.prefixes
        details = [x for x in body if x is not None]
        return el(
            "details",
            el(
                "summary",
                el("span", function, class_="fn"),
                el("span", " in ", class_="muted"),
                el("span", where, class_="loc"),
                el("span", "in app", class_="badge app") if in_app else el("span", "library", class_="badge lib"),
                el("span", f"{str_of(frame.get('module'))}", class_="module") if frame.get("module") else None,
            ),
            details or el("p", "No source context or variables for this frame.", class_="muted"),
            class_="frame in-app" if in_app else "frame",
            open=in_app or has_remarks,
        )

    def stacktrace(self, stacktrace: Any, path: Path) -> Html | None:
        """A stack trace's frames, most recent call last."""
        frames = list_of(dict_of(stacktrace).get("frames"))
        if not frames:
            return None
        items = [self.frame(f, (*path, "frames", str(i))) for i, f in enumerate(frames) if isinstance(f, dict)]
        return el(
            "div",
            el(
                "p",
                f"{plural(len(items), 'frame')}, most recent call last; in-app frames are expanded",
                class_="muted",
            ),
            items,
            class_="frames",
        )

    def exceptions(self) -> Html | None:
        """The exception chain, the raised exception first, each with its mechanism and frames."""
        container = self.payload.get("exception")
        values = values_of(container)
        base: Path = ("exception", "values") if isinstance(container, dict) else ("exception",)
        blocks = []
        count = len(values)
        for index in range(count - 1, -1, -1):  # the raised exception first, then its causes
            exc = values[index]
            if not isinstance(exc, dict):
                continue
            path = (*base, str(index))
            mechanism = dict_of(exc.get("mechanism"))
            handled = mechanism.get("handled")
            notes = [
                f"mechanism {one_line(mechanism.get('type'), 40)}" if mechanism.get("type") else None,
                "handled" if handled is True else "unhandled" if handled is False else None,
                f"module {one_line(exc.get('module'), 80)}" if exc.get("module") else None,
            ]
            source = mechanism.get("source")
            if index == count - 1:
                label = "raised"
            elif source == "__cause__":
                label = "caused by"  # `raise ... from` this one
            elif source == "__context__":
                label = "raised while handling"
            else:
                label = "chained"
            head = el(
                "h3",
                el("span", label, class_="chain-label"),
                el("span", visible(str_of(exc.get("type")) or "Exception"), class_="etype"),
                el("span", ": ", class_="muted") if isinstance(exc.get("value"), str) else None,
                el("span", self.text(exc["value"], (*path, "value")), class_="evalue")
                if isinstance(exc.get("value"), str)
                else None,
            )
            blocks.append(
                el(
                    "div",
                    head,
                    el("p", " \u00b7 ".join(n for n in notes if n), class_="muted") if any(notes) else None,
                    self.stacktrace(exc.get("stacktrace"), (*path, "stacktrace")),
                    class_="exception",
                )
            )
        if not blocks:
            return None
        title = "Exception" if len(blocks) == 1 else f"Exception chain ({len(blocks)})"
        return el("section", el("h2", title), blocks, id="exception")

    def other_stacktraces(self) -> Html | None:
        """The event's own stack trace and the threads' stacks."""
        blocks = []
        top = self.stacktrace(self.payload.get("stacktrace"), ("stacktrace",))
        if top is not None:
            blocks.append(el("div", el("h3", "Stack trace"), top))
        threads = self.payload.get("threads")
        base: Path = ("threads", "values") if isinstance(threads, dict) else ("threads",)
        for i, thread in enumerate(values_of(threads)):
            if not isinstance(thread, dict):
                continue
            trace = self.stacktrace(thread.get("stacktrace"), (*base, str(i), "stacktrace"))
            if trace is None:
                continue
            name = one_line(thread.get("name"), 80) or f"thread {one_line(str(thread.get('id', i)), 40)}"
            flags = " (crashed)" if thread.get("crashed") is True else " (current)" if thread.get("current") else ""
            blocks.append(el("div", el("h3", f"Thread {name}{flags}"), trace))
        if not blocks:
            return None
        return el("section", el("h2", "Stack traces"), blocks, id="threads")

    def breadcrumbs(self) -> Html | None:
        """The breadcrumb timeline, oldest first."""
        container = self.payload.get("breadcrumbs")
        crumbs = values_of(container)
        base: Path = ("breadcrumbs", "values") if isinstance(container, dict) else ("breadcrumbs",)
        items = []
        for i, crumb in enumerate(crumbs):
            if not isinstance(crumb, dict):
                continue
            path = (*base, str(i))
            level = str_of(crumb.get("level")) or "info"
            extra = {
                k: v for k, v in crumb.items() if k not in ("timestamp", "category", "message", "level", "type", "data")
            }
            items.append(
                el(
                    "li",
                    el(
                        "div",
                        el("time", clock(crumb.get("timestamp")), title=one_line(str(crumb.get("timestamp", "")), 60)),
                        el("span", one_line(crumb.get("category"), 60) or "default", class_="cat"),
                        el("span", one_line(crumb.get("type"), 40), class_="muted") if crumb.get("type") else None,
                        el("span", level, class_=f"lvl {level_class(level)}"),
                        class_="crumb-head",
                    ),
                    el("div", self.text(crumb["message"], (*path, "message")), class_="crumb-msg")
                    if isinstance(crumb.get("message"), str)
                    else None,
                    el("div", self.value(crumb["data"], (*path, "data")), class_="crumb-data")
                    if crumb.get("data") not in (None, {}, [])
                    else None,
                    [
                        el("div", el("span", k, class_="muted"), " ", self.value(v, (*path, k)))
                        for k, v in extra.items()
                    ],
                    class_="crumb",
                )
            )
        if not items:
            return None
        return el(
            "section",
            el("h2", f"Breadcrumbs ({len(items)})"),
            el("p", "oldest first, the event last", class_="muted"),
            el("ol", items, class_="timeline"),
            id="breadcrumbs",
        )

    def request(self) -> Html | None:
        """The HTTP request: method and URL, then headers, data and the rest."""
        request = self.payload.get("request")
        if not isinstance(request, dict) or not request:
            return None
        line = el(
            "p",
            el("span", one_line(request.get("method"), 16), class_="method") if request.get("method") else None,
            " ",
            el("code", self.text(request["url"], ("request", "url"))) if isinstance(request.get("url"), str) else None,
            class_="request-line",
        )
        rest = {k: v for k, v in request.items() if k not in ("method", "url")}
        rows = [el("tr", el("th", k), el("td", self.value(v, ("request", k)))) for k, v in rest.items()]
        rows += self._removed_rows(request, ("request",))
        table = el("table", el("tbody", rows), class_="kv") if rows else None
        return el("section", el("h2", "Request"), line, table, id="request")

    def simple(self, key: str, title: str) -> Html | None:
        """A top-level field drawn as a value (``user``, ``extra``), when present or redacted."""
        if key not in self.payload and not meta_node(self.meta, (key,)):
            return None
        value = self.payload.get(key)
        if value in (None, {}, []) and not meta_node(self.meta, (key,)):
            return None
        return el("section", el("h2", title), self.value(value if value is not None else {}, (key,)), id=key)

    def tags(self) -> Html | None:
        """Tags as chips, from either the dict or the ``[[key, value]]`` form."""
        tags = self.payload.get("tags")
        if isinstance(tags, list):  # [[key, value], ...]
            chips = []
            for i, pair in enumerate(tags):
                pair = list_of(pair)
                if len(pair) == 2:
                    chips.append(
                        el(
                            "span",
                            el("span", visible(str(pair[0])), class_="k"),
                            el("span", self.value(pair[1], ("tags", str(i), "1")), class_="v"),
                            class_="tag",
                        )
                    )
            body: Any = el("div", chips, class_="tags") if chips else None
        elif isinstance(tags, dict) and tags:
            body = el(
                "div",
                [
                    el(
                        "span",
                        el("span", visible(str(k)), class_="k"),
                        el("span", self.value(v, ("tags", str(k))), class_="v"),
                        class_="tag",
                    )
                    for k, v in tags.items()
                ],
                class_="tags",
            )
        else:
            body = None
        if body is None:
            return None
        return el("section", el("h2", "Tags"), body, id="tags")

    def contexts(self) -> Html | None:
        """One card per context (runtime, os, trace, ...)."""
        contexts = self.payload.get("contexts")
        if not isinstance(contexts, dict) or not contexts:
            return None
        cards = [
            el("div", el("h3", visible(str(name))), self.value(ctx, ("contexts", str(name))), class_="context")
            for name, ctx in contexts.items()
        ]
        return el("section", el("h2", "Contexts"), el("div", cards, class_="contexts"), id="contexts")

    def other(self) -> Html | None:
        """Top-level fields no other section draws, folded."""
        rest = {k: v for k, v in self.payload.items() if k not in _COVERED}
        if not rest:
            return None
        rows = [el("tr", el("th", k), el("td", self.value(v, (k,)))) for k, v in rest.items()]
        return el(
            "section",
            el("details", el("summary", el("h2", "Other fields")), el("table", el("tbody", rows), class_="kv")),
            id="other",
        )

    def raw(self) -> Html:
        """The payload as JSON text, with links to open or download it."""
        row_id = int(self.row["id"])
        return el(
            "section",
            el(
                "details",
                el("summary", el("h2", "Raw JSON")),
                el("pre", visible(json_text(self.payload)), class_="raw", id="raw-json"),
            ),
            el(
                "p",
                el("a", "open as JSON", href=f"/event/{row_id}.json"),
                " \u00b7 ",
                el("a", "download", href=f"/event/{row_id}/download", download=True, id="download"),
                class_="raw-links",
            ),
            id="raw",
        )

    def privacy(self) -> Html:
        """The Privacy panel: every ``_meta`` remark, linked to its spot when drawn, and the receiver's second layer."""
        rows = []
        for remark in self.remarks:
            anchor = self.anchors[remark.path]
            shown = remark.path in self.shown
            if shown:
                path_cell = el("a", el("code", path_html(remark.path)), href=f"#{anchor}")
            else:
                path_cell = el("code", path_html(remark.path), title="not displayed on this page: see the raw JSON")
            span = f" chars {remark.start}\u2013{remark.end}" if remark.start is not None else ""
            length = f"was {remark.length} chars" if remark.length is not None else ""
            rows.append(
                el(
                    "tr",
                    el("td", path_cell, class_="path"),
                    el("td", el("code", remark.rule), class_="rule sys" if remark.rule.startswith("!") else "rule"),
                    el(
                        "td",
                        remark.action_word,
                        el("div", f"{length}{span}".strip(), class_="muted") if length or span else None,
                    ),
                    class_="remark",
                )
            )
        count = len(self.remarks)
        lede = (
            el(
                "p",
                f"{count} remark{'s' if count != 1 else ''} in ",
                el("code", "_meta"),
                ": values replaced or removed before storage (rule id and action, never the value). Each spot is ",
                el("mark", "highlighted", class_="redacted sample"),
                " where it appears.",
            )
            if count
            else el("p", "No ", el("code", "_meta"), " remarks: nothing in this event was redacted.")
        )
        table = (
            el(
                "table",
                el("thead", el("tr", el("th", "Path"), el("th", "Rule"), el("th", "Action"))),
                el("tbody", rows),
                class_="remarks",
                id="remarks",
            )
            if rows
            else None
        )
        server = self.row.get("server_redactions")
        if server is None:
            second = el("p", "Not enabled on this receiver.", class_="muted")
        elif isinstance(server, dict) and server:
            second = el(
                "table",
                el("thead", el("tr", el("th", "Rule"), el("th", "Redactions"))),
                el(
                    "tbody",
                    [el("tr", el("td", el("code", str(k))), el("td", str(v), class_="num")) for k, v in server.items()],
                ),
                class_="remarks",
                id="server-redactions",
            )
        else:
            second = el("p", "Ran on this event and found nothing left to redact.", class_="ok", id="server-redactions")
        return el(
            "aside",
            el("h2", "Privacy"),
            lede,
            table,
            el("h3", "Receiver second layer"),
            el("p", "Provider-credential rules the receiver runs on every event before storing it.", class_="muted"),
            second,
            class_="privacy",
            id="privacy",
        )

    def render(self) -> Html:
        """The whole page body: headline, location, sections, then the Privacy panel (drawn last)."""
        level = str_of(self.row.get("level")) or "error"
        location = self.summary.location
        head = el(
            "div",
            el("p", el("a", "\u2190 all events", href="/"), class_="crumbs"),
            el(
                "h1",
                el("span", level, class_=f"lvl {level_class(level)}"),
                " ",
                el("span", visible(self.etype), class_="etype") if self.etype else None,
                el("span", ": ", class_="muted") if self.etype and self.evalue else None,
                el("span", visible(one_line(self.evalue, 400)), class_="evalue") if self.evalue else None,
                id="event-title",
            ),
            el("p", el("code", location), class_="where") if location else None,
            class_="event-head",
        )
        main_sections = [
            self.overview(),
            self.message(),
            self.exceptions(),
            self.other_stacktraces(),
            self.breadcrumbs(),
            self.request(),
            self.simple("user", "User"),
            self.tags(),
            self.contexts(),
            self.simple("extra", "Extra"),
            self.other(),
            self.raw(),
        ]
        content = el("div", main_sections, class_="content")
        privacy = self.privacy()  # after the content: it links only to the spots actually drawn
        return join(head, el("div", content, privacy, class_="event-layout"))
