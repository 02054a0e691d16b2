"""``python -m sdk_core check``: explain a DSN, reach its endpoint, send one test event, say what happened."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from .dsn import Dsn
from .event import format_timestamp, new_event_id, sdk_info, static_contexts
from .options import validate
from .transport.envelope import event_envelope
from .transport.http import HttpSender
from .transport.ratelimit import parse_rate_limits, parse_retry_after
from .transport.serialize import dumps

_VERDICTS = {
    401: "wrong key: the server does not know this DSN's public key",
    403: "wrong key or project: the server refused this DSN's public key for this project",
    413: "too large: the server refused the event's size",
    429: "rate limited: the server accepted the connection but is not taking events now",
}


def check_main(argv: list[str]) -> int:
    """``python -m sdk_core check [--dsn DSN] [--timeout S]``: parse the flags, run :func:`run_check`."""
    parser = argparse.ArgumentParser(prog="python -m sdk_core check")
    parser.add_argument("--dsn", help="DSN to check (default: $CODERADAR_DSN)")
    parser.add_argument("--timeout", type=float, default=10.0)
    ns = parser.parse_args(argv)
    return run_check(ns.dsn, timeout=ns.timeout)


def run_check(dsn_value: str | None, out: TextIO = sys.stdout, timeout: float = 10.0) -> int:
    """Return 0 when the server accepted the test event, 1 otherwise (2 for a bad DSN)."""
    import time

    raw = dsn_value or os.environ.get("CODERADAR_DSN")
    if not raw:
        print("No DSN: pass --dsn or set CODERADAR_DSN.", file=out)
        return 2
    try:
        dsn = Dsn.parse(raw)
    except (TypeError, ValueError) as exc:
        print(f"Invalid DSN: {exc}", file=out)
        return 2
    print(f"Host:       {dsn.netloc} ({dsn.scheme})", file=out)
    print(f"Project id: {dsn.project_id}", file=out)
    print(f"Endpoint:   {dsn.envelope_url}", file=out)
    print("Key:        public, write-only (not shown)", file=out)

    event_id = new_event_id()
    event: dict[str, Any] = {
        "event_id": event_id,
        "timestamp": format_timestamp(time.time()),
        "platform": "python",
        "level": "info",
        "logger": "sdk_core.check",
        "logentry": {"message": "CodeRadar test event: the SDK can reach this project."},
        "sdk": sdk_info([]),
        "contexts": static_contexts(),
    }
    payload = dumps(event) or b"{}"
    envelope = event_envelope(event, payload, environment="production", public_key=None, release=None)
    sender = HttpSender(validate(raw, http_timeout=timeout, default_integrations=False))
    try:
        status, response_headers, error = sender.probe(envelope)
    finally:
        sender.close()
    if error == "timeout":
        print(f"Result:     unreachable: no answer from {dsn.netloc} within {timeout:.0f} s", file=out)
        return 1
    if status is None:
        print(f"Result:     unreachable: {error} connecting to {dsn.netloc}", file=out)
        return 1
    if 200 <= status < 300:
        print(f"Result:     accepted (HTTP {status}); test event id {event_id}", file=out)
        limits = response_headers.get("x-sentry-rate-limits")
        if limits:
            cats = ", ".join(sorted(c or "all" for c in parse_rate_limits(limits)))
            print(f"Note:       the server limits these categories: {cats}", file=out)
        return 0
    verdict = _VERDICTS.get(status)
    if status == 429:
        retry = parse_retry_after(response_headers.get("retry-after"))
        if retry is not None:
            verdict = f"{verdict} (retry after {retry:.0f} s)"
    if verdict is None:
        verdict = "server error" if status >= 500 else "rejected"
    print(f"Result:     {verdict} (HTTP {status})", file=out)
    return 1
