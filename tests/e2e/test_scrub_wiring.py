"""Scrubbing in the pipeline: before ``before_send``, on by default, and again at the receiver."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import sentry_sdk

import scrubbers
import sdk_core
from sdk_core.devserver import Receiver, credential_scrub, read_events
from tests.support.sdk import init_with as init_memory

CARD = "4111 1111 1111 1111"
PASSWORD = "s3cr3t-passw0rd-value"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
SLACK = "xoxb-" + "2839402937-2839402937461-AbCdEfGhIjKlMnOpQrStUvWx"


def _fail(password: str) -> None:
    card = CARD
    raise ValueError(f"charge failed for {card}")


def test_before_send_sees_the_scrubbed_event() -> None:
    seen: list[str] = []

    def hook(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        seen.append(json.dumps(event))
        return event

    t = init_memory(before_send=hook)
    try:
        _fail(PASSWORD)
    except ValueError:
        sdk_core.capture_exception()
    sdk_core.flush(2)
    (text,) = seen
    assert PASSWORD not in text and CARD not in text
    assert "[Filtered]" in text
    event = t.events[0]
    frame_meta = event["_meta"]["exception"]["values"]["0"]["stacktrace"]["frames"]
    assert any("vars" in m for m in frame_meta.values())
    assert sdk_core.stats()["redactions"]


def test_scrubbing_off_is_explicit_and_warned(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sdk_core")
    t = init_memory(scrubbing=False)
    assert any("scrubbing is switched off" in r.getMessage() for r in caplog.records)
    sdk_core.capture_message(f"card {CARD}")
    sdk_core.flush(2)
    assert CARD in t.events[0]["logentry"]["message"]


@pytest.mark.parametrize(
    ("rules", "exc", "fragment"),
    [
        ([*scrubbers.DEFAULT, scrubbers.DEFAULT[0]], ValueError, scrubbers.DEFAULT[0].id),
        (["not a rule"], TypeError, "rule"),
    ],
)
def test_misconfigured_rules_fail_at_init(rules: list[Any], exc: type, fragment: str) -> None:
    with pytest.raises(exc, match=fragment):
        init_memory(scrubbers=rules)


def test_unknown_action_and_bad_regex_fail_with_the_rule_named() -> None:
    with pytest.raises((ValueError, TypeError), match="my-rule"):
        scrubbers.PatternRule(id="my-rule", pattern="x", category="pii", action="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad-regex"):
        scrubbers.PatternRule(id="bad-regex", pattern="(unclosed", category="pii")


def test_receiver_second_layer_scrubs_credentials_from_sentry_sdk_events(tmp_path: Any) -> None:
    """A client that does not scrub values (sentry-sdk) still cannot land provider keys in the store."""
    db = str(tmp_path / "events.db")
    with Receiver(db_path=db, scrub=credential_scrub()) as receiver:
        sentry_sdk.init(dsn=receiver.dsn, default_integrations=False, auto_enabling_integrations=False)
        try:
            try:
                raise RuntimeError(f"stripe refused key {STRIPE}; slack said no to {SLACK}")
            except RuntimeError:
                sentry_sdk.capture_exception()
            sentry_sdk.flush(5)
        finally:
            sentry_sdk.get_client().close()  # no re-init: a bare init() would install its default integrations
        rows = read_events(db)
    assert len(rows) == 1
    text = json.dumps(rows[0])
    assert STRIPE not in text and SLACK not in text and STRIPE[8:20] not in text
    assert "stripe refused key" in text
    redactions = rows[0]["server_redactions"]
    counts = redactions if isinstance(redactions, dict) else json.loads(redactions)
    assert sum(counts.values()) >= 2
