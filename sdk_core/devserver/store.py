"""SQLite storage for the development receiver (:mod:`sdk_core.devserver.receiver`).

One connection guarded by a lock: the receiver's request threads write through it, and
``read_*`` helpers open their own short-lived connection. File databases use WAL so that
``python -m sdk_core events`` can read while ``serve`` is writing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import orjson

from sdk_core.devserver import items as _items
from sdk_core.devserver import traces as _traces

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT    NOT NULL,
    received_at       TEXT    NOT NULL,
    project_id        INTEGER NOT NULL,
    endpoint          TEXT    NOT NULL,
    level             TEXT    NOT NULL,
    summary           TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    envelope_header   TEXT    NOT NULL,
    payload           TEXT    NOT NULL,
    server_redactions TEXT
);
CREATE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE TABLE IF NOT EXISTS client_reports (
    reason   TEXT    NOT NULL,
    category TEXT    NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (reason, category)
);
"""

_EVENT_COLUMNS = (
    "id, event_id, received_at, project_id, endpoint, level, summary, size, envelope_header, payload, server_redactions"
)


class StoreClosed(RuntimeError):
    """The store was closed (the receiver is stopping) while a request still wanted it."""


class NotAReceiverDatabase(ValueError):
    """The file exists but is not a database written by the receiver."""


