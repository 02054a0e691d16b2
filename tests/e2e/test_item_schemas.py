"""Conformance of the non-event items. Relay's normaliser covers events only, so these schema
checks are written from the Sentry develop docs (``develop-docs/sdk/telemetry/logs.mdx``,
``check-ins.mdx``, ``sessions``, ``foundations/envelopes/envelope-items.mdx``) and
``../shared/protocol.md``; then the same items go to a real Bugsink, which must answer 200, and the
SDK must neither retry nor count them as lost."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest

import sdk_core
from sdk_core import sessions
from sdk_core.transport.envelope import Envelope, Item, parse
from tests.support.bugsink import BugsinkServer

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
LOG_LEVELS = {"trace": (1, 4), "debug": (5, 8), "info": (9, 12), "warn": (13, 16), "error": (17, 20), "fatal": (21, 24)}
ATTRIBUTE_TYPES = {"string": str, "boolean": bool, "integer": int, "double": float}
CHECK_IN_STATUSES = {"in_progress", "ok", "error"}
INTERVAL_UNITS = {"year", "month", "week", "day", "hour", "minute"}
ATTACHMENT_TYPES = {"event.attachment", "event.minidump", "event.applecrashreport", "event.view_hierarchy"}
SESSION_COUNTS = {"exited", "errored", "abnormal", "crashed"}


class Keep:
    """A transport that keeps the envelopes exactly as they would go on the wire."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    def send(self, envelope: Envelope) -> None:
        self.envelopes.append(parse(envelope.serialize()))  # what a server would read

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float) -> None:
        pass


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("schema.app")
    log.setLevel(logging.DEBUG)
    yield log
    log.setLevel(logging.NOTSET)


def produce(app_logger: logging.Logger) -> None:
    """One of each item kind through the public API (logs from two traces, a crashed request)."""
    with sdk_core.isolation_scope():
        app_logger.info("order %s paid in %.1f ms by %s", 42, 12.5, "alice", extra={"tenant": "eu", "vip": True})
        app_logger.warning("plain text, no parameters")
    sdk_core.logger.error("payment {step} failed", step="capture", attributes={"retries": 3})

    @sdk_core.monitor(
        "nightly-report",
        monitor_config={
            "schedule": {"type": "interval", "value": 2, "unit": "hour"},
            "checkin_margin": 5,
            "max_runtime": 30,
            "timezone": "UTC",
            "failure_issue_threshold": 2,
            "recovery_threshold": 1,
            "owner": "team:backend",
        },
    )
    def job() -> None:
        pass

    job()
    sdk_core.capture_checkin("cron-b", status="error", duration=0.5)
    sdk_core.capture_message("with a file", attachments=[sdk_core.Attachment(bytes=b"a,b\n1,2\n", filename="t.csv")])
    for crash in (False, True):
        with sdk_core.isolation_scope() as scope:
            outcome = sessions.start_request(scope)
            if crash:
                sessions.note_event({"exception": {"values": [{"mechanism": {"handled": False}}]}})
            sessions.end_request(outcome)


def check_attribute(key: str, attribute: Any) -> None:
    assert isinstance(attribute, dict) and set(attribute) == {"value", "type"}, key
    expected = ATTRIBUTE_TYPES[attribute["type"]]
    value = attribute["value"]
    assert isinstance(value, expected) and (expected is bool or not isinstance(value, bool)), key


def check_log_item(item: Item, envelope: Envelope) -> int:
    assert item.headers["content_type"] == "application/vnd.sentry.items.log+json"
    payload = orjson.loads(item.payload)
    assert set(payload) == {"items"}
    logs = payload["items"]
    assert item.headers["item_count"] == len(logs) > 0  # must equal the number of logs
    assert "trace" not in envelope.headers  # logs of several traces: no trace header allowed
    for log in logs:
        assert set(log) <= {"timestamp", "trace_id", "span_id", "level", "body", "attributes", "severity_number"}
        assert isinstance(log["timestamp"], float) and log["timestamp"] > 1.6e9  # seconds, not ms
        assert HEX32.match(log["trace_id"])  # required
        assert "span_id" not in log or HEX16.match(log["span_id"])
        low, _high = LOG_LEVELS[log["level"]]
        assert log["severity_number"] == low  # "the lowest severity number for a given level"
        assert isinstance(log["body"], str) and log["body"]
        attributes = log["attributes"]
        for key, attribute in attributes.items():
            check_attribute(key, attribute)
        for key in ("sentry.environment", "sentry.release", "sentry.sdk.name", "sentry.sdk.version", "server.address"):
            assert attributes[key]["type"] == "string", key
        has_parameters = any(k.startswith("sentry.message.parameter.") for k in attributes)
        assert ("sentry.message.template" in attributes) == has_parameters  # MUST NOT without parameters
    return len(logs)


