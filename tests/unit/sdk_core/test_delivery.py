"""The one outcome handler (``transport/delivery.py``) with a scripted sender, and the Transport seam."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import sdk_core
from sdk_core.options import validate
from sdk_core.transport import BaseTransport, InMemoryTransport, Transport, as_transport
from sdk_core.transport.backoff import Backoff
from sdk_core.transport.client_reports import DiscardCounter
from sdk_core.transport.delivery import HttpTransport
from sdk_core.transport.envelope import Envelope, event_envelope
from sdk_core.transport.http import PostResult
from sdk_core.transport.spool import DiskSpool

DSN = "https://abc123@o1.ingest.example.com/42"


class ScriptedSender:
    """Answers each post with the next scripted status (None: no response)."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)
        self.posted: list[Envelope] = []

    def describe(self) -> str:
        return "https://o1.ingest.example.com (project 42)"

    def post(self, envelope: Envelope) -> PostResult:
        self.posted.append(envelope)
        status = self.statuses.pop(0) if self.statuses else 200
        return PostResult(status, {}, 0.001, 10, None if status is not None else "ConnectError")

    def probe(self, envelope: Envelope) -> tuple[int | None, dict[str, str], str | None]:
        return 200, {}, None

    def reset_after_fork(self) -> None:
        pass

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _transport(sender: ScriptedSender, **options: Any) -> tuple[HttpTransport, DiscardCounter, Clock]:
    clock = Clock()
    discards = DiscardCounter()
    spool = options.pop("spool", None)
    transport = HttpTransport(
        validate(DSN, **options),
        discards,
        spool=spool,
        sender=sender,  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
    )
    transport._backoff = Backoff(max_retries=2, base=1.0, cap=2.0)
    return transport, discards, clock


def _envelope(n: int = 1) -> Envelope:
    return event_envelope({"event_id": f"{n:032x}"}, b"{}", environment="p", public_key=None, release=None)


def test_rejected_is_counted_once_as_send_error_and_401_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    sender = ScriptedSender(401, 401)
    transport, discards, _clock = _transport(sender)
    transport.send(_envelope(1))
    transport.send(_envelope(2))
    assert dict(discards.totals) == {("send_error", "error"): 2}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "refused the DSN" in r.getMessage()]
    assert len(warnings) == 1 and "abc123" not in warnings[0].getMessage()


def test_live_failure_is_retried_after_backoff_then_sent() -> None:
    sender = ScriptedSender(503, 200)
    transport, discards, clock = _transport(sender)
    sent: list[int] = []
    transport.on_sent = lambda items, elapsed: sent.append(items)
    transport.send(_envelope())
    assert len(sender.posted) == 1 and transport.tick() is not None  # waiting for the retry
    clock.now += 10
    transport.tick()
    assert len(sender.posted) == 2 and sent == [1] and not discards.totals


def test_spooled_replay_goes_through_the_same_handler(tmp_path: Path) -> None:
    spool = DiskSpool(str(tmp_path), fsync=False)
    sender = ScriptedSender(None, 400)
    transport, discards, clock = _transport(sender, spool=spool)
    transport.send(_envelope())  # no response: to disk
    assert spool.pending() == 1 and not discards.totals
    clock.now += 10
    transport.flush(1.0)  # replayed: 400 is final, counted once, removed from disk
    assert len([e for e in sender.posted if e.event_id]) == 2 and spool.pending() == 0
    assert dict(discards.totals) == {("send_error", "error"): 1}
    assert sender.posted[-1].items[0].type == "client_report"  # and the drop was reported
    spool.close()


def test_a_three_method_transport_is_adapted_to_the_full_seam() -> None:
    class Plain:
        def __init__(self) -> None:
            self.sent: list[Envelope] = []

        def send(self, envelope: Envelope) -> None:
            self.sent.append(envelope)

        def flush(self, timeout: float) -> bool:
            return True

        def close(self, timeout: float) -> None:
            pass

    plain = Plain()
    adapted = as_transport(plain)
    assert isinstance(adapted, Transport) and adapted.tick() is None
    memory = InMemoryTransport()
    assert as_transport(memory) is memory and isinstance(memory, BaseTransport)
    sdk_core.init(transport=plain, default_integrations=False)
    sdk_core.capture_message("through the adapter")
    assert sdk_core.flush(2.0)
    assert len(plain.sent) == 1