def dumps(value: Any) -> str:
    """Compact JSON text; falls back to the stdlib for what orjson refuses (lone surrogates, big ints)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), default=repr)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


class ReceiverStore:
    """Thread-safe writer for one receiver database (``None`` means in memory)."""

    def __init__(self, db_path: str | None) -> None:
        self.path = db_path if db_path is not None else ":memory:"
        self._lock = threading.Lock()
        self._closed = False
        self._conn = _connect(self.path)
        try:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL").fetchall()
                self._conn.execute("PRAGMA synchronous = NORMAL")
            with self._conn:
                self._conn.executescript(_SCHEMA + _items.SCHEMA)
                self._conn.executescript(_traces.SCHEMA)
            version = self._meta_get("schema_version")
            if version is None:
                with self._conn:
                    self._meta_set("schema_version", str(SCHEMA_VERSION))
            elif version != str(SCHEMA_VERSION):
                raise NotAReceiverDatabase(
                    f"{self.path}: receiver schema version {version}, this SDK knows {SCHEMA_VERSION}"
                )
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise NotAReceiverDatabase(f"{self.path}: not usable as a receiver database ({exc})") from exc
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; later calls raise :class:`StoreClosed`. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("receiver store is closed")

    # -- meta ------------------------------------------------------------------------------

    def _meta_get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _meta_set(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _bump(self, counters: Mapping[str, int]) -> None:
        for key, amount in counters.items():
            cur = self._conn.execute(
                "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = ?",
                (int(amount), key),
            )
            if cur.rowcount == 0:
                self._meta_set(key, str(int(amount)))

    def public_key(self, wanted: str | None, make: Callable[[], str]) -> str:
        """The persisted key: ``wanted`` if given (and then persisted), else the stored one, else ``make()``."""
        with self._lock:
            self._check_open()
            stored = self._meta_get("public_key")
            key = wanted if wanted is not None else stored if stored is not None else make()
            if key != stored:
                with self._conn:
                    self._meta_set("public_key", key)
            return key

    def bump(self, counters: Mapping[str, int]) -> None:
        """Add to the integer stats in ``meta`` (``bytes_received``, ``rejected_400``, ...)."""
        if not counters:
            return
        with self._lock:
            self._check_open()
            with self._conn:
                self._bump(counters)

    # -- writes ----------------------------------------------------------------------------

    def store(
        self,
        events: Iterable[Mapping[str, Any]],
        client_reports: Iterable[tuple[str, str, int]],
        counters: Mapping[str, int],
        transactions: Iterable[tuple[Any, ...]] = (),
        items: Iterable[_items.ItemRow] = (),
    ) -> list[int]:
        """Write one envelope's events, transactions (rows from ``traces.row_for``), client-report
        outcomes and stats in one database transaction.

        Each event mapping carries the columns; ``envelope_header``, ``payload`` and
        ``server_redactions`` are already JSON text (the caller serialises outside the lock).
        """
        rows = [
            (
                str(ev["event_id"]),
                str(ev["received_at"]),
                int(ev["project_id"]),
                str(ev["endpoint"]),
                str(ev["level"]),
                str(ev["summary"]),
                int(ev["size"]),
                str(ev["envelope_header"]),
                str(ev["payload"]),
                None if ev.get("server_redactions") is None else str(ev["server_redactions"]),
            )
            for ev in events
        ]
        ids: list[int] = []
        with self._lock:
            self._check_open()
            with self._conn:
                for row in rows:
                    cur = self._conn.execute(
                        "INSERT INTO events (event_id, received_at, project_id, endpoint, level, summary,"
                        " size, envelope_header, payload, server_redactions)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    ids.append(int(cur.lastrowid or 0))
                _traces.insert(self._conn, transactions)
                for reason, category, quantity in client_reports:
                    cur = self._conn.execute(
                        "UPDATE client_reports SET quantity = quantity + ? WHERE reason = ? AND category = ?",
                        (quantity, reason, category),
                    )
                    if cur.rowcount == 0:
                        self._conn.execute(
                            "INSERT INTO client_reports (reason, category, quantity) VALUES (?, ?, ?)",
                            (reason, category, quantity),
                        )
                _items.insert(self._conn, items)
                self._bump(counters)
        return ids

    # -- reads (same connection; used by Receiver for in-memory databases) -------------------

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events, oldest first (the last ``limit`` ones when given), payloads decoded."""
        with self._lock:
            self._check_open()
            return _select_events(self._conn, limit)

    def transactions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored transactions, oldest first (the last ``limit`` ones when given), payloads decoded."""
        with self._lock:
            self._check_open()
            return _traces.select(self._conn, limit)

    def trace_list(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: one summary per trace (for the console's traces page)."""
        with self._lock:
            self._check_open()
            return _traces.traces(self._conn, limit)

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """One trace's transactions, full payloads, in start order."""
        with self._lock:
            self._check_open()
            return _traces.of_trace(self._conn, trace_id)

    def trace_errors(self, trace_id: str) -> list[dict[str, Any]]:
        """Error events that belong to one trace (newest first, light columns)."""
        with self._lock:
            self._check_open()
            return _traces.errors_of(self._conn, trace_id)

    def client_reports(self) -> list[dict[str, Any]]:
        """Aggregated client-report outcomes: ``[{"reason", "category", "quantity"}]``."""
        with self._lock:
            self._check_open()
            return _select_client_reports(self._conn)

    def items(self, kind: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Stored logs, check-ins, session aggregates, attachments (see ``items.select_items``)."""
        with self._lock:
            self._check_open()
            return _items.select_items(self._conn, kind, **filters)

    def events_with_text(self, text: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first: ``{id, event_id, level, summary}`` of events whose payload contains ``text``
        (the console's trace page looks up a trace id this way)."""
        with self._lock:
            self._check_open()
            rows = self._conn.execute(
                "SELECT id, event_id, level, summary FROM events WHERE instr(payload, ?) > 0 ORDER BY id DESC LIMIT ?",
                (text, max(0, int(limit))),
            ).fetchall()
        return [{"id": r[0], "event_id": r[1], "level": r[2], "summary": r[3]} for r in rows]

    def attachment(self, row_id: int) -> tuple[dict[str, Any], bytes] | None:
        """One attachment's metadata and bytes, or None."""
        with self._lock:
            self._check_open()
            return _items.select_attachment(self._conn, row_id)

    def stats(self) -> dict[str, Any]:
        """The ingest counters (requests, bytes_received, status_<code>, events_stored, ...)."""
        with self._lock:
            self._check_open()
            return _select_stats(self._conn)

    # -- reads for the web console (sdk_core.devserver.console) ------------------------------

    def listing(
        self, *, level: str | None = None, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Newest first: the light columns of up to ``limit`` events (no payload).

        ``level`` filters on the stored level; ``before``/``after`` bound the row id (exclusive).
        """
        where: list[str] = []
        args: list[Any] = []
        if level is not None:
            where.append("level = ?")
            args.append(level)
        if before is not None:
            where.append("id < ?")
            args.append(int(before))
        if after is not None:
            where.append("id > ?")
            args.append(int(after))
        sql = "SELECT id, event_id, received_at, level, summary, size, server_redactions FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(0, int(limit)))
        with self._lock:
            self._check_open()
            rows = self._conn.execute(sql, args).fetchall()
        return [
            {
                "id": r[0],
                "event_id": r[1],
                "received_at": r[2],
                "level": r[3],
                "summary": r[4],
                "size": r[5],
                "server_redactions": _loads_column(r[6]),
            }
            for r in rows
        ]

    def payload_texts(self, ids: Iterable[int]) -> dict[int, str]:
        """``{row id: stored payload JSON text}`` for the given row ids (missing ids are absent)."""
        wanted = sorted({int(i) for i in ids})
        out: dict[int, str] = {}
        with self._lock:
            self._check_open()
            for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row_id, text in self._conn.execute(
                    f"SELECT id, payload FROM events WHERE id IN ({marks})", chunk
                ).fetchall():
                    out[int(row_id)] = str(text)
        return out

    def event_row(self, row_id: int) -> dict[str, Any] | None:
        """One stored event by row id, decoded like :meth:`events` plus ``payload_text`` (as stored)."""
        with self._lock:
            self._check_open()
            row = self._conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (int(row_id),)).fetchone()
        if row is None:
            return None
        out = _decode_event_row(row)
        out["payload_text"] = str(row[9])
        return out

    def levels(self) -> list[str]:
        """The distinct stored levels."""
        with self._lock:
            self._check_open()
            return [str(r[0]) for r in self._conn.execute("SELECT DISTINCT level FROM events ORDER BY level")]

    def overview(self) -> dict[str, Any]:
        """What the console's summary strip shows: event count, newest row id, stats, client reports."""
        with self._lock:
            self._check_open()
            count, last = self._conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM events").fetchone()
            return {
                "events": int(count),
                "last_id": int(last),
                "stats": _select_stats(self._conn),
                "client_reports": _select_client_reports(self._conn),
            }


# -- read helpers shared by ReceiverStore and the module-level readers --------------------------


def _loads_column(text: Any) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _select_events(conn: sqlite3.Connection, limit: int | None) -> list[dict[str, Any]]:
    if limit is None:
        cur = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY id")
    else:
        cur = conn.execute(
            f"SELECT * FROM (SELECT {_EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT ?) ORDER BY id",
            (max(0, int(limit)),),
        )
    return [_decode_event_row(row) for row in cur.fetchall()]


def _decode_event_row(row: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "event_id": row[1],
        "received_at": row[2],
        "project_id": row[3],
        "endpoint": row[4],
        "level": row[5],
        "summary": row[6],
        "size": row[7],
        "envelope_header": _loads_column(row[8]),
        "payload": _loads_column(row[9]),
        "server_redactions": _loads_column(row[10]),
    }


def _select_client_reports(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cur = conn.execute("SELECT reason, category, quantity FROM client_reports ORDER BY reason, category")
    return [{"reason": r, "category": c, "quantity": q} for r, c, q in cur.fetchall()]


def _select_stats(conn: sqlite3.Connection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall():
        if key == "public_key":
            continue  # stats are for display; the key stays out of them
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = value
    return out


def open_for_reading(db_path: str) -> sqlite3.Connection:
    """A connection to an existing receiver database; raises FileNotFoundError / NotAReceiverDatabase."""
    if not os.path.isfile(db_path):
        raise FileNotFoundError(f"no receiver database at {db_path}")
    try:
        conn = _connect(db_path)
    except sqlite3.DatabaseError as exc:
        raise NotAReceiverDatabase(f"{db_path}: cannot open ({exc})") from exc
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotAReceiverDatabase(f"{db_path}: not a receiver database ({exc})") from exc
    if not {"meta", "events", "client_reports"} <= names:
        conn.close()
        raise NotAReceiverDatabase(f"{db_path}: not a receiver database (tables missing)")
    return conn


def read_events(db_path: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The events in a receiver database file, oldest first (the last ``limit`` when given).

    Opens its own connection, so it works while ``serve`` writes. Raises ``FileNotFoundError`` or
    :class:`NotAReceiverDatabase`.
    """
    conn = open_for_reading(db_path)
    try:
        return _select_events(conn, limit)
    finally:
        conn.close()


def read_transactions(db_path: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The transactions in a receiver database file, oldest first (see :func:`read_events`)."""
    conn = open_for_reading(db_path)
    try:
        return _traces.select(conn, limit)
    finally:
        conn.close()


def read_client_reports(db_path: str) -> list[dict[str, Any]]:
    """The aggregated client-report outcomes in a receiver database file (see :func:`read_events`)."""
    conn = open_for_reading(db_path)
    try:
        return _select_client_reports(conn)
    finally:
        conn.close()


def read_items(db_path: str, kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Logs, check-ins, session aggregates or attachments in a receiver database file, oldest first."""
    conn = open_for_reading(db_path)
    try:
        return _items.select_items(conn, kind, limit=limit)
    finally:
        conn.close()


def read_stats(db_path: str) -> dict[str, Any]:
    """The ingest counters in a receiver database file (see :func:`read_events`)."""
    conn = open_for_reading(db_path)
    try:
        return _select_stats(conn)
    finally:
        conn.close()
