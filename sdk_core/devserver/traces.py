"""Transactions in the receiver's database: one row per transaction, payload kept whole.

A table of its own (created alongside the events table), indexed by trace id, so the console can
list traces and show one trace's transactions and spans; errors link to it by their trace id.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable, Mapping

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    trace_id        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    op              TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    start_timestamp REAL    NOT NULL,
    duration_ms     REAL    NOT NULL,
    span_count      INTEGER NOT NULL,
    envelope_header TEXT    NOT NULL,
    payload         TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_trace_id ON transactions (trace_id);
"""

_COLUMNS = (
    "id, event_id, received_at, trace_id, name, op, status, start_timestamp, duration_ms, span_count,"
    " envelope_header, payload"
)


def _timestamp(value: Any) -> float:
    """A payload timestamp (float seconds or RFC 3339 text) as float seconds; 0 when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        from datetime import datetime

        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def row_for(
    payload: Mapping[str, Any], event_id: str, received_at: str, header_json: str, payload_json: str
) -> tuple[Any, ...]:
    """The column values of one received transaction (the summary columns read from its payload)."""
    contexts = payload.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, Mapping) else None
    trace = trace if isinstance(trace, Mapping) else {}
    start = _timestamp(payload.get("start_timestamp"))
    end = _timestamp(payload.get("timestamp"))
    spans = payload.get("spans")
    return (
        event_id,
        received_at,
        str(trace.get("trace_id") or ""),
        str(payload.get("transaction") or "<unnamed>")[:500],
        str(trace.get("op") or "default")[:100],
        str(trace.get("status") or "unknown")[:50],
        start,
        max(0.0, (end - start) * 1000.0) if start and end else 0.0,
        len(spans) if isinstance(spans, list) else 0,
        header_json,
        payload_json,
    )


def format_transaction_line(row: tuple[Any, ...]) -> str:
    """The ``serve`` line for a row from ``row_for``: id, name, duration, span count, status."""
    from sdk_core.devserver.summaries import one_line

    event_id, _received, _trace, name, _op, status, _start, duration, spans = row[:9]
    return f"[transaction] {str(event_id)[:8]}\u2026 {one_line(name, 200)} {duration:.1f} ms, {spans} spans, {status}"


def insert(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Write rows built by ``row_for`` (inside the caller's database transaction)."""
    conn.executemany(
        "INSERT INTO transactions (event_id, received_at, trace_id, name, op, status, start_timestamp,"
        " duration_ms, span_count, envelope_header, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(rows),
    )


def _decode(row: Any, full: bool) -> dict[str, Any]:
    out = {
        "id": row[0],
        "event_id": row[1],
        "received_at": row[2],
        "trace_id": row[3],
        "name": row[4],
        "op": row[5],
        "status": row[6],
        "start_timestamp": row[7],
        "duration_ms": row[8],
        "span_count": row[9],
    }
    if full:
        out["envelope_header"] = orjson.loads(row[10])
        out["payload"] = orjson.loads(row[11])
    return out


def _has_table(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transactions'").fetchone()
    return found is not None


def select(conn: sqlite3.Connection, limit: int | None = None, *, full: bool = True) -> list[dict[str, Any]]:
    """Stored transactions, oldest first (the last ``limit`` ones when given)."""
    if not _has_table(conn):
        return []
    if limit is None:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM transactions ORDER BY id").fetchall()
    else:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM transactions ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        rows.reverse()
    return [_decode(r, full) for r in rows]


def traces(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first: one entry per trace (its first transaction's name, count, total span count)."""
    if not _has_table(conn):
        return []
    rows = conn.execute(
        "SELECT trace_id, MIN(start_timestamp), MAX(start_timestamp + duration_ms / 1000.0), COUNT(*),"
        " SUM(span_count), MAX(id), SUM(status != 'ok')"
        " FROM transactions GROUP BY trace_id ORDER BY MAX(id) DESC LIMIT ?",
        (limit,),
    ).fetchall()
    out = []
    for trace_id, start, end, count, spans, last_id, failed in rows:
        first = conn.execute(
            "SELECT name, op FROM transactions WHERE trace_id = ? ORDER BY start_timestamp, id LIMIT 1", (trace_id,)
        ).fetchone()
        out.append(
            {
                "trace_id": trace_id,
                "name": first[0] if first else "",
                "op": first[1] if first else "",
                "start_timestamp": start,
                "duration_ms": max(0.0, (end - start) * 1000.0),
                "transactions": count,
                "spans": spans,
                "failed": failed,
                "last_id": last_id,
            }
        )
    return out


def of_trace(conn: sqlite3.Connection, trace_id: str) -> list[dict[str, Any]]:
    """One trace's transactions, full payloads, in start order."""
    if not _has_table(conn):
        return []
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM transactions WHERE trace_id = ? ORDER BY start_timestamp, id", (trace_id,)
    ).fetchall()
    return [_decode(r, True) for r in rows]


def errors_of(conn: sqlite3.Connection, trace_id: str) -> list[dict[str, Any]]:
    """Error events of one trace (their ``contexts.trace.trace_id``), newest first, light columns."""
    rows = conn.execute(
        "SELECT id, event_id, level, summary FROM events WHERE payload LIKE ? ORDER BY id DESC LIMIT 200",
        (f'%"trace_id":"{trace_id}"%',),
    ).fetchall()
    return [{"id": r[0], "event_id": r[1], "level": r[2], "summary": r[3]} for r in rows]
