"""Cron check-ins end to end: ``monitor`` (decorator and context manager, sync and async) and
``capture_checkin`` reach the local receiver as ``check_in`` items; ``monitor_config`` is validated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import sdk_core
from sdk_core.devserver import Receiver
from tests.support.loopback import LoopbackServer, Reply

CRON = {"schedule": {"type": "crontab", "value": "0 3 * * *"}, "checkin_margin": 5, "max_runtime": 30,
        "timezone": "Europe/Vienna", "failure_issue_threshold": 2, "recovery_threshold": 3}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def check_ins(receiver: Receiver, slug: str) -> list[dict[str, Any]]:
    return [row["payload"] for row in receiver.items("check_in", label=slug)]


def assert_pair(pair: list[dict[str, Any]], final: str) -> None:
    start, end = pair
    assert (start["status"], end["status"]) == ("in_progress", final)
    assert start["check_in_id"] == end["check_in_id"] and len(start["check_in_id"]) == 32
    assert "duration" not in start and isinstance(end["duration"], float) and 0 <= end["duration"] < 30
    assert start["contexts"]["trace"]["trace_id"] == end["contexts"]["trace"]["trace_id"]


def test_decorated_function_checks_in_ok_then_error(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn, release="jobs@1", environment="prod")

    @sdk_core.monitor("nightly-report", monitor_config=CRON)
    def report(fail: bool) -> str:
        if fail:
            raise RuntimeError("no data")
        return "done"

    assert report(False) == "done"
    with pytest.raises(RuntimeError, match="no data"):
        report(True)
    sdk_core.flush(5)
    rows = check_ins(receiver, "nightly-report")
    assert len(rows) == 4
    assert_pair(rows[:2], "ok")
    assert_pair(rows[2:], "error")
    assert rows[0]["check_in_id"] != rows[2]["check_in_id"]
    assert rows[0]["monitor_config"] == CRON
    assert (rows[0]["release"], rows[0]["environment"]) == ("jobs@1", "prod")


def test_async_decorator_and_both_context_managers(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn)

    @sdk_core.monitor("async-job", monitor_config={"schedule": {"type": "interval", "value": 2, "unit": "hour"}})
    async def job() -> int:
        await asyncio.sleep(0)
        return 7

    async def main() -> None:
        assert await job() == 7
        async with sdk_core.monitor("async-block"):
            await asyncio.sleep(0)

    asyncio.run(main())
    with pytest.raises(KeyError):
        with sdk_core.monitor("sync-block"):
            raise KeyError("x")
    sdk_core.flush(5)
    assert_pair(check_ins(receiver, "async-job"), "ok")
    assert_pair(check_ins(receiver, "async-block"), "ok")
    assert_pair(check_ins(receiver, "sync-block"), "error")
    assert check_ins(receiver, "async-job")[0]["monitor_config"]["schedule"]["unit"] == "hour"


def test_capture_checkin_by_hand(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn)
    check_in_id = sdk_core.capture_checkin("backup", status="in_progress")
    assert isinstance(check_in_id, str)
    assert sdk_core.capture_checkin("backup", check_in_id, status="ok", duration=12.5) == check_in_id
    sdk_core.flush(5)
    start, end = check_ins(receiver, "backup")
    assert start["check_in_id"] == end["check_in_id"] == check_in_id and end["duration"] == 12.5


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"schedule": {"type": "crontab", "value": "0 3 * *"}}, "crontab"),
        ({"schedule": {"type": "interval", "value": 2, "unit": "minutes"}}, "unit"),
        ({"schedule": {"type": "interval", "value": 0, "unit": "hour"}}, "integer >= 1"),
        ({"schedule": {"type": "weekly"}}, "'crontab' or 'interval'"),
        ({"checkin_margin": 5}, "schedule"),
        ({"schedule": {"type": "crontab", "value": "@daily"}, "max_runtime": "30"}, "max_runtime"),
        ({"schedule": {"type": "crontab", "value": "@daily"}, "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"schedule": {"type": "crontab", "value": "@daily"}, "checkin_margins": 5}, "unknown key 'checkin_margins'"),
        ("0 3 * * *", "expected a dict"),
    ],
)
def test_monitor_config_is_validated_at_the_call(config: Any, message: str) -> None:
    with pytest.raises(sdk_core.MonitorConfigError, match=message):
        sdk_core.monitor("job", monitor_config=config)
    with pytest.raises(ValueError, match=message):  # MonitorConfigError is a ValueError
        sdk_core.capture_checkin("job", status="ok", monitor_config=config)


def test_bad_slug_and_status_fail_loudly_and_no_client_is_a_no_op() -> None:
    with pytest.raises(sdk_core.MonitorConfigError, match="slug"):
        sdk_core.monitor("has spaces")
    with pytest.raises(sdk_core.MonitorConfigError, match="status"):
        sdk_core.capture_checkin("job", status="missed")

    @sdk_core.monitor("no-client")
    def job() -> int:
        return 1

    assert job() == 1  # before init: runs, sends nothing, raises nothing


def test_check_ins_are_rate_limited_under_monitor_and_counted() -> None:
    with LoopbackServer(Reply(200, {"X-Sentry-Rate-Limits": "60:monitor:organization"})) as server:
        sdk_core.init(server.dsn())
        sdk_core.capture_checkin("a", status="ok")
        sdk_core.flush(5)
        sdk_core.capture_checkin("a", status="ok")
        sdk_core.capture_message("still sent")
        sdk_core.flush(5)
        assert server.wait_for(lambda: server.discarded().get(("ratelimit_backoff", "monitor")) == 1)
        assert len([c for r in server.requests for c in r.items_of("check_in")]) == 1
        assert all(len(r.items_of("check_in")) <= 1 for r in server.requests)  # one check-in per envelope


def test_one_monitor_entered_from_many_threads_pairs_each_run(receiver: Receiver) -> None:
    import threading

    sdk_core.init(receiver.dsn)
    shared = sdk_core.monitor("shared-job")
    barrier = threading.Barrier(4)

    def run(fail: bool) -> None:
        with sdk_core.isolation_scope():  # each thread its own trace: a run's check-ins share it
            try:
                with shared:
                    barrier.wait(5)  # all four runs are open at once
                    if fail:
                        raise ValueError("x")
            except ValueError:
                pass

    threads = [threading.Thread(target=run, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    sdk_core.flush(5)
    rows = check_ins(receiver, "shared-job")
    starts = {r["check_in_id"] for r in rows if r["status"] == "in_progress"}
    finals = {r["check_in_id"]: r["status"] for r in rows if r["status"] != "in_progress"}
    assert len(starts) == 4 and set(finals) == starts
    assert sorted(finals.values()) == ["error", "error", "ok", "ok"]
    trace_of = {}
    for row in rows:
        trace_of.setdefault(row["check_in_id"], set()).add(row["contexts"]["trace"]["trace_id"])
    assert all(len(traces) == 1 for traces in trace_of.values())  # each final closes its own thread's run
