"""Relay's own normaliser as the schema check for event payloads.

``sentry_relay.processing.StoreNormalizer`` is what Sentry runs on every incoming event. Relay
never rejects an event for its shape: it nulls the bad field and records why, in the event's
``errors`` list and as an ``err`` remark in ``_meta``. So an event "conforms" when normalising it
records neither; anything else means Sentry would store it with data lost.

Remarks that are not errors stay allowed: the SDK's own scrubbing remarks
(``{"": {"rem": [["password-field", "s"]], "len": 10}}``) pass through ``_meta`` untouched.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, Union

from sentry_relay.exceptions import RelayError
from sentry_relay.processing import StoreNormalizer

# Options of a processing Relay: trimming on, unknown top-level keys removed (and reported as
# invalid_attribute), timestamps more than 60 s ahead or 30 days behind reported.
_OPTIONS = {
    "project_id": 1,
    "client_ip": "127.0.0.1",
    "client": "coderadar-tests/0",
    "key_id": "1",
    "protocol_version": "7",
    "is_renormalize": False,
    "remove_other": True,
    "normalize_user_agent": True,
    "enable_trimming": True,
    "max_secs_in_future": 60,
    "max_secs_in_past": 30 * 24 * 3600,
}

Payload = Union[Mapping[str, Any], bytes, str]


@functools.cache
def _normalizer() -> StoreNormalizer:
    return StoreNormalizer(**_OPTIONS)


def normalise(event: Payload) -> dict[str, Any]:
    """Relay's normalised form of *event*, including its ``errors`` and ``_meta``.

    *event* is a payload dict or the exact JSON bytes/str that go into an envelope item.
    Raises ``sentry_relay.exceptions.RelayError`` when Relay refuses the payload outright
    (not JSON, not an object), and ValueError/TypeError for a dict that is not JSON (NaN,
    unserialisable values).
    """
    if isinstance(event, Mapping):
        raw = json.dumps(dict(event), allow_nan=False).encode()
    elif isinstance(event, str):
        raw = event.encode()
    else:
        raw = event
    out: dict[str, Any] = _normalizer().normalize_event(raw_event=raw)
    return out


def _meta_errors(meta: Any, path: str = "") -> list[str]:
    """Every ``err`` remark in a ``_meta`` tree, as "<dotted path>: <err entries>"."""
    if not isinstance(meta, dict):
        return []
    found: list[str] = []
    for key, sub in meta.items():
        if key == "":
            if isinstance(sub, dict) and sub.get("err"):
                found.append(f"_meta err at {path or '.'}: {json.dumps(sub['err'], default=str)}")
            continue
        found.extend(_meta_errors(sub, f"{path}.{key}" if path else str(key)))
    return found


def _describe(error: Any) -> str:
    if not isinstance(error, dict):
        return f"error: {json.dumps(error, default=str)}"
    rest = {k: v for k, v in error.items() if k not in ("type", "name")}
    text = f"{error.get('type', '?')} at {error.get('name', '.')}"
    return f"{text}: {json.dumps(rest, default=str, sort_keys=True)}" if rest else text


def conformance_errors(event: Payload) -> list[str]:
    """What Relay would record as lost or invalid in *event*; an empty list means it conforms.

    One string per entry of the normalised event's ``errors`` (``invalid_data``,
    ``invalid_attribute``, ``past_timestamp``, ``future_timestamp``, ...), then one per ``err``
    remark in its ``_meta``. ``rem``-only remarks (scrubbing, trimming notes) are not errors.
    A payload Relay refuses outright gives one "relay refused the payload" entry.
    """
    try:
        out = normalise(event)
    except (RelayError, ValueError, TypeError) as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        return [f"relay refused the payload: {type(exc).__name__}: {first_line}"]
    found = [_describe(e) for e in out.get("errors") or []]
    found.extend(_meta_errors(out.get("_meta")))
    return list(dict.fromkeys(found))  # Relay can report one problem twice; keep order, drop repeats
