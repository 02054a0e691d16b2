"""The test support itself works: Bugsink stores a hand-built envelope and gives it back, and the
Relay check tells a conforming event from a broken one. Nothing here uses the SDK."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from tests.support import processes
from tests.support.bugsink import BugsinkServer
from tests.support.relay_check import conformance_errors


def _event(message: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "platform": "python",
        "level": "error",
        "logentry": {"message": message},
        "sdk": {"name": "coderadar.selfcheck", "version": "0.0.0"},
        **extra,
    }


def _envelope(event: dict[str, Any], dsn: str) -> bytes:
    payload = json.dumps(event).encode()
    header = {
        "event_id": event["event_id"],
        "dsn": dsn,
        "sent_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    item = {"type": "event", "length": len(payload), "content_type": "application/json"}
    return b"\n".join([json.dumps(header).encode(), json.dumps(item).encode(), payload]) + b"\n"


def _post(server: BugsinkServer, event: dict[str, Any], key: str | None = None) -> httpx.Response:
    """POST *event* in an envelope; a *key* replaces the project's in the auth header and the envelope's dsn."""
    auth, dsn = server.auth_header("test/0"), server.dsn
    if key is not None:  # Bugsink authenticates by either, so both must carry the wrong key
        auth, dsn = auth.replace(server.key, key), dsn.replace(server.key, key)
    with httpx.Client(trust_env=False, timeout=10) as client:  # loopback only, never via a proxy
        return client.post(
            server.envelope_url,
            content=_envelope(event, dsn),
            headers={"X-Sentry-Auth": auth, "Content-Type": "application/x-sentry-envelope"},
        )


class TestBugsinkFixture:
    def test_envelope_posted_to_the_dsn_is_stored_and_read_back(self, bugsink: BugsinkServer) -> None:
        """An event envelope sent with the DSN's key is answered 200 and comes back with its payload."""
        event = _event("selfcheck stored", tags={"suite": "selfcheck"})
        response = _post(bugsink, event)
        assert response.status_code == 200, response.text
        assert response.json() == {"id": event["event_id"]}

        (stored,) = bugsink.wait_for_events(1, timeout=10, event_id=event["event_id"])
        assert stored["event_id"] == event["event_id"]
        assert stored["data"]["logentry"]["message"] == "selfcheck stored"
        assert stored["sdk_name"] == "coderadar.selfcheck"
        assert stored["tags"].get("suite") == "selfcheck"
        assert conformance_errors(stored["data"]) == []

    def test_since_leaves_out_events_digested_before_it(self, bugsink: BugsinkServer) -> None:
        """events(since=t) lists only what the server digested at or after t."""
        first = _event("selfcheck before")
        assert _post(bugsink, first).status_code == 200
        bugsink.wait_for_events(1, event_id=first["event_id"])
        mark = datetime.now(timezone.utc)
        second = _event("selfcheck after")
        assert _post(bugsink, second).status_code == 200

        ids = [e["event_id"] for e in bugsink.wait_for_events(1, since=mark)]
        assert second["event_id"] in ids
        assert first["event_id"] not in ids

    def test_wrong_key_is_refused_and_not_stored(self, bugsink: BugsinkServer) -> None:
        """A key that is not the project's gets 403 and the event is not stored."""
        event = _event("selfcheck wrong key")
        response = _post(bugsink, event, key="0" * 32)
        assert response.status_code == 403
        assert bugsink.events(event_id=event["event_id"]) == []

    def test_log_and_access_log_are_readable(self, bugsink: BugsinkServer) -> None:
        """The server's logs are there for failure messages: the access log lists the envelope POSTs."""
        assert _post(bugsink, _event("selfcheck log")).status_code == 200
        assert f"/api/{bugsink.project_id}/envelope/" in bugsink.access_log_text()
        assert "Booting worker" in bugsink.log_text()

    def test_stop_ends_every_process_the_server_started(self, tmp_path: Path) -> None:
        """A second server with a fixed key starts, and stop() leaves none of its processes alive."""
        key = uuid.uuid4().hex
        server = BugsinkServer.start(home=tmp_path / "bugsink", key=key)
        try:
            assert server.dsn == f"http://{key}@127.0.0.1:{server.port}/{server.project_id}"
            pids = server.pids()
            assert len(pids) >= 3  # gunicorn master, its worker, the event reader
        finally:
            server.stop()
        server.stop()  # idempotent
        assert [pid for pid in pids if processes.start_time(pid) is not None] == []


class TestRelayCheck:
    def test_minimal_logentry_event_conforms(self) -> None:
        """A minimal message event with a logentry records no Relay errors."""
        assert conformance_errors(_event("hello")) == []

    def test_non_hex_trace_id_is_reported(self) -> None:
        """A trace_id that is not hex is an invalid_data error at contexts.trace.trace_id."""
        event = _event("bad trace", contexts={"trace": {"trace_id": "nothex", "span_id": "1234567890abcdef"}})
        errors = conformance_errors(event)
        assert any(e.startswith("invalid_data at contexts.trace.trace_id") for e in errors), errors
        assert any(e.startswith("_meta err at contexts.trace.trace_id") for e in errors), errors

    def test_scrubbing_remarks_are_not_errors(self) -> None:
        """The SDK's own _meta remarks for scrubbed values pass as remarks, not errors."""
        event = _event(
            "scrubbed",
            extra={"password": "[Filtered]"},
            _meta={"extra": {"password": {"": {"rem": [["password-field", "s"]], "len": 10}}}},
        )
        assert conformance_errors(event) == []

    def test_old_timestamp_is_reported(self) -> None:
        """An event older than Relay's 30-day window is a past_timestamp error."""
        errors = conformance_errors(_event("old", timestamp=time.time() - 90 * 86400))
        assert any(e.startswith("past_timestamp at timestamp") for e in errors), errors

    def test_unknown_top_level_key_is_reported(self) -> None:
        """A top-level key Sentry does not know is dropped, reported as invalid_attribute."""
        errors = conformance_errors(_event("unknown", coderadar_private=1))
        assert any(e.startswith("invalid_attribute at coderadar_private") for e in errors), errors

    def test_unparseable_payload_is_reported(self) -> None:
        """Bytes that are not a JSON object are refused outright."""
        assert conformance_errors(b"not json")[0].startswith("relay refused the payload")
