"""The HTTP transport with a spool, fault by fault: what is retried, spooled, dropped and counted.

Every fault is injected by the loopback server; ``spool_files`` reads what is on disk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import sdk_core
from sdk_core.transport.backoff import Backoff
from tests.support.loopback import LoopbackServer, Reply

KEY = "0123456789abcdef0123456789abcdef"
SECRETS = (
    b"hunter2-correct-horse",
    b"alice.secret@example.com",
    b"4111111111111111",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
)


def start(server: LoopbackServer, spool: Path, **options: Any) -> Any:
    options.setdefault("default_integrations", False)
    options.setdefault("http_timeout", 1.0)
    client = sdk_core.init(server.dsn(KEY), spool_dir=str(spool), **options)
    assert client is not None and client.spool is not None
    fast_retries(client, options.get("max_retries", 3))
    return client


def fast_retries(client: Any, retries: int = 3) -> None:
    client.transport._backoff = Backoff(max_retries=retries, base=0.05, cap=0.2)


def spool_files(spool: Path, suffix: str = "") -> list[Path]:
    return sorted(p for p in spool.rglob("*") if p.is_file() and p.parent.name != "owners" and p.name.endswith(suffix))


def ready(spool: Path) -> list[Path]:
    return spool_files(spool, ".env")


def capture_with_secrets(i: int) -> str | None:
    password = "hunter2-correct-horse"
    sdk_core.set_extra("password", password)
    sdk_core.set_extra("contact", "write to alice.secret@example.com")
    try:
        raise ValueError(f"charge {i} failed: card 4111111111111111 key sk_live_4eC39HqLyjWDarjtT1zdp7dc")
    except ValueError:
        return sdk_core.capture_exception()


def assert_no_secrets(blobs: list[bytes]) -> None:
    for blob in blobs:
        for secret in SECRETS:
            assert secret not in blob, secret


def test_endpoint_stopped_then_restarted_everything_delivered_once(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    client = start(loopback, tmp_path)
    ids = [capture_with_secrets(i) for i in range(30)]
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 30)
    assert_no_secrets([p.read_bytes() for p in spool_files(tmp_path)])
    assert client.discards.totals == {}  # spooled is not dropped
    loopback.restart()
    assert sdk_core.flush(10)
    assert sorted(loopback.event_ids) == sorted(ids)  # each exactly once
    assert_no_secrets([r.body for r in loopback.requests])
    assert spool_files(tmp_path) == []
    assert client.discards.totals == {}


def test_replay_needs_no_new_event_and_no_flush(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    start(loopback, tmp_path)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(5)]
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 5)
    loopback.restart()
    # The worker's idle wake-ups retry on their own once the backoff has passed.
    assert loopback.wait_for(lambda: len(loopback.events) == 5, timeout=10)
    assert sorted(loopback.event_ids) == sorted(ids)


def test_next_client_replays_oldest_first(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    start(loopback, tmp_path, shutdown_timeout=0.5)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(10)]
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 10)
    sdk_core.close()
    loopback.restart()
    start(loopback, tmp_path)  # nothing captured: the new worker starts because the spool has files
    assert loopback.wait_for(lambda: len(loopback.events) == 10, timeout=10)
    assert loopback.event_ids == ids  # one worker, oldest first: capture order


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_spooled_then_delivered(loopback: LoopbackServer, tmp_path: Path, status: int) -> None:
    loopback.set_behaviour(lambda n, r: Reply(status) if n <= 2 else Reply())
    client = start(loopback, tmp_path)
    event_id = sdk_core.capture_message("retry me")
    assert sdk_core.flush(5)
    assert [r.events[0]["event_id"] for r in loopback.requests] == [event_id] * 3
    assert client.discards.totals == {}
    assert client.spool.counters["written"] == 1 and spool_files(tmp_path) == []


def test_500_is_charged_to_the_envelope_and_finally_dropped(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(Reply(500))
    client = start(loopback, tmp_path, max_retries=2)
    sdk_core.capture_message("poison")
    sdk_core.flush(5)
    assert len([r for r in loopback.requests if r.events]) == 3  # 1 + max_retries, as without a spool
    assert client.discards.totals[("send_error", "error")] == 1
    assert spool_files(tmp_path) == []


@pytest.mark.parametrize("status", [502, 503])
def test_overload_is_not_charged_the_envelope_outlives_the_outage(
    loopback: LoopbackServer, tmp_path: Path, status: int
) -> None:
    loopback.set_behaviour(Reply(status))
    client = start(loopback, tmp_path, max_retries=1, shutdown_timeout=0.5)
    event_id = sdk_core.capture_message("patient")
    sdk_core.flush(1.5)
    attempts = len([r for r in loopback.requests if r.events])
    assert attempts > 2  # retried past max_retries: the server, not the envelope, is the problem
    assert len(spool_files(tmp_path)) == 1  # ready, or claimed by a replay in progress
    assert ("send_error", "error") not in client.discards.totals
    sdk_core.close()
    assert len(ready(tmp_path)) == 1  # still there for the next process, not counted as dropped
    assert client.discards.totals.get(("network_error", "error"), 0) == 0
    loopback.set_behaviour(Reply())
    start(loopback, tmp_path)
    assert sdk_core.flush(5)
    assert loopback.requests[-1].events[0]["event_id"] == event_id


def test_429_retry_after_is_not_spooled_and_later_events_drop(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(lambda n, r: Reply(429, {"Retry-After": "30"}) if n == 1 else Reply())
    client = start(loopback, tmp_path)
    sdk_core.capture_message("first")
    sdk_core.flush(5)
    for i in range(3):
        sdk_core.capture_message(f"limited {i}")
    sdk_core.flush(5)
    assert spool_files(tmp_path) == []  # the server counted the 429'd one; the rest never left
    assert client.discards.totals == {("ratelimit_backoff", "error"): 3}


def test_spooled_envelopes_wait_out_a_rate_limit_instead_of_dropping(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    client = start(loopback, tmp_path)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(4)]
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 4)
    # Back, but the first answer limits errors for 2 s (on a 200, as Bugsink and Relay do).
    loopback.set_behaviour(lambda n, r: Reply(200, {"X-Sentry-Rate-Limits": "2:error:key"}) if n == 1 else Reply())
    loopback.restart()
    sdk_core.flush(0.5)
    assert len(loopback.events) == 1 and len(ready(tmp_path)) == 3
    assert client.discards.totals == {}
    assert sdk_core.flush(5)
    assert sorted(loopback.event_ids) == sorted(ids)
    assert client.discards.totals == {}


def test_a_429_during_replay_drops_that_one_and_pauses_the_rest(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    client = start(loopback, tmp_path)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(3)]
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 3)
    loopback.set_behaviour(lambda n, r: Reply(429, {"Retry-After": "1"}) if n == 1 else Reply())
    loopback.restart()
    assert sdk_core.flush(5)
    assert len(loopback.requests) == 3
    assert sorted(loopback.event_ids) == sorted(ids)  # the 429'd one is not sent again
    assert client.discards.totals == {}  # the server counts what it refused with a 429


@pytest.mark.parametrize("status", [400, 413])
def test_final_rejections_are_neither_retried_nor_spooled(
    loopback: LoopbackServer, tmp_path: Path, status: int
) -> None:
    loopback.set_behaviour(Reply(status))
    client = start(loopback, tmp_path)
    sdk_core.capture_message("rejected")
    sdk_core.flush(2)
    assert len(loopback.requests) <= 2  # the event, then perhaps the client report
    assert client.discards.totals[("send_error", "error")] == 1
    assert client.spool.counters["written"] == 0 and spool_files(tmp_path) == []


@pytest.mark.parametrize("fault", ["hang", "reset", "garbage"])
def test_connection_faults_spool_then_deliver(loopback: LoopbackServer, tmp_path: Path, fault: str) -> None:
    loopback.set_behaviour(lambda n, r: Reply(fault=fault, hang_seconds=3) if n == 1 else Reply())
    client = start(loopback, tmp_path, http_timeout=0.3)
    ids = [sdk_core.capture_message(f"m{i}") for i in range(5)]
    assert sdk_core.flush(10)
    assert client.spool.counters["written"] >= 1  # the failed one went to disk before its retry
    delivered = [r.events[0]["event_id"] for r in loopback.requests[1:] if r.events]
    assert sorted(delivered) == sorted(ids)  # after the fault: each exactly once
    assert spool_files(tmp_path) == [] and client.discards.totals == {}


def test_while_down_new_envelopes_go_straight_to_disk(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(Reply(fault="hang", hang_seconds=5))
    client = start(loopback, tmp_path, http_timeout=0.3)
    client.transport._backoff = Backoff(max_retries=3, base=30.0, cap=30.0)  # no probe during the test
    sdk_core.capture_message("first")
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 1)
    for i in range(20):
        sdk_core.capture_message(f"m{i}")
    assert loopback.wait_for(lambda: len(ready(tmp_path)) == 21)
    assert len(loopback.requests) == 1  # no doomed attempt per event


def test_close_with_a_dead_endpoint_is_quick_when_everything_is_on_disk(tmp_path: Path) -> None:
    server = LoopbackServer().start()
    dsn = server.dsn(KEY)
    server.stop()
    sdk_core.init(dsn, default_integrations=False, spool_dir=str(tmp_path), shutdown_timeout=2.0)
    for i in range(20):
        sdk_core.capture_message(f"m{i}")
    sdk_core.flush(0.3)
    t0 = time.monotonic()
    sdk_core.close()
    assert time.monotonic() - t0 < 1.0
    assert len(ready(tmp_path)) == 20


def test_close_spools_the_queue_scrubbed(loopback: LoopbackServer, tmp_path: Path) -> None:
    """The worker is stuck on a hung request; what is still queued at the deadline is scrubbed
    on the closing thread and written to disk, never raw."""
    loopback.set_behaviour(Reply(fault="hang", hang_seconds=5))
    client = start(loopback, tmp_path, http_timeout=4.0, batch_size=1)
    ids = [capture_with_secrets(i) for i in range(20)]
    assert loopback.wait_for(lambda: len(loopback.requests) == 1)  # the worker is now stuck
    t0 = time.monotonic()
    sdk_core.close(1.0)
    assert time.monotonic() - t0 < 1.6
    files = ready(tmp_path)
    assert len(files) == 19
    assert_no_secrets([p.read_bytes() for p in files])
    assert client.stats.as_dict()["redactions"]  # the pipeline ran on them
    loopback.set_behaviour(Reply())
    start(loopback, tmp_path)
    assert sdk_core.flush(5)
    delivered = [r.events[0]["event_id"] for r in loopback.requests[1:] if r.events]
    assert sorted(delivered) == sorted(ids[1:])
    assert_no_secrets([r.body for r in loopback.requests])


def test_close_without_time_to_scrub_drops_and_counts(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(Reply(fault="hang", hang_seconds=5))
    client = start(loopback, tmp_path, http_timeout=4.0, batch_size=1)
    for i in range(10):
        capture_with_secrets(i)
    assert loopback.wait_for(lambda: len(loopback.requests) == 1)
    sdk_core.close(0)
    assert client.discards.totals[("network_error", "error")] == 9
    files = spool_files(tmp_path)
    assert [f for f in files if b'"type":"event"' in f.read_bytes()] == []  # no event reached the disk
    assert_no_secrets([p.read_bytes() for p in files])


def test_uncounted_drops_are_spooled_as_a_report_for_the_next_process(tmp_path: Path) -> None:
    server = LoopbackServer()
    server.start()
    port_dsn = server.dsn(KEY)
    server.stop()
    sdk_core.init(
        port_dsn,
        default_integrations=False,
        spool_dir=str(tmp_path),
        before_send=lambda event, hint: None if "drop" in str(event.get("logentry")) else event,
        shutdown_timeout=0.5,
    )
    for i in range(3):
        sdk_core.capture_message(f"drop {i}")
    sdk_core.capture_message("keep")
    sdk_core.close()
    assert len(ready(tmp_path)) == 2  # the kept event and a client report
    server.restart()
    try:
        start(server, tmp_path)
        assert sdk_core.flush(5)
        assert server.discarded() == {("before_send", "error"): 3}
        assert [e["logentry"]["message"] for e in server.events] == ["keep"]
    finally:
        sdk_core.close()
        server.stop()


def test_reports_ride_along_once_the_endpoint_is_back(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.stop()
    client = start(loopback, tmp_path, max_queue_size=5, batch_interval=0.5)
    for i in range(50):
        sdk_core.capture_message(f"m{i}")
    dropped = client.discards.totals[("queue_overflow", "error")]
    assert dropped >= 40
    loopback.restart()
    assert sdk_core.flush(10)
    assert loopback.discarded() == {("queue_overflow", "error"): dropped}
    assert len(loopback.events) == 50 - dropped


def test_without_a_spool_dir_nothing_touches_the_disk(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.set_behaviour(lambda n, r: Reply(503) if n == 1 else Reply())
    client = sdk_core.init(loopback.dsn(KEY), default_integrations=False)
    assert client is not None and client.spool is None
    fast_retries(client)
    sdk_core.capture_message("x")
    assert sdk_core.flush(5)
    assert len(loopback.events) == 2


def test_an_unusable_spool_dir_is_logged_not_raised(
    loopback: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    client = sdk_core.init(loopback.dsn(KEY), default_integrations=False, spool_dir=str(blocker / "spool"))
    assert client is not None and client.spool is None
    assert any("spool_dir is not usable" in r.getMessage() for r in caplog.records)
    sdk_core.capture_message("still works")
    assert sdk_core.flush(5) and len(loopback.events) == 1


def test_spool_dir_is_ignored_with_a_custom_transport(tmp_path: Path) -> None:
    from sdk_core.transport.memory import InMemoryTransport

    client = sdk_core.init(transport=InMemoryTransport(), default_integrations=False, spool_dir=str(tmp_path))
    assert client is not None and client.spool is None


def test_transactions_are_spooled_scrubbed_and_delivered_after_an_outage(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    from tests.support.otel import global_provider

    with global_provider(None):
        loopback.stop()
        client = start(loopback, tmp_path, traces_sample_rate=1.0)
        for i in range(3):
            with sdk_core.start_span(op="task", name=f"job {i}", attributes={"password": "hunter2-correct-horse"}):
                with sdk_core.start_span(op="db", name="q", attributes={"db.statement": "SELECT 4111111111111111"}):
                    pass
        assert loopback.wait_for(lambda: len(ready(tmp_path)) == 3)
        assert_no_secrets([p.read_bytes() for p in spool_files(tmp_path)])
        assert client.discards.totals == {}
        loopback.restart()
        assert sdk_core.flush(10)
        names = sorted(tx["transaction"] for r in loopback.requests for tx in r.items_of("transaction"))
        assert names == ["job 0", "job 1", "job 2"]
        assert spool_files(tmp_path) == []
