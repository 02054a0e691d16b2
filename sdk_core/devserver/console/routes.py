"""The console's routes and the :class:`Console` answering them, over the receiver's SQLite store.

* ``/``: the event list, newest first, filtered by ``level`` and ``q`` (text), paged by ``before``;
  ``/poll?after=<row id>`` feeds it new rows and the summary strip (short polling, plain JS).
* ``/event/<row id>``: one event (exception chain, frames, breadcrumbs, request, user, tags,
  contexts) with a Privacy panel listing every ``_meta`` remark, each highlighted in place.
* ``/event/<row id>.json`` and ``/event/<row id>/download``: the stored payload, as stored.
* ``/static/<name>``: the CSS, the JS and an icon (package data files in ``static/``).

The receiver does the HTTP side (the loopback ``Host`` check, refusing the DSN key, security
headers, :data:`CONTENT_SECURITY_POLICY`) around every page listed by :func:`pages`.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from sdk_core.devserver.console import assets, items_view
from sdk_core.devserver.console.event_view import EventView
from sdk_core.devserver.console.markup import el, join
from sdk_core.devserver.console.text import LEVELS, str_of
from sdk_core.devserver.console.traces_view import trace_body, traces_body
from sdk_core.devserver.console.views import filter_form, list_fields, matches, page, row_html, summary_fields
from sdk_core.devserver.store import ReceiverStore, dumps

__all__ = ["CONTENT_SECURITY_POLICY", "PAGE_SIZE", "Console", "ConsoleResponse", "Page", "pages"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'"
)
"""No inline script or style, nothing from elsewhere: event data cannot run in the page."""

PAGE_SIZE = 100
"""Events per list page (and per ``/poll`` answer)."""

_SCAN_LIMIT = 5000  # a text filter looks at most at this many events per page
_CACHE_SIZE = 5000  # list fields per row id (rows never change once stored)


@dataclass
class ConsoleResponse:
    """A console answer before the receiver adds the security headers."""

    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


Page = Callable[[Mapping[str, list[str]], Mapping[str, str]], ConsoleResponse]
"""A console handler: ``(query, path params) -> response``."""


def pages(console: Console) -> list[tuple[str, Page]]:
    """The console's routes, ``(full-match path pattern, handler)``; all are GET/HEAD."""

    def row_id(params: Mapping[str, str]) -> int:
        return int(params["row_id"])

    return [
        (r"/", lambda query, params: console.list_page(query)),
        (r"/poll", lambda query, params: console.poll(query)),
        (r"/event/(?P<row_id>[0-9]{1,18})", lambda query, params: console.event_page(row_id(params))),
        (
            r"/event/(?P<row_id>[0-9]{1,18})\.json",
            lambda query, params: console.event_json(row_id(params), download=False),
        ),
        (
            r"/event/(?P<row_id>[0-9]{1,18})/download",
            lambda query, params: console.event_json(row_id(params), download=True),
        ),
        (r"/logs", lambda query, params: console.items_page("Logs", items_view.logs_body(console.store, query))),
        (r"/monitors", lambda query, params: console.items_page("Monitors", items_view.monitors_body(console.store))),
        (r"/releases", lambda query, params: console.items_page("Releases", items_view.releases_body(console.store))),
        (r"/attachment/(?P<row_id>[0-9]{1,18})", lambda query, params: console.attachment(row_id(params))),
        (r"/static/(?P<name>[a-z0-9][a-z0-9.-]{0,63})", lambda query, params: console.asset(params["name"])),
        (r"/traces", lambda query, params: console.traces_page()),
        (r"/trace/(?P<trace_id>[0-9a-f]{32})", lambda query, params: console.trace_page(params["trace_id"])),
    ]


