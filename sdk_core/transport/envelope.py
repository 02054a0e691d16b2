"""Sentry envelope: headers and items in, bytes out. Protocol only, no I/O.

Building lives here too: the headers an event envelope carries (``event_id``, ``sent_at``, ``sdk``
and the ``trace`` dynamic sampling context) and the client-report envelope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._version import SDK_NAME, VERSION
from ..event import format_timestamp

CATEGORY_BY_TYPE = {
    "event": "error",
    "transaction": "transaction",
    "attachment": "attachment",
    "session": "session",
    "sessions": "session",
    "check_in": "monitor",
    "log": "log_item",
    "client_report": "internal",
}


@dataclass
class Item:
    """One envelope item: its type, payload bytes and extra item headers."""

    type: str
    payload: bytes
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def category(self) -> str:
        """The rate-limit and client-report category of this item's type."""
        return CATEGORY_BY_TYPE.get(self.type, "default")


@dataclass
class Envelope:
    """Envelope headers and items: the unit a transport sends, retries and spools."""

    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The event id header, if this envelope carries an event."""
        value = self.headers.get("event_id")
        return value if isinstance(value, str) else None

    def serialize(self) -> bytes:
        """The wire format: header line, then each item's header line and payload."""
        parts = [orjson.dumps(self.headers)]
        for item in self.items:
            headers = {"type": item.type, "length": len(item.payload), **item.headers}
            parts.append(orjson.dumps(headers))
            parts.append(item.payload)
        return b"\n".join(parts) + b"\n"

    def without(self, categories: set[str]) -> Envelope:
        """A copy without the items of ``categories`` (rate-limited ones)."""
        return Envelope(self.headers, [i for i in self.items if i.category not in categories])


class EnvelopeParseError(ValueError):
    """The bytes are not an envelope."""


def parse(data: bytes) -> Envelope:
    """Parse envelope bytes (used by the in-memory transport, the spool and tests)."""
    header_line, _sep, rest = data.partition(b"\n")
    try:
        headers = orjson.loads(header_line)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeParseError("envelope header is not JSON") from exc
    if not isinstance(headers, dict):
        raise EnvelopeParseError("envelope header is not an object")
    items: list[Item] = []
    pos = 0
    while pos < len(rest):
        line_end = rest.find(b"\n", pos)
        if line_end == -1:
            line_end = len(rest)
        line = rest[pos:line_end]
        pos = line_end + 1
        if not line.strip():
            continue
        try:
            item_headers = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeParseError("item header is not JSON") from exc
        if not isinstance(item_headers, dict) or not isinstance(item_headers.get("type"), str):
            raise EnvelopeParseError("item header has no type")
        length = item_headers.pop("length", None)
        if length is None:
            end = rest.find(b"\n", pos)
            end = len(rest) if end == -1 else end
            payload, pos = rest[pos:end], end + 1
        else:
            if not isinstance(length, int) or length < 0 or pos + length > len(rest):
                raise EnvelopeParseError("item length is out of range")
            payload, pos = rest[pos : pos + length], pos + length + 1
        item_type = item_headers.pop("type")
        items.append(Item(item_type, payload, item_headers))
    return Envelope(headers, items)


def sdk_header() -> dict[str, str]:
    """The ``sdk`` envelope header: who sent it."""
    return {"name": SDK_NAME, "version": VERSION}


def event_envelope(
    event: dict[str, Any],
    payload: bytes,
    *,
    environment: str,
    public_key: str | None,
    release: str | None,
) -> Envelope:
    """The envelope for one serialised event: headers built from the processed event.

    ``trace`` (the dynamic sampling context) is added when the event has a trace id, so a server
    can tie the error to its trace before it parses the payload.
    """
    headers: dict[str, Any] = {
        "event_id": event.get("event_id"),
        "sent_at": format_timestamp(time.time()),
        "sdk": sdk_header(),
    }
    contexts = event.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    if isinstance(trace, dict) and isinstance(trace.get("trace_id"), str):
        dsc: dict[str, Any] = {"trace_id": trace["trace_id"], "environment": environment}
        if public_key is not None:
            dsc["public_key"] = public_key
        if release:
            dsc["release"] = release
        headers["trace"] = dsc
    return Envelope(headers, [Item("event", payload, {"content_type": "application/json"})])


def client_report_envelope(item: Item) -> Envelope:
    """An envelope carrying only a client report (no event to ride on)."""
    return Envelope({"sdk": sdk_header()}, [item])


def refresh_sent_at(envelope: Envelope) -> None:
    """A retried or replayed envelope says when it really left: servers correct clock drift with it."""
    if "sent_at" in envelope.headers:
        envelope.headers["sent_at"] = format_timestamp(time.time())


def client_report_item(timestamp: float, discarded: dict[tuple[str, str], int]) -> Item:
    """A ``client_report`` item with discard counts by (reason, category)."""
    payload = {
        "timestamp": timestamp,
        "discarded_events": [
            {"reason": reason, "category": category, "quantity": quantity}
            for (reason, category), quantity in discarded.items()
        ],
    }
    return Item("client_report", orjson.dumps(payload))


__all__ = [
    "CATEGORY_BY_TYPE",
    "Envelope",
    "EnvelopeParseError",
    "Item",
    "client_report_envelope",
    "event_envelope",
    "parse",
    "refresh_sent_at",
    "sdk_header",
]
