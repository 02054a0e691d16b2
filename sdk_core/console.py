"""The local receiver's web console: server-rendered HTML over the receiver's SQLite store.

Served by :class:`sdk_core.receiver.Receiver` (``console=True``, which ``python -m sdk_core serve``
turns on) on the receiver's own loopback port. The receiver does the HTTP side (routing, the
loopback ``Host`` check, refusing the DSN key, security headers); this module only turns stored
events into pages and JSON:

* ``/``: the event list, newest first, filtered by ``level`` and ``q`` (text), paged by ``before``;
  ``/poll?after=<row id>`` feeds it new rows and the summary strip (short polling, plain JS).
* ``/event/<row id>``: one event (exception chain, frames, breadcrumbs, request, user, tags,
  contexts) with a Privacy panel listing every ``_meta`` remark, each highlighted in place.
* ``/event/<row id>.json`` and ``/event/<row id>/download``: the stored payload, as stored.
* ``/static/<name>``: the CSS, the JS and an icon (strings in :mod:`sdk_core._console_assets`).

Every string in an event comes from the application and is treated as hostile: markup is built
with :func:`el`, which escapes every text child and attribute value (``html.escape``), and no
event data ever reaches a ``<script>``; the JS reads JSON and writes ``textContent`` only.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from sdk_core import _console_assets as assets
from sdk_core._receiver_store import ReceiverStore, dumps

__all__ = ["CONTENT_SECURITY_POLICY", "Console", "ConsoleResponse", "el", "esc"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'"
)

PAGE_SIZE = 100
_SCAN_LIMIT = 5000  # a text filter looks at most at this many events per page
_CACHE_SIZE = 5000  # list fields per row id (rows never change once stored)
_MAX_DEPTH = 24  # nesting shown on the event page; deeper values are shown as JSON text
_MAX_ITEMS = 500  # entries shown per dict or list
_MAX_REMARKS = 10000
_LEVELS = ("fatal", "error", "warning", "info", "debug")
_ACTION_WORDS = {"s": "filtered", "x": "removed", "m": "masked", "p": "hashed", "e": "encrypted"}
# C0/C1 controls (but tab and newline) and bidi controls: shown as visible marks, never applied.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+")


# -- markup -------------------------------------------------------------------------------


class Html(str):
    """Markup built by :func:`el` / :func:`esc`; every other ``str`` is text and gets escaped."""

    __slots__ = ()


def esc(value: object) -> Html:
    """Text as HTML: ``html.escape`` (quotes too) unless it already is :class:`Html`."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(value if isinstance(value, str) else str(value), quote=True))


def _children(children: Iterable[Any]) -> Iterator[Html]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str):
            yield esc(child)
        elif isinstance(child, (int, float)):
            yield esc(str(child))
        else:
            yield from _children(child)


def join(*children: Any) -> Html:
    return Html("".join(_children(children)))


_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "wbr"})


def el(tag: str, *children: Any, **attrs: object) -> Html:
    """``<tag attrs>children</tag>``; attribute names come from code (``class_`` -> ``class``,
    ``data_id`` -> ``data-id``), their values and all text children are escaped."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    start = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Html(start)
    return Html(f"{start}{join(children)}</{tag}>")


def visible(text: str) -> Html:
    """Escaped text with control and bidi characters shown as marks instead of acting on the page."""
    out: list[str] = []
    pos = 0
    for match in _INVISIBLE.finditer(text):
        out.append(esc(text[pos : match.start()]))
        code = f"U+{ord(match.group()):04X}"
        out.append(el("span", code, class_="ctl", title="control or bidi character"))
        pos = match.end()
    out.append(esc(text[pos:]))
    return Html("".join(out))


def _one_line(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) else ""
    text = " ".join(_ONE_LINE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# -- small helpers ----------------------------------------------------------------------------


@dataclass
class ConsoleResponse:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _values(container: Any) -> list[Any]:
    """``{"values": [...]}`` or a bare list (both occur in the wild)."""
    if isinstance(container, dict):
        return _list(container.get("values"))
    return _list(container)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d:?\d\d)?", text)
    if match is None:
        return None
    base, fraction, offset = match.groups()
    text = base.replace(" ", "T") + "." + (fraction or "0")[:6].ljust(6, "0") + (offset or "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A timestamp in the laptop's local time (the console runs where the developer is)."""
    moment = _parse_time(value)
    if moment is None:
        return _one_line(value, 40) if isinstance(value, str) else ""
    try:
        return moment.astimezone().strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return moment.strftime(fmt)


