"""The items that are not events: logs, check-ins, session aggregates and attachments.

Ingest turns each into rows of one ``items`` table (a log container gives one row per log), the
store writes them in the envelope's transaction, and ``events --type`` / the console read them.
Row: ``kind`` (``log``, ``check_in``, ``session``, ``attachment``), ``event_id`` (an attachment's
event), ``trace_id``, ``label`` (a log's level, a monitor slug, a release, a file name),
``payload`` (the JSON object as received, scrubbed by the receiver's hook) and, for attachments,
``data`` (the bytes).
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Iterable, NamedTuple

import orjson

from sdk_core.transport.envelope import Item, loads

__all__ = ["KINDS", "SCHEMA", "ItemRow", "item_line", "rows_from_items", "select_attachment", "select_items"]

KINDS = ("log", "check_in", "session", "attachment")
"""What ``events --type`` accepts."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    event_id    TEXT,
    trace_id    TEXT,
    label       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    data        BLOB
);
CREATE INDEX IF NOT EXISTS items_kind ON items (kind, id);
CREATE INDEX IF NOT EXISTS items_event ON items (event_id);
"""


class ItemRow(NamedTuple):
    """One row of the ``items`` table, payload already JSON text."""

    kind: str
    received_at: str
    event_id: str | None
    trace_id: str | None
    label: str
    payload: str
    data: bytes | None


def _json(item: Item) -> Any:
    try:
        return loads(item.payload)
    except ValueError:
        return None


def rows_from_items(
    items: Iterable[Item],
    event_id: str | None,
    received_at: str,
    scrub: Callable[[dict[str, Any]], Any],
    dumps: Callable[[Any], str],
    counters: dict[str, int],
) -> list[ItemRow]:
    """The rows to store for an envelope's non-event items; malformed ones are counted, not fatal.

    ``scrub`` is the receiver's second-layer scrubber (it raises to refuse the whole envelope).
    """
    rows: list[ItemRow] = []

    def bad(kind: str) -> None:
        counters[f"invalid_{kind}"] = counters.get(f"invalid_{kind}", 0) + 1

    for item in items:
        if item.type == "log":
            container = _json(item)
            logs = container.get("items") if isinstance(container, dict) else None
            if not isinstance(logs, list):
                bad("log")
                continue
            for log in logs:
                if not isinstance(log, dict):
                    bad("log")
                    continue
                scrub(log)
                rows.append(
                    ItemRow("log", received_at, None, _str(log.get("trace_id")), _str(log.get("level")) or "info",
                            dumps(log), None)
                )  # fmt: skip
        elif item.type == "check_in":
            check_in = _json(item)
            if not isinstance(check_in, dict) or not isinstance(check_in.get("monitor_slug"), str):
                bad("check_in")
                continue
            scrub(check_in)
            contexts = check_in.get("contexts")
            trace = contexts.get("trace") if isinstance(contexts, dict) else None
            trace_id = _str(trace.get("trace_id")) if isinstance(trace, dict) else None
            slug = check_in["monitor_slug"]
            rows.append(ItemRow("check_in", received_at, None, trace_id, slug, dumps(check_in), None))
        elif item.type in ("sessions", "session"):
            session = _json(item)
            if not isinstance(session, dict):
                bad("session")
                continue
            attrs = session.get("attrs")
            release = _str(attrs.get("release")) if isinstance(attrs, dict) else None
            session.setdefault("item_type", item.type)
            rows.append(ItemRow("session", received_at, None, None, release or "", dumps(session), None))
        elif item.type == "attachment":
            filename = item.headers.get("filename")
            if not isinstance(filename, str) or not filename:
                bad("attachment")
                continue
            meta = {
                "filename": filename,
                "content_type": _str(item.headers.get("content_type")) or "application/octet-stream",
                "attachment_type": _str(item.headers.get("attachment_type")) or "event.attachment",
                "size": len(item.payload),
                "event_id": event_id,
            }
            rows.append(ItemRow("attachment", received_at, event_id, None, filename, dumps(meta), item.payload))
    return rows


def item_line(kind: str, label: str, payload: Any) -> str:
    """One line for a stored item, as ``serve`` prints it and ``events --type`` lists it."""
    from sdk_core.devserver.summaries import one_line

    p = payload if isinstance(payload, dict) else {}
    if kind == "log":
        return f"[log] {one_line(p.get('level'), 8)} {one_line(p.get('body'), 200)}"
    if kind == "check_in":
        duration = p.get("duration")
        took = f" {duration:.3f} s" if isinstance(duration, (int, float)) and not isinstance(duration, bool) else ""
        return f"[check_in] {one_line(label, 60)} {one_line(p.get('status'), 20)}{took}"
    if kind == "session":
        counts = {"exited": 0, "errored": 0, "crashed": 0, "abnormal": 0}
        for bucket in p.get("aggregates") or []:
            for key in counts:
                value = bucket.get(key) if isinstance(bucket, dict) else None
                counts[key] += value if isinstance(value, int) and not isinstance(value, bool) else 0
        text = " ".join(f"{k}={v}" for k, v in counts.items() if v or k != "abnormal")
        return f"[session] release={one_line(label, 80)} {text}"
    size = p.get("size")
    return f"[attachment] {one_line(label, 80)} {one_line(p.get('content_type'), 60)} {size} bytes"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def insert(conn: sqlite3.Connection, rows: Iterable[ItemRow]) -> None:
    """Write ``rows`` (inside the caller's transaction)."""
    conn.executemany(
        "INSERT INTO items (kind, received_at, event_id, trace_id, label, payload, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        list(rows),
    )


def select_items(
    conn: sqlite3.Connection,
    kind: str | None = None,
    *,
    limit: int | None = None,
    event_id: str | None = None,
    trace_id: str | None = None,
    label: str | None = None,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """Stored items, oldest first (or newest first): ``{id, kind, received_at, event_id, trace_id,
    label, payload}`` with the payload decoded (attachment bytes are not included: see
    :func:`select_attachment`)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("kind", kind), ("event_id", event_id), ("trace_id", trace_id), ("label", label)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT id, kind, received_at, event_id, trace_id, label, payload FROM items"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(max(0, int(limit)))
    try:
        rows = conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # a database written before the items table existed
        return []
    if not newest_first:
        rows.reverse()
    return [
        {
            "id": r[0],
            "kind": r[1],
            "received_at": r[2],
            "event_id": r[3],
            "trace_id": r[4],
            "label": r[5],
            "payload": orjson.loads(r[6]),
        }
        for r in rows
    ]


def select_attachment(conn: sqlite3.Connection, row_id: int) -> tuple[dict[str, Any], bytes] | None:
    """One stored attachment's metadata and bytes, or None."""
    sql = "SELECT payload, data FROM items WHERE id = ? AND kind = 'attachment'"
    row = conn.execute(sql, (int(row_id),)).fetchone()
    if row is None:
        return None
    return orjson.loads(row[0]), bytes(row[1] or b"")
