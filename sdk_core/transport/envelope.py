"""Sentry envelope: headers and items to bytes, and bytes back (:func:`parse`). Protocol only, no I/O.

Building lives here too: the headers an event envelope carries (``event_id``, ``sent_at``, ``sdk``
and the ``trace`` dynamic sampling context) and the client-report envelope.
"""

from __future__ import annotations

import json
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
    """One envelope item: its type, raw payload bytes and the other item-header keys."""

    type: str
    payload: bytes
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def category(self) -> str:
        """The rate-limit / client-report category of this item type."""
        return CATEGORY_BY_TYPE.get(self.type, "default")

    @property
    def quantity(self) -> int:
        """How many things the item counts as in client reports: a container's ``item_count``, an
        attachment's bytes (the protocol counts attachments in bytes), else 1."""
        if self.type == "attachment":
            return len(self.payload)
        count = self.headers.get("item_count")
        return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1


@dataclass
class Envelope:
    """Envelope headers and items: what one POST to ``/api/<project>/envelope/`` carries."""

    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The ``event_id`` header, when it is a string."""
        value = self.headers.get("event_id")
        return value if isinstance(value, str) else None

    def serialize(self) -> bytes:
        """The wire format: header line, then per item a header line (with ``length``) and the payload."""
        parts = [orjson.dumps(self.headers)]
        for item in self.items:
            headers = {"type": item.type, "length": len(item.payload), **item.headers}
            parts.append(orjson.dumps(headers))
            parts.append(item.payload)
        return b"\n".join(parts) + b"\n"

    def without(self, categories: set[str]) -> Envelope:
        """A copy without the items of ``categories`` (rate-limited ones are dropped, the rest sent)."""
        return Envelope(self.headers, [i for i in self.items if i.category not in categories])


class EnvelopeParseError(ValueError):
    """The bytes are not a well-formed envelope (the receiver answers 400; the spool drops the file)."""


def loads(data: bytes) -> Any:
    """Strict JSON (valid UTF-8, no NaN/Infinity), as envelope parts must be; raises ValueError.

    orjson first; what it refuses but JSON allows (lone surrogate escapes) the stdlib decides.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=no_constants)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = loads(data)
    except ValueError:
        raise EnvelopeParseError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeParseError(f"{what} is not a JSON object")
    return value


def parse(data: bytes) -> Envelope:
    """Split envelope bytes into headers and items; the one parser (receiver, spool, tests).

    ``Envelope = Headers { "\\n" Item } [ "\\n" ]`` (Relay's reading): an item's payload is ``length``
    bytes followed by a newline (or the end), or runs to the next newline when the item header has
    no ``length``. Blank lines between items are tolerated, ``\\r\\n`` too. Item headers keep every
    key but ``type`` and ``length``. Raises :class:`EnvelopeParseError` when malformed.
    """
    end = len(data)
    nl = data.find(b"\n")
    headers = _json_object(data if nl < 0 else data[:nl], "envelope header")
    pos = end if nl < 0 else nl + 1
    items: list[Item] = []
    while pos < end:
        if data[pos] == 0x0A or data.startswith(b"\r\n", pos):  # blank line: tolerated, like a trailing \n
            pos += 1 if data[pos] == 0x0A else 2
            continue
        nl = data.find(b"\n", pos)
        item_headers = _json_object(data[pos : end if nl < 0 else nl], "item header")
        item_type = item_headers.pop("type", None)
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeParseError("item header without a 'type'")
        start = end if nl < 0 else nl + 1
        length = item_headers.pop("length", None)
        if length is None:
            nl = data.find(b"\n", start)
            payload, pos = data[start : end if nl < 0 else nl], (end if nl < 0 else nl + 1)
        else:
            if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                raise EnvelopeParseError("item 'length' is not a non-negative integer")
            stop = start + length
            if stop > end:
                raise EnvelopeParseError("item 'length' runs past the end of the envelope")
            payload = data[start:stop]
            if stop == end:
                pos = end
            elif data[stop] == 0x0A:
                pos = stop + 1
            elif data.startswith(b"\r\n", stop):
                pos = stop + 2
            else:
                raise EnvelopeParseError("no newline after an item payload of the declared 'length'")
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
    dsc: dict[str, Any] | None = None,
) -> Envelope:
    """The envelope for one serialised event or transaction: headers built from the processed event.

    ``trace`` (the dynamic sampling context) is ``dsc`` when the event belongs to a traced span,
    else built from the event's trace id, so a server can tie it to its trace before parsing it.
    """
    headers: dict[str, Any] = {
        "event_id": event.get("event_id"),
        "sent_at": format_timestamp(time.time()),
        "sdk": sdk_header(),
    }
    contexts = event.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    if dsc is not None:
        headers["trace"] = dsc
    elif isinstance(trace, dict) and isinstance(trace.get("trace_id"), str):
        minimal: dict[str, Any] = {"trace_id": trace["trace_id"], "environment": environment}
        if public_key is not None:
            minimal["public_key"] = public_key
        if release:
            minimal["release"] = release
        headers["trace"] = minimal
    item_type = "transaction" if event.get("type") == "transaction" else "event"
    return Envelope(headers, [Item(item_type, payload, {"content_type": "application/json"})])


def items_envelope(items: list[Item], event_id: str | None = None) -> Envelope:
    """An envelope for items that are not events (logs, check-ins, sessions): ``sdk`` and ``sent_at``."""
    headers: dict[str, Any] = {"sent_at": format_timestamp(time.time()), "sdk": sdk_header()}
    if event_id is not None:
        headers["event_id"] = event_id
    return Envelope(headers, items)


def client_report_envelope(item: Item) -> Envelope:
    """An envelope carrying only a client report (no event to ride on)."""
    return Envelope({"sdk": sdk_header()}, [item])


def refresh_sent_at(envelope: Envelope) -> None:
    """A retried or replayed envelope says when it really left: servers correct clock drift with it."""
    if "sent_at" in envelope.headers:
        envelope.headers["sent_at"] = format_timestamp(time.time())


def client_report_item(timestamp: float, discarded: dict[tuple[str, str], int]) -> Item:
    """A ``client_report`` item telling the server what the SDK discarded, by reason and category."""
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
    "items_envelope",
    "loads",
    "parse",
    "refresh_sent_at",
    "sdk_header",
]