def _clock(value: Any) -> str:
    moment = _parse_time(value)
    if moment is None:
        return _local(value)
    try:
        local = moment.astimezone()
    except (OverflowError, OSError, ValueError):
        local = moment
    return local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover - the loop always returns


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _level_class(level: str) -> str:
    return f"lvl-{level}" if level in _LEVELS else "lvl-other"


def _json_text(value: Any, indent: bool = True) -> str:
    try:
        return json.dumps(value, indent=2 if indent else None, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError, RecursionError):
        return dumps(value)


# -- _meta remarks ----------------------------------------------------------------------------

Path = tuple[str, ...]


@dataclass(frozen=True)
class Remark:
    path: Path
    rule: str
    action: str
    start: int | None
    end: int | None
    length: int | None

    @property
    def action_word(self) -> str:
        return _ACTION_WORDS.get(self.action, self.action or "?")


def remarks_of(meta: Any) -> list[Remark]:
    """Every remark in an event's ``_meta`` tree, in tree order (bounded in depth and count)."""
    out: list[Remark] = []

    def walk(node: Any, path: Path) -> None:
        if len(out) >= _MAX_REMARKS or len(path) > 64 or not isinstance(node, dict):
            return
        for key, child in node.items():
            if key == "" and isinstance(child, dict):
                length = _int(child.get("len"))
                for rem in _list(child.get("rem")):
                    if len(out) >= _MAX_REMARKS:
                        return
                    rem = _list(rem)
                    rule = _one_line(rem[0], 120) if rem else ""
                    action = _one_line(rem[1], 8) if len(rem) > 1 else ""
                    start = _int(rem[2]) if len(rem) > 3 else None
                    end = _int(rem[3]) if len(rem) > 3 else None
                    out.append(Remark(path, rule or "?", action, start, end, length))
            elif key != "":
                walk(child, (*path, str(key)))

    walk(meta, ())
    return out


def path_text(path: Path) -> str:
    """``request.headers["X-Api-Key"]``-style display of a ``_meta`` path."""
    parts: list[str] = []
    for key in path:
        if _IDENT.fullmatch(key):
            parts.append(("." if parts else "") + key)
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(parts) or "(event)"


def path_html(path: Path) -> Html:
    """:func:`path_text` with line-break opportunities after each separator."""
    return Html(esc(path_text(path)).replace(".", ".<wbr>").replace("[", "<wbr>["))


def _meta_node(meta: Any, path: Path) -> dict[str, Any]:
    node = meta
    for key in path:
        if not isinstance(node, dict):
            return {}
        node = node.get(key)
    return _dict(node)


# -- list rows --------------------------------------------------------------------------------


def _title_parts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """``(exception type, value or message)`` for an event's headline."""
    values = [v for v in _values(payload.get("exception")) if isinstance(v, dict)]
    if values:
        etype, evalue = _str(values[-1].get("type")), _str(values[-1].get("value"))
        if etype or evalue:
            return etype, evalue
    for candidate in (payload.get("logentry"), payload.get("message")):
        if isinstance(candidate, dict):
            text = _str(candidate.get("formatted")) or _str(candidate.get("message"))
        else:
            text = _str(candidate)
        if text:
            return "", text
    return "", _str(payload.get("transaction")) or "<no message>"


def _frames_of(stacktrace: Any) -> list[dict[str, Any]]:
    return [f for f in _list(_dict(stacktrace).get("frames")) if isinstance(f, dict)]