def check_check_in(payload: dict[str, Any]) -> None:
    assert set(payload) <= {
        "check_in_id", "monitor_slug", "status", "duration", "release", "environment", "monitor_config", "contexts",
    }  # fmt: skip
    assert HEX32.match(payload["check_in_id"]) and payload["monitor_slug"]
    assert payload["status"] in CHECK_IN_STATUSES
    if "duration" in payload:
        assert payload["status"] != "in_progress" and isinstance(payload["duration"], float)
    assert HEX32.match(payload["contexts"]["trace"]["trace_id"])
    config = payload.get("monitor_config")
    if config is not None:
        schedule = config["schedule"]
        assert schedule["type"] in ("crontab", "interval")
        if schedule["type"] == "interval":
            assert isinstance(schedule["value"], int) and schedule["unit"] in INTERVAL_UNITS
        for key in ("checkin_margin", "max_runtime", "failure_issue_threshold", "recovery_threshold"):
            assert key not in config or isinstance(config[key], int)
        assert isinstance(config.get("timezone", ""), str) and isinstance(config.get("owner", ""), str)


def check_sessions(payload: dict[str, Any]) -> int:
    assert set(payload) == {"aggregates", "attrs"}
    assert isinstance(payload["attrs"]["release"], str) and payload["attrs"]["release"]  # required
    assert isinstance(payload["attrs"]["environment"], str)
    assert 0 < len(payload["aggregates"]) <= 100
    total = 0
    for bucket in payload["aggregates"]:
        started = datetime.strptime(bucket["started"], "%Y-%m-%dT%H:%M:%SZ")
        assert started.second == 0  # rounded to the minute
        counts = {k: v for k, v in bucket.items() if k != "started"}
        assert set(counts) <= SESSION_COUNTS and all(isinstance(v, int) and v > 0 for v in counts.values())
        total += sum(counts.values())
    return total


def test_every_item_kind_matches_the_documented_schema(app_logger: logging.Logger) -> None:
    keep = Keep()
    sdk_core.init(transport=keep, enable_logs=True, release="schema@1", environment="ci", server_name="h1")
    produce(app_logger)
    sdk_core.close()
    logs = check_ins = session_total = attachments = 0
    for envelope in keep.envelopes:
        kinds = {item.type for item in envelope.items}
        assert isinstance(envelope.headers["sent_at"], str) and envelope.headers["sdk"]["name"]
        if "event" in kinds:
            assert kinds <= {"event", "attachment", "client_report"}  # attachments ride with their event
            assert HEX32.match(envelope.headers["event_id"])  # required with attachments
            for item in envelope.items:
                if item.type == "attachment":
                    attachments += 1
                    assert item.headers["filename"] == "t.csv"  # required
                    assert item.headers["attachment_type"] in ATTACHMENT_TYPES
                    assert item.headers["content_type"] == "text/csv"
            continue
        (item,) = envelope.items  # telemetry kinds are never mixed, one container/check-in each
        if item.type == "log":
            logs += check_log_item(item, envelope)
        elif item.type == "check_in":
            check_in = orjson.loads(item.payload)
            check_check_in(check_in)
            check_ins += 1
        else:
            assert item.type == "sessions"
            session_total += check_sessions(orjson.loads(item.payload))
    assert (logs, check_ins, session_total, attachments) == (3, 3, 2, 1)


def test_bugsink_answers_200_to_each_kind_and_the_sdk_does_not_retry(
    bugsink: BugsinkServer, app_logger: logging.Logger
) -> None:
    before = bugsink.access_log_text().count("\n")
    client = sdk_core.init(bugsink.dsn, enable_logs=True, release="bugsink@1", default_integrations=True)
    assert client is not None and client.transport is not None
    produce(app_logger)
    sdk_core.close()
    transport: Any = client.transport
    # logs (1 container), check-ins (3), event + attachment (1), sessions (1): six POSTs, all sent
    assert transport.sent_envelopes == 6
    assert transport._retries == [] and dict(client.discards.totals) == {}

    def posts() -> list[str]:
        return [line for line in bugsink.access_log_text().splitlines()[before:] if "/envelope/" in line]

    deadline = time.monotonic() + 15  # gunicorn writes its access log a little after answering
    while len(posts()) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(posts()) == 6, posts()
    assert all(" 200 " in line for line in posts()), posts()
