"""Ingest, part two: the Sentry endpoints, their auth and limits, and what gets stored.

* ``POST /api/<project_id>/envelope/`` and the legacy ``POST /api/<project_id>/store/``.
* Auth, first match wins: ``X-Sentry-Auth``/``Authorization: Sentry sentry_key=...``, the
  ``sentry_key`` query parameter, then the envelope header ``dsn``. Missing or wrong key, or a wrong
  project id: 403.
* Malformed envelope: 400. Body over 20 MiB (before or after decompression) or an event over 1 MiB:
  413. More than one event-like item in one envelope: 413 and nothing stored (current Relay).
* Envelopes are read by :func:`sdk_core.transport.envelope.parse`, the SDK's own parser.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import Message
from typing import Any, Callable
from urllib.parse import urlsplit

from sdk_core.devserver.body import MAX_BODY_SIZE, HttpError, decode_body, inflate
from sdk_core.devserver.items import ItemRow, rows_from_items
from sdk_core.devserver.server import Request, Response, Route
from sdk_core.devserver.store import ReceiverStore, dumps
from sdk_core.devserver.summaries import one_line, summarize
from sdk_core.devserver.traces import row_for
from sdk_core.transport.envelope import EnvelopeParseError, Item, loads, parse

__all__ = ["MAX_EVENT_SIZE", "Ingest", "ScrubHook", "credential_scrub", "key_from_auth_headers", "request_key"]

ScrubHook = Callable[[dict[str, Any]], Mapping[str, int]]
"""Second-layer scrubber: mutates an event payload in place, returns redaction counts per rule."""

MAX_EVENT_SIZE = 1024 * 1024  # Relay's max_event_size; Bugsink's MAX_EVENT_SIZE

# Relay sizes.rs: these share one `total_count: 1` limit; a second one fails the envelope with 413.
_EVENT_LIKE = frozenset({"event", "transaction", "security", "raw_security", "replay_event", "feedback", "form_data"})
_API_ENVELOPE = re.compile(r"/api/(?P<project_id>[0-9]{1,18})/envelope/?")
_API_STORE = re.compile(r"/api/(?P<project_id>[0-9]{1,18})/store/?")


def key_from_auth_headers(headers: Message) -> str | None:
    """``sentry_key`` from ``X-Sentry-Auth`` or ``Authorization: Sentry ...``; "" when unusable."""
    for name in ("X-Sentry-Auth", "Authorization"):
        value = headers.get(name)
        if value is None:
            continue
        scheme, _, params = str(value).strip().partition(" ")
        if scheme.lower() != "sentry":
            if name == "Authorization":
                continue  # somebody else's scheme; not an attempt at our auth
            return ""
        for part in params.split(","):
            key, _, val = part.strip().partition("=")
            if key.strip() == "sentry_key":
                return val.strip()
        return ""
    return None


def request_key(req: Request) -> str | None:
    """The key a request authenticates with (header, then ``?sentry_key=``); ``None`` when none."""
    key = key_from_auth_headers(req.headers)
    if key is None and "sentry_key" in req.query:
        key = req.query["sentry_key"][0]
    return key


def credential_scrub() -> ScrubHook:
    """The server-side second layer: provider-credential rules over every stored event, whatever
    the client did (scrubbing off, another SDK), so no provider key lands in the store."""
    import scrubbers

    return scrubbers.compile_rules(scrubbers.CREDENTIALS).scrub_in_place


class Ingest:
    """The ingest endpoints of one receiver: checks the key and project, parses, applies the limits,
    scrubs (fail closed), stores, and reports each stored event through ``announce``."""

    def __init__(
        self,
        store: ReceiverStore,
        project_id: int,
        public_key: str,
        *,
        scrub: ScrubHook | None,
        note: Callable[..., None],
        announce: Callable[[list[dict[str, Any]]], None],
        announce_items: Callable[[list[ItemRow]], None] | None = None,
        announce_transactions: Callable[[list[tuple[Any, ...]]], None] | None = None,
    ) -> None:
        self.project_id = project_id
        self._store = store
        self._public_key = public_key
        self._scrub = scrub
        self._note = note
        self._announce = announce
        self._announce_items = announce_items
        self._announce_transactions = announce_transactions

    def routes(self) -> list[Route]:
        """The two POST routes (the key is write-only: any other method gets 405)."""
        post = frozenset({"POST"})
        return [Route(post, _API_ENVELOPE, self._handle_envelope), Route(post, _API_STORE, self._handle_store)]

    def _check_project(self, req: Request) -> None:
        if int(req.params["project_id"]) != self.project_id:
            raise HttpError(403, "project not found or key incorrect")

    def _check_key(self, key: str) -> None:
        if not hmac.compare_digest(key.encode("utf-8", "backslashreplace"), self._public_key.encode()):
            raise HttpError(403, "project not found or key incorrect")

    def _check_dsn_header(self, envelope_headers: dict[str, Any]) -> None:
        dsn = envelope_headers.get("dsn")
        try:
            split = urlsplit(dsn) if isinstance(dsn, str) else None
            key = split.username if split is not None else None
            project = split.path.rstrip("/").rsplit("/", 1)[-1] if split is not None else ""
        except ValueError:
            key, project = None, ""
        if not key:
            raise HttpError(403, "no authentication: send X-Sentry-Auth, ?sentry_key= or an envelope 'dsn'")
        self._check_key(key)
        if project != str(self.project_id):
            raise HttpError(403, "project not found or key incorrect")

    def _handle_envelope(self, req: Request) -> Response:
        self._check_project(req)
        key = request_key(req)
        if key is not None:
            self._check_key(key)
        raw = req.body.read(MAX_BODY_SIZE)
        try:
            data = decode_body(req.headers.get("Content-Encoding"), raw)
            envelope = parse(data)
        except (HttpError, EnvelopeParseError) as exc:
            if key is None:  # an anonymous client learns nothing beyond "authenticate"
                raise HttpError(403, "no authentication found") from None
            if isinstance(exc, HttpError):
                raise
            raise HttpError(400, f"malformed envelope: {exc}") from None
        envelope_headers, items = envelope.headers, envelope.items
        if key is None:
            self._check_dsn_header(envelope_headers)
        event_like = [item for item in items if item.type in _EVENT_LIKE]
        if len(event_like) > 1:
            kinds = "/".join(sorted({item.type for item in event_like}))
            raise HttpError(413, f"envelope exceeded size limits for type '{kinds}': one event per envelope")
        for item in event_like:
            if len(item.payload) > MAX_EVENT_SIZE:
                raise HttpError(413, f"{item.type} item larger than {MAX_EVENT_SIZE} bytes")
        raw_id = envelope_headers.get("event_id")
        event_id = _event_id(raw_id)
        if raw_id is not None and event_id is None:
            raise HttpError(400, "envelope header 'event_id' is not a UUID")
        counters: dict[str, int] = {"envelopes_accepted": 1}
        for item in items:
            name = f"item_{one_line(item.type, 40)}"
            counters[name] = counters.get(name, 0) + 1
        events: list[dict[str, Any]] = []
        transactions: list[tuple[Any, ...]] = []
        for item in items:
            if item.type not in ("event", "transaction"):
                continue
            if event_id is None:  # Relay would invent one; Bugsink refuses, and so do we
                raise HttpError(400, "event_id not found in envelope headers")
            payload = _event_payload(item.payload)
            if item.type == "transaction":
                transactions.append(self._prepare_transaction(payload, event_id, envelope_headers))
                continue
            events.append(self._prepare_event(payload, event_id, envelope_headers, "envelope", len(item.payload)))
        reports = _client_report_outcomes(items, counters)
        counters["events_stored"] = len(events)
        if transactions:
            counters["transactions_stored"] = len(transactions)
        rows = rows_from_items(items, event_id, _now(), self._apply_scrub, dumps, counters)
        self._store.store(events, reports, counters, transactions=transactions, items=rows)
        self._announce(events)
        if transactions and self._announce_transactions is not None:
            self._announce_transactions(transactions)
        if rows and self._announce_items is not None:
            self._announce_items(rows)
        return Response(200, {"id": event_id} if (events or transactions) and event_id else {})

    def _prepare_transaction(
        self, payload: dict[str, Any], event_id: str, envelope_headers: dict[str, Any]
    ) -> tuple[Any, ...]:
        self._apply_scrub(payload)
        try:
            payload_json, header_json = dumps(payload), dumps(envelope_headers)
        except (ValueError, TypeError, RecursionError):
            raise HttpError(400, "transaction payload cannot be stored (nested too deeply?)") from None
        return row_for(payload, event_id, _now(), header_json, payload_json)

    def _handle_store(self, req: Request) -> Response:
        self._check_project(req)
        key = request_key(req)
        if key is None:
            raise HttpError(403, "no authentication: send X-Sentry-Auth or ?sentry_key=")
        self._check_key(key)
        data = decode_body(req.headers.get("Content-Encoding"), req.body.read(MAX_BODY_SIZE))
        if data.lstrip()[:1] not in (b"{", b""):  # pre-envelope SDKs sent base64(zlib(json))
            try:
                data = inflate(base64.b64decode(data, validate=True), MAX_BODY_SIZE)
            except (binascii.Error, ValueError):
                raise HttpError(400, "store body is neither JSON nor base64+zlib JSON") from None
        if len(data) > MAX_EVENT_SIZE:
            raise HttpError(413, f"event larger than {MAX_EVENT_SIZE} bytes")
        payload = _event_payload(data)
        raw_id = payload.get("event_id")
        event_id = _event_id(raw_id)
        if raw_id is not None and event_id is None:
            raise HttpError(400, "'event_id' is not a UUID")
        event_id = event_id or uuid.uuid4().hex
        event = self._prepare_event(payload, event_id, {}, "store", len(data))
        self._store.store([event], [], {"events_stored": 1, "item_event": 1})
        self._announce([event])
        return Response(200, {"id": event_id})

    def _prepare_event(
        self, payload: dict[str, Any], event_id: str, envelope_headers: dict[str, Any], endpoint: str, size: int
    ) -> dict[str, Any]:
        redactions = self._apply_scrub(payload)
        summary = summarize(payload)
        try:
            payload_json, header_json = dumps(payload), dumps(envelope_headers)
        except (ValueError, TypeError, RecursionError):
            raise HttpError(400, "event payload cannot be stored (nested too deeply?)") from None
        return {
            "event_id": event_id,
            "received_at": _now(),
            "project_id": self.project_id,
            "endpoint": endpoint,
            "level": summary.level,
            "summary": summary.line(),
            "size": size,
            "envelope_header": header_json,
            "payload": payload_json,
            "server_redactions": None if redactions is None else dumps(redactions),
        }

    def _apply_scrub(self, payload: dict[str, Any]) -> dict[str, int] | None:
        if self._scrub is None:
            return None
        try:
            counts = self._scrub(payload)
        except Exception as exc:  # fail closed: an unscrubbed payload is never stored
            self._note(f"[receiver] scrub hook raised {type(exc).__name__}; event not stored", force=True)
            raise HttpError(500, "server-side scrubbing failed; event not stored") from None
        if not isinstance(counts, Mapping):
            return {}
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}


def _event_payload(data: bytes) -> dict[str, Any]:
    try:
        payload = loads(data)
    except ValueError:
        raise HttpError(400, "event payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise HttpError(400, "event payload is not a JSON object")
    return payload


def _client_report_outcomes(items: list[Item], counters: dict[str, int]) -> list[tuple[str, str, int]]:
    """``(reason, category, quantity)`` from ``client_report`` items; bad reports are counted, not fatal."""
    out: list[tuple[str, str, int]] = []
    for item in items:
        if item.type != "client_report":
            continue
        try:
            report = loads(item.payload)
        except ValueError:
            report = None
        discarded = report.get("discarded_events") if isinstance(report, dict) else None
        if not isinstance(discarded, list):
            counters["client_reports_invalid"] = counters.get("client_reports_invalid", 0) + 1
            continue
        for entry in discarded:
            if not isinstance(entry, dict):
                continue
            reason, category, quantity = entry.get("reason"), entry.get("category"), entry.get("quantity")
            if (
                isinstance(reason, str)
                and isinstance(category, str)
                and isinstance(quantity, int)
                and not isinstance(quantity, bool)
                and 0 <= quantity < 2**31
            ):
                out.append((one_line(reason, 64), one_line(category, 64), quantity))
    return out


def _event_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