def _location(payload: Mapping[str, Any]) -> str:
    values = [v for v in _values(payload.get("exception")) if isinstance(v, dict)]
    frames = _frames_of(values[-1].get("stacktrace")) if values else []
    frames = frames or _frames_of(payload.get("stacktrace"))
    if not frames:
        return ""
    frame = ([f for f in frames if f.get("in_app") is True] or frames)[-1]
    name = _str(frame.get("filename")) or _str(frame.get("abs_path")).rsplit("/", 1)[-1] or _str(frame.get("module"))
    lineno = _int(frame.get("lineno"))
    return f"{name}:{lineno}" if name and lineno is not None else name


def list_fields(row: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """What one line of the event list shows (plain strings and ints: JSON for the JS, text for HTML)."""
    payload = _dict(payload)
    etype, evalue = _title_parts(payload)
    server = row.get("server_redactions")
    server_count = sum(v for v in server.values() if _int(v) is not None) if isinstance(server, dict) else 0
    level = _str(row.get("level")) or "error"
    return {
        "id": int(row["id"]),
        "event_id": _str(row.get("event_id")),
        "level": level,
        "level_class": _level_class(level),
        "type": _one_line(etype, 120),
        "value": _one_line(evalue, 300),
        "location": _one_line(_location(payload), 160),
        "transaction": _one_line(payload.get("transaction"), 160),
        "release": _one_line(payload.get("release"), 120),
        "environment": _one_line(payload.get("environment"), 80),
        "received": _local(row.get("received_at")),
        "received_at": _str(row.get("received_at")),
        "redactions": len(remarks_of(payload.get("_meta"))),
        "server_redactions": server_count,
        "href": f"/event/{int(row['id'])}",
    }


def _matches(fields: Mapping[str, Any], needle: str) -> bool:
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


# -- the summary strip -------------------------------------------------------------------------


def summary_fields(overview: Mapping[str, Any]) -> dict[str, Any]:
    stats = _dict(overview.get("stats"))
    dropped: dict[str, dict[str, int]] = {}
    for report in _list(overview.get("client_reports")):
        reason, category, quantity = str(report["reason"]), str(report["category"]), int(report["quantity"])
        dropped.setdefault(reason, {})[category] = dropped.get(reason, {}).get(category, 0) + quantity
    refused: dict[str, int] = {}
    for key, value in stats.items():
        status = key[len("status_") :] if key.startswith("status_") else ""
        if status.isdigit() and int(status) >= 400 and _int(value) is not None:
            refused[status] = int(value)
    byte_count = _int(stats.get("bytes_received")) or 0
    return {
        "events": int(overview.get("events", 0)),
        "last_id": int(overview.get("last_id", 0)),
        "bytes": byte_count,
        "bytes_text": _bytes(byte_count),
        "dropped": [
            {
                "reason": _one_line(reason, 64),
                "quantity": sum(categories.values()),
                "categories": ", ".join(f"{_one_line(c, 64)} {q}" for c, q in sorted(categories.items())),
            }
            for reason, categories in sorted(dropped.items())
        ],
        "dropped_total": sum(sum(c.values()) for c in dropped.values()),
        "refused": sum(refused.values()),
        "refused_text": ", ".join(f"{status}\u00d7{n}" for status, n in sorted(refused.items())),
    }


def summary_html(s: Mapping[str, Any], *, live: bool) -> Html:
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


def _page(title: str, body: Any, *, body_class: str, summary: Mapping[str, Any], live: bool = False) -> bytes:
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


# -- the console ---------------------------------------------------------------------------


class Console:
    """Pages and JSON for one receiver store. Thread-safe; holds a small cache of list rows."""

    def __init__(self, store: ReceiverStore) -> None:
        self._store = store
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
                if not _matches(fields, needle):
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
        level, text, before = self._filters(query)
        summary = self._summary()
        rows, older = self.select(level=level, text=text, before=before, after=None)
        levels = sorted(set(_LEVELS) | set(self._store.levels()), key=lambda v: (v not in _LEVELS, _rank(v), v))
        form = el(
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
                el(
                    "input",
                    type="search",
                    name="q",
                    id="f-q",
                    value=text,
                    placeholder="type, message, transaction, release\u2026",
                    maxlength="200",
                ),
            ),
            el("button", "Filter", type="submit"),
            el("a", "clear", href="/", class_="clear") if (level or text) else None,
            method="get",
            action="/",
            class_="filters",
            id="filters",
        )
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
        return _html(_page(title, body, body_class="page-list", summary=summary, live=live))

    def poll(self, query: Mapping[str, list[str]]) -> ConsoleResponse:
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
        row = self._store.event_row(row_id)
        if row is None:
            return self._not_found()
        summary = self._summary()
        view = _EventView(row)
        return _html(_page(view.title, view.render(), body_class="page-event", summary=summary))

    def event_json(self, row_id: int, *, download: bool) -> ConsoleResponse:
        row = self._store.event_row(row_id)
        if row is None:
            return ConsoleResponse(404, b'{"detail":"no such event"}', "application/json")
        headers: list[tuple[str, str]] = []
        if download:
            name = re.sub(r"[^0-9A-Za-z]", "", _str(row.get("event_id")))[:64] or str(row_id)
            headers.append(("Content-Disposition", f'attachment; filename="event-{name}.json"'))
        body = str(row["payload_text"]).encode("utf-8", "backslashreplace")
        return ConsoleResponse(200, body, "application/json", headers)

    def asset(self, name: str) -> ConsoleResponse:
        found = assets.ASSETS.get(name)
        if found is None:
            return ConsoleResponse(404, b"not found\n", "text/plain; charset=utf-8")
        content_type, text = found
        return ConsoleResponse(200, text.encode("utf-8"), content_type, [("Cache-Control", "no-cache")])

    def _not_found(self) -> ConsoleResponse:
        body = el("div", el("h1", "Not found"), el("p", el("a", "Back to the event list", href="/")), class_="notfound")
        page = _page("Not found \u00b7 CodeRadar receiver", body, body_class="page-error", summary=self._summary())
        return ConsoleResponse(404, page, "text/html; charset=utf-8")


