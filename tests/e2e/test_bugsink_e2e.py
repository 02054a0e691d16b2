"""End to end: the public API -> a real Sentry-compatible server (Bugsink) -> read back."""

from __future__ import annotations

import json
from typing import Any

import sdk_core
from tests.support.bugsink import BugsinkServer

PASSWORD = "hunter2-but-longer"
AUTH = "Bearer e2e-token-0123456789abcdef"
CARD = "4111 1111 1111 1111"


def _pay(card: str, password: str) -> None:
    headers = {"Authorization": AUTH}
    raise ValueError(f"payment failed for card {card}")


def test_exception_delivered_to_bugsink_and_scrubbed(bugsink: BugsinkServer) -> None:
    sdk_core.init(bugsink.dsn, default_integrations=False, release="e2e@1.0", environment="e2e")
    sdk_core.set_tag("flow", "checkout")
    sdk_core.add_breadcrumb(category="auth", message="login ok", data={"password": PASSWORD})
    sdk_core.add_breadcrumb(category="http", message="GET /cart")
    try:
        _pay(CARD, PASSWORD)
    except ValueError:
        event_id = sdk_core.capture_exception()
    message_id = sdk_core.capture_message("e2e message with password=" + PASSWORD, level="warning")
    assert event_id and message_id
    assert sdk_core.flush(10)

    (stored,) = bugsink.wait_for_events(1, timeout=15, event_id=event_id)
    data: dict[str, Any] = stored["data"]
    (exc,) = data["exception"]["values"]
    assert exc["type"] == "ValueError"
    assert exc["value"].startswith("payment failed for card ")
    functions = [f["function"] for f in exc["stacktrace"]["frames"]]
    assert functions[-1] == "_pay" and "test_exception_delivered_to_bugsink_and_scrubbed" in functions[-2]
    assert exc["stacktrace"]["frames"][-1]["context_line"].strip().startswith("raise ValueError")
    crumbs = [c["message"] for c in data["breadcrumbs"]["values"]]
    assert crumbs == ["login ok", "GET /cart"]
    assert data["tags"]["flow"] == "checkout"
    assert stored["release"] == "e2e@1.0" and stored["environment"] == "e2e"
    text = json.dumps(data)
    for secret in (PASSWORD, AUTH, CARD, "e2e-token-0123456789abcdef"):
        assert secret not in text

    (message,) = bugsink.wait_for_events(1, timeout=15, event_id=message_id)
    assert message["level"] == "warning"
    assert PASSWORD not in json.dumps(message["data"])
    assert "e2e message with password=" in message["value"]


def test_burst_of_events_all_stored(bugsink: BugsinkServer) -> None:
    sdk_core.init(bugsink.dsn, default_integrations=False)
    ids = {sdk_core.capture_message(f"burst {i}") for i in range(25)}
    assert sdk_core.flush(15)
    for event_id in ids:
        assert bugsink.events(event_id=event_id), f"{event_id} was not stored"


def test_wrong_key_is_refused_and_counted(bugsink: BugsinkServer) -> None:
    bad = bugsink.dsn.replace(bugsink.key, "f" * 32)
    client = sdk_core.init(bad, default_integrations=False)
    assert client is not None
    sdk_core.capture_message("nobody will store this")
    sdk_core.flush(10)
    assert client.discards.totals[("send_error", "error")] == 1


def test_bugsink_ignoring_transactions_causes_no_retry_or_complaint(bugsink: BugsinkServer, caplog: Any) -> None:
    """Bugsink answers every envelope with ``X-Sentry-Rate-Limits: 86400:transaction;span``: the SDK
    then drops transactions before sending (counted ``ratelimit_backoff``), never retries, never warns."""
    from tests.support.otel import global_provider

    with global_provider(None):
        client = sdk_core.init(bugsink.dsn, default_integrations=False, traces_sample_rate=1.0)
        assert client is not None
        with caplog.at_level("WARNING", logger="sdk_core"):
            with sdk_core.start_span(op="task", name="nightly import"):
                with sdk_core.start_span(op="db", name="load"):
                    pass
                event_id = sdk_core.capture_message("inside the traced task")
            assert sdk_core.flush(15)
        (stored,) = bugsink.wait_for_events(1, timeout=15, event_id=event_id)
        assert stored["data"]["contexts"]["trace"]["trace_id"]
        transport = client.transport
        assert transport is not None and transport.sent_envelopes >= 1  # type: ignore[attr-defined]
        assert not transport._retries  # type: ignore[attr-defined]
        dropped = {k: v for k, v in client.discards.totals.items() if v}
        assert set(dropped) <= {("ratelimit_backoff", "transaction"), ("ratelimit_backoff", "span")}
        assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