class Console:
    """Pages and JSON for one receiver store. Thread-safe; holds a small cache of list rows."""

    def __init__(self, store: ReceiverStore) -> None:
        self._store = store
        self.store = store
        self._cache: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- data ---------------------------------------------------------------------------------

    def _fields(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._cache_lock:
            known = {r["id"]: self._cache[r["id"]] for r in rows if r["id"] in self._cache}
            for row_id in known:
                self._cache.move_to_end(row_id)
        missing = [r for r in rows if r["id"] not in known]
        if missing:
            texts = self._store.payload_texts(r["id"] for r in missing)
            fresh: dict[int, dict[str, Any]] = {}
            for row in missing:
                text = texts.get(row["id"])
                try:
                    payload = json.loads(text) if text is not None else {}
                except (ValueError, RecursionError):
                    payload = {}
                fresh[row["id"]] = list_fields(row, payload)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
            known.update(fresh)
        return [known[r["id"]] for r in rows]

    def select(
        self, *, level: str | None, text: str, before: int | None, after: int | None, limit: int = PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Matching rows newest first, and the ``before`` cursor for older ones (``None``: no more)."""
        needle = text.casefold()
        out: list[dict[str, Any]] = []
        cursor = before
        scanned = 0
        batch = limit + 1 if not needle else 200
        while True:
            rows = self._store.listing(level=level, before=cursor, after=after, limit=batch)
            if not rows:
                return out, None
            for fields in self._fields(rows):
                scanned += 1
                if not matches(fields, needle):
                    cursor = fields["id"]
                    continue
                if len(out) == limit:
                    return out, out[-1]["id"]
                out.append(fields)
                cursor = fields["id"]
            if len(rows) < batch:
                return out, None
            if scanned >= _SCAN_LIMIT:
                return out, cursor

    def _summary(self) -> dict[str, Any]:
        return summary_fields(self._store.overview())

    # -- responses ----------------------------------------------------------------------------

    @staticmethod
    def _filters(query: Mapping[str, list[str]]) -> tuple[str | None, str, int | None]:
        level = (query.get("level") or [""])[0].strip()[:32] or None
        text = (query.get("q") or [""])[0].strip()[:200]
        raw_before = (query.get("before") or [""])[0]
        before = int(raw_before) if raw_before.isdigit() and len(raw_before) <= 18 else None
        return level, text, before

    def list_page(self, query: Mapping[str, list[str]]) -> ConsoleResponse:
        """``/``: the event list, newest first, filtered by ``level`` and ``q``, paged by ``before``."""
        level, text, before = self._filters(query)
        summary = self._summary()
        rows, older = self.select(level=level, text=text, before=before, after=None)
        levels = sorted(set(LEVELS) | set(self._store.levels()), key=lambda v: (v not in LEVELS, _rank(v), v))
        form = filter_form("/", levels, level, text, "type, message, transaction, release\u2026")
        if rows:
            body_rows: Any = [row_html(f) for f in rows]
        elif level or text or before:
            body_rows = el("tr", el("td", "No events match.", colspan="7"), class_="empty")
        else:
            body_rows = el(
                "tr",
                el(
                    "td",
                    "No events yet. Point an SDK at the DSN that ",
                    el("code", "python -m sdk_core serve"),
                    " printed; events appear here as they arrive.",
                    colspan="7",
                ),
                class_="empty",
            )
        live = before is None
        table = el(
            "table",
            el(
                "thead",
                el(
                    "tr",
                    el("th", "Level"),
                    el("th", "Event"),
                    el("th", "Transaction"),
                    el("th", "Release"),
                    el("th", "Environment"),
                    el("th", "Received"),
                    el("th", "Redactions", title="_meta remarks: values the scrubbers replaced or removed"),
                ),
            ),
            el("tbody", body_rows),
            id="events",
            class_="events",
            data_last_id=str(summary["last_id"]) if live else None,
        )
        nav = []
        if before is not None:
            nav.append(el("a", "\u2190 newest", href=_href(level, text, None)))
        if older is not None:
            nav.append(el("a", "older \u2192", href=_href(level, text, older), id="older"))
        body = join(
            el("div", el("h1", "Events"), form, class_="list-head"),
            table,
            el("nav", nav, class_="pager") if nav else None,
        )
        title = "Events \u00b7 CodeRadar receiver"
        return _html(page(title, body, body_class="page-list", summary=summary, live=live))

    def poll(self, query: Mapping[str, list[str]]) -> ConsoleResponse:
        """``/poll?after=<row id>``: rows stored since, and the summary strip, as JSON for ``console.js``."""
        level, text, _ = self._filters(query)
        raw_after = (query.get("after") or [""])[0]
        after = int(raw_after) if raw_after.isdigit() and len(raw_after) <= 18 else 0
        summary = self._summary()  # first: rows stored after it are picked up by the next poll
        last = summary["last_id"]
        rows: list[dict[str, Any]] = []
        if last > after:
            rows, _ = self.select(level=level, text=text, before=last + 1, after=after, limit=PAGE_SIZE)
        body = dumps({"rows": rows, "last_id": max(last, after), "summary": summary})
        return ConsoleResponse(200, body.encode("utf-8"), "application/json")

    def event_page(self, row_id: int) -> ConsoleResponse:
        """``/event/<row id>``: one event, with its Privacy panel."""
        row = self._store.event_row(row_id)
        if row is None:
            return self._not_found()
        summary = self._summary()
        view = EventView(row)
        body = join(view.render(), items_view.attachments_section(self._store, str_of(row.get("event_id"))))
        return _html(page(view.title, body, body_class="page-event", summary=summary))

    def items_page(self, name: str, body: Any) -> ConsoleResponse:
        """``/logs``, ``/monitors``, ``/releases``: a body from ``items_view``."""
        title = f"{name} \u00b7 CodeRadar receiver"
        return _html(page(title, body, body_class=f"page-{name.lower()}", summary=self._summary()))

    def attachment(self, row_id: int) -> ConsoleResponse:
        """``/attachment/<row id>``: the bytes as stored, always as a download, never rendered."""
        found = self._store.attachment(row_id)
        if found is None:
            return self._not_found()
        meta, data = found
        name = re.sub(r"[^0-9A-Za-z._-]", "_", str_of(meta.get("filename")))[:100] or f"attachment-{row_id}"
        headers = [("Content-Disposition", f'attachment; filename="{name}"')]
        return ConsoleResponse(200, data, "application/octet-stream", headers)

    def event_json(self, row_id: int, *, download: bool) -> ConsoleResponse:
        """``/event/<row id>.json`` (and ``/download`` as an attachment): the payload exactly as stored."""
        row = self._store.event_row(row_id)
        if row is None:
            return ConsoleResponse(404, b'{"detail":"no such event"}', "application/json")
        headers: list[tuple[str, str]] = []
        if download:
            name = re.sub(r"[^0-9A-Za-z]", "", str_of(row.get("event_id")))[:64] or str(row_id)
            headers.append(("Content-Disposition", f'attachment; filename="event-{name}.json"'))
        body = str(row["payload_text"]).encode("utf-8", "backslashreplace")
        return ConsoleResponse(200, body, "application/json", headers)

    def traces_page(self) -> ConsoleResponse:
        """``/traces``: the stored traces, newest first."""
        body = traces_body(self._store.trace_list(PAGE_SIZE))
        return _html(page("Traces \u00b7 CodeRadar receiver", body, body_class="page-traces", summary=self._summary()))

    def trace_page(self, trace_id: str) -> ConsoleResponse:
        """``/trace/<trace id>``: its transactions with span waterfalls, and its error events."""
        body = join(
            trace_body(trace_id, self._store.trace(trace_id), self._store.trace_errors(trace_id)),
            items_view.trace_sections(self._store, trace_id),
        )
        title = f"Trace {trace_id} \u00b7 CodeRadar receiver"
        return _html(page(title, body, body_class="page-trace", summary=self._summary()))

    def asset(self, name: str) -> ConsoleResponse:
        """``/static/<name>``: one of the package's static files, or 404."""
        data = assets.load(name)
        if data is None:
            return ConsoleResponse(404, b"not found\n", "text/plain; charset=utf-8")
        return ConsoleResponse(200, data, assets.CONTENT_TYPES[name], [("Cache-Control", "no-cache")])

    def _not_found(self) -> ConsoleResponse:
        body = el("div", el("h1", "Not found"), el("p", el("a", "Back to the event list", href="/")), class_="notfound")
        doc = page("Not found \u00b7 CodeRadar receiver", body, body_class="page-error", summary=self._summary())
        return ConsoleResponse(404, doc, "text/html; charset=utf-8")


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _href(level: str | None, text: str, before: int | None) -> str:
    params = [(k, v) for k, v in (("level", level or ""), ("q", text), ("before", str(before or ""))) if v]
    return "/" + ("?" + urlencode(params) if params else "")


def _html(body: bytes) -> ConsoleResponse:
    return ConsoleResponse(200, body, "text/html; charset=utf-8")