def _rank(level: str) -> int:
    return _LEVELS.index(level) if level in _LEVELS else len(_LEVELS)


def _href(level: str | None, text: str, before: int | None) -> str:
    params = [(k, v) for k, v in (("level", level or ""), ("q", text), ("before", str(before or ""))) if v]
    return "/" + ("?" + urlencode(params) if params else "")


def _html(body: bytes) -> ConsoleResponse:
    return ConsoleResponse(200, body, "text/html; charset=utf-8")


# -- the event page -----------------------------------------------------------------------------

_COVERED = frozenset(
    {
        "event_id", "timestamp", "level", "exception", "threads", "stacktrace", "breadcrumbs", "request",
        "user", "tags", "contexts", "extra", "logentry", "message", "transaction", "release", "environment",
        "server_name", "platform", "logger", "dist", "_meta",
    }
)  # fmt: skip


class _EventView:
    """Renders one stored event. Values are drawn with their ``_meta`` remarks highlighted in
    place; each highlighted path gets an anchor the Privacy panel links to."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.row = row
        self.payload = _dict(row.get("payload"))
        self.meta = _dict(self.payload.get("_meta"))
        self.remarks = remarks_of(self.meta)
        self.anchors: dict[Path, str] = {}
        self.by_path: dict[Path, list[Remark]] = {}
        self.prefixes: set[Path] = set()  # every path that has a remark at or below it
        for remark in self.remarks:
            self.anchors.setdefault(remark.path, f"r{len(self.anchors) + 1}")
            self.by_path.setdefault(remark.path, []).append(remark)
            self.prefixes.update(remark.path[:i] for i in range(len(remark.path) + 1))
        self.shown: set[Path] = set()
        etype, evalue = _title_parts(self.payload)
        self.etype, self.evalue = etype, evalue
        self.title = _one_line(f"{etype}: {evalue}" if etype and evalue else etype or evalue, 120) or "event"

    # -- values with remarks ------------------------------------------------------------------

    def _mark_attrs(self, path: Path, remarks: list[Remark]) -> dict[str, object]:
        """Attributes of a highlight; the first one drawn for a path carries the path's anchor."""
        attrs: dict[str, object] = {} if path in self.shown else {"id": self.anchors[path]}
        self.shown.add(path)
        words = "; ".join(f"{r.rule} ({r.action_word})" for r in remarks)
        length = next((r.length for r in remarks if r.length is not None), None)
        if length is not None:
            words += f"; original length {length}"
        attrs.update(class_="redacted", title=words, data_rule=remarks[0].rule)
        return attrs

    def _remarks_at(self, path: Path) -> list[Remark]:
        return self.by_path.get(path, [])

    def text(self, value: str, path: Path) -> Html:
        """A string, with the spans its remarks point at (or the whole string) marked."""
        remarks = self._remarks_at(path)
        if not remarks:
            return visible(value)
        ranged = sorted(
            (r for r in remarks if r.start is not None and r.end is not None and 0 <= r.start < r.end <= len(value)),
            key=lambda r: (r.start or 0, r.end or 0),
        )
        whole = [r for r in remarks if r not in ranged]
        parts: list[Html] = []
        pos = 0
        for r in ranged:
            start, end = r.start or 0, r.end or 0
            if start < pos:
                continue  # overlapping spans: the first one wins
            parts.append(visible(value[pos:start]))
            parts.append(el("mark", visible(value[start:end]), **self._mark_attrs(path, [r])))
            pos = end
        parts.append(visible(value[pos:]))
        inner = join(parts)
        if whole:
            return el("mark", inner, **self._mark_attrs(path, whole))
        return inner

    def value(self, value: Any, path: Path, depth: int = 0) -> Html:
        """Any JSON value, nested tables for objects; remarks highlighted wherever they point."""
        if isinstance(value, str):
            return el("span", self.text(value, path), class_="v-str")
        remarks = self._remarks_at(path)
        if depth > _MAX_DEPTH:
            inner: Html = el("span", _json_text(value, indent=False)[:2000], class_="v-deep")
        elif isinstance(value, dict):
            inner = self._object(value, path, depth)
        elif isinstance(value, list):
            inner = self._array(value, path, depth)
        elif value is None:
            inner = el("span", "null", class_="v-null")
        elif isinstance(value, bool):
            inner = el("span", "true" if value else "false", class_="v-bool")
        else:
            inner = el("span", _json_text(value, indent=False), class_="v-num")
        if remarks:
            block = isinstance(value, (dict, list))
            return el("div" if block else "mark", inner, **self._mark_attrs(path, remarks))
        return inner

    def _removed_rows(self, present: Mapping[str, Any], path: Path) -> list[Html]:
        """Rows for keys a rule removed (``x``): gone from the data, still named in ``_meta``."""
        rows = []
        for key, child in _meta_node(self.meta, path).items():
            if key == "" or key in present or not isinstance(child, dict):
                continue
            remarks = self._remarks_at((*path, key))
            if remarks and any(r.action == "x" for r in remarks):
                mark = el("mark", "(removed)", **self._mark_attrs((*path, key), remarks))
                rows.append(el("tr", el("th", visible(key)), el("td", mark), class_="removed"))
        return rows

    def _object(self, value: Mapping[str, Any], path: Path, depth: int) -> Html:
        rows: list[Html] = []
        for i, (key, child) in enumerate(value.items()):
            if i == _MAX_ITEMS:
                rows.append(el("tr", el("td", f"\u2026 {len(value) - i} more (see the raw JSON)", colspan="2")))
                break
            child_path = (*path, str(key))
            rows.append(el("tr", el("th", visible(str(key))), el("td", self.value(child, child_path, depth + 1))))
        rows += self._removed_rows(value, path)
        if not rows:
            return el("span", "{}", class_="v-empty")
        return el("table", el("tbody", rows), class_="kv")

    def _array(self, value: list[Any], path: Path, depth: int) -> Html:
        if not value:
            return el("span", "[]", class_="v-empty")
        items = [el("li", self.value(child, (*path, str(i)), depth + 1)) for i, child in enumerate(value[:_MAX_ITEMS])]
        if len(value) > _MAX_ITEMS:
            items.append(el("li", f"\u2026 {len(value) - _MAX_ITEMS} more (see the raw JSON)", class_="more"))
        return el("ol", items, start="0", class_="v-list")

    # -- sections -------------------------------------------------------------------------------

    def _fact(self, label: str, key: str) -> tuple[str, Html] | None:
        if key not in self.payload or self.payload[key] in (None, ""):
            return None
        return label, self.value(self.payload[key], (key,))

    def overview(self) -> Html:
        trace = _dict(_dict(self.payload.get("contexts")).get("trace"))
        sdk = _dict(self.payload.get("sdk"))
        sdk_text = " ".join(x for x in (_str(sdk.get("name")), _str(sdk.get("version"))) if x)
        received = _str(self.row.get("received_at"))
        facts: list[tuple[str, Html] | None] = [
            ("Event id", el("code", _str(self.row.get("event_id")))),
            self._fact("Transaction", "transaction"),
            ("Received", el("time", _local(received), datetime=received)),
            self._fact("Release", "release"),
            ("Occurred", el("time", _local(self.payload["timestamp"])))
            if self.payload.get("timestamp") is not None
            else None,
            self._fact("Environment", "environment"),
            ("Trace id", el("span", self.value(trace["trace_id"], ("contexts", "trace", "trace_id")), id="trace-id"))
            if "trace_id" in trace
            else None,
            self._fact("Dist", "dist"),
            ("Span id", self.value(trace["span_id"], ("contexts", "trace", "span_id"))) if "span_id" in trace else None,
            self._fact("Server", "server_name"),
            self._fact("Level", "level"),
            self._fact("Platform", "platform"),
            self._fact("Logger", "logger"),
            ("SDK", esc(sdk_text)) if sdk_text else None,
            ("Stored", esc(f"{_bytes(int(self.row.get('size') or 0))} via /{_str(self.row.get('endpoint'))}/")),
        ]
        items = [el("div", el("dt", f[0]), el("dd", f[1])) for f in facts if f is not None]
        return el("section", el("h2", "Event"), el("dl", items, class_="facts"), id="overview")

    def message(self) -> Html | None:
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
        in_app = frame.get("in_app") is True
        function = _str(frame.get("function")) or "?"
        filename = _str(frame.get("filename")) or _str(frame.get("abs_path")) or _str(frame.get("module")) or "?"
        lineno = _int(frame.get("lineno"))
        where = f"{filename}:{lineno}" if lineno is not None else filename
        pre = [x for x in _list(frame.get("pre_context"))]
        post = [x for x in _list(frame.get("post_context"))]
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
            if isinstance(variables, dict) and (variables or _meta_node(self.meta, (*path, "vars")))
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
                el("span", f"{_str(frame.get('module'))}", class_="module") if frame.get("module") else None,
            ),
            details or el("p", "No source context or variables for this frame.", class_="muted"),
            class_="frame in-app" if in_app else "frame",
            open=in_app or has_remarks,
        )

    def stacktrace(self, stacktrace: Any, path: Path) -> Html | None:
        frames = _list(_dict(stacktrace).get("frames"))
        if not frames:
            return None
        items = [self.frame(f, (*path, "frames", str(i))) for i, f in enumerate(frames) if isinstance(f, dict)]
        return el(
            "div",
            el(
                "p",
                f"{_plural(len(items), 'frame')}, most recent call last; in-app frames are expanded",
                class_="muted",
            ),
            items,
            class_="frames",
        )

    def exceptions(self) -> Html | None:
        container = self.payload.get("exception")
        values = _values(container)
        base: Path = ("exception", "values") if isinstance(container, dict) else ("exception",)
        blocks = []
        count = len(values)
        for index in range(count - 1, -1, -1):  # the raised exception first, then its causes
            exc = values[index]
            if not isinstance(exc, dict):
                continue
            path = (*base, str(index))
            mechanism = _dict(exc.get("mechanism"))
            handled = mechanism.get("handled")
            notes = [
                f"mechanism {_one_line(mechanism.get('type'), 40)}" if mechanism.get("type") else None,
                "handled" if handled is True else "unhandled" if handled is False else None,
                f"module {_one_line(exc.get('module'), 80)}" if exc.get("module") else None,
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
                el("span", visible(_str(exc.get("type")) or "Exception"), class_="etype"),
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
        blocks = []
        top = self.stacktrace(self.payload.get("stacktrace"), ("stacktrace",))
        if top is not None:
            blocks.append(el("div", el("h3", "Stack trace"), top))
        threads = self.payload.get("threads")
        base: Path = ("threads", "values") if isinstance(threads, dict) else ("threads",)
        for i, thread in enumerate(_values(threads)):
            if not isinstance(thread, dict):
                continue
            trace = self.stacktrace(thread.get("stacktrace"), (*base, str(i), "stacktrace"))
            if trace is None:
                continue
            name = _one_line(thread.get("name"), 80) or f"thread {_one_line(str(thread.get('id', i)), 40)}"
            flags = " (crashed)" if thread.get("crashed") is True else " (current)" if thread.get("current") else ""
            blocks.append(el("div", el("h3", f"Thread {name}{flags}"), trace))
        if not blocks:
            return None
        return el("section", el("h2", "Stack traces"), blocks, id="threads")

    def breadcrumbs(self) -> Html | None:
        container = self.payload.get("breadcrumbs")
        crumbs = _values(container)
        base: Path = ("breadcrumbs", "values") if isinstance(container, dict) else ("breadcrumbs",)
        items = []
        for i, crumb in enumerate(crumbs):
            if not isinstance(crumb, dict):
                continue
            path = (*base, str(i))
            level = _str(crumb.get("level")) or "info"
            extra = {
                k: v for k, v in crumb.items() if k not in ("timestamp", "category", "message", "level", "type", "data")
            }
            items.append(
                el(
                    "li",
                    el(
                        "div",
                        el(
                            "time", _clock(crumb.get("timestamp")), title=_one_line(str(crumb.get("timestamp", "")), 60)
                        ),
                        el("span", _one_line(crumb.get("category"), 60) or "default", class_="cat"),
                        el("span", _one_line(crumb.get("type"), 40), class_="muted") if crumb.get("type") else None,
                        el("span", level, class_=f"lvl {_level_class(level)}"),
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
        request = self.payload.get("request")
        if not isinstance(request, dict) or not request:
            return None
        line = el(
            "p",
            el("span", _one_line(request.get("method"), 16), class_="method") if request.get("method") else None,
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
        if key not in self.payload and not _meta_node(self.meta, (key,)):
            return None
        value = self.payload.get(key)
        if value in (None, {}, []) and not _meta_node(self.meta, (key,)):
            return None
        return el("section", el("h2", title), self.value(value if value is not None else {}, (key,)), id=key)

    def tags(self) -> Html | None:
        tags = self.payload.get("tags")
        if isinstance(tags, list):  # [[key, value], ...]
            chips = []
            for i, pair in enumerate(tags):
                pair = _list(pair)
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
        contexts = self.payload.get("contexts")
        if not isinstance(contexts, dict) or not contexts:
            return None
        cards = [
            el("div", el("h3", visible(str(name))), self.value(ctx, ("contexts", str(name))), class_="context")
            for name, ctx in contexts.items()
        ]
        return el("section", el("h2", "Contexts"), el("div", cards, class_="contexts"), id="contexts")

    def other(self) -> Html | None:
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
        row_id = int(self.row["id"])
        return el(
            "section",
            el(
                "details",
                el("summary", el("h2", "Raw JSON")),
                el("pre", visible(_json_text(self.payload)), class_="raw", id="raw-json"),
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
        level = _str(self.row.get("level")) or "error"
        location = _location(self.payload)
        head = el(
            "div",
            el("p", el("a", "\u2190 all events", href="/"), class_="crumbs"),
            el(
                "h1",
                el("span", level, class_=f"lvl {_level_class(level)}"),
                " ",
                el("span", visible(self.etype), class_="etype") if self.etype else None,
                el("span", ": ", class_="muted") if self.etype and self.evalue else None,
                el("span", visible(_one_line(self.evalue, 400)), class_="evalue") if self.evalue else None,
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
