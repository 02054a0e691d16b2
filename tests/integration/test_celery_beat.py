"""Celery beat cron monitoring: a real beat ``Scheduler`` sends entries through the in-memory broker
to a real embedded worker; the check-ins reach the local receiver."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery, beat
from celery.contrib.testing.worker import start_worker
from celery.schedules import crontab, schedule, solar

import sdk_core
from integrations.celery import CeleryIntegration
from integrations.celery_beat import SLUG_HEADER, monitor_config, slug_for
from sdk_core.devserver import Receiver

app = Celery("coderadar_beat_tests", broker="memory://", backend="cache+memory://")
app.conf.update(
    broker_transport_options={"polling_interval": 0.01},
    worker_hijack_root_logger=False,
    task_default_queue="coderadar-beat-tests",
    timezone="Europe/Vienna",
)


@app.task(name="reports.nightly")  # type: ignore[untyped-decorator]
def nightly(x: int) -> int:
    return x * 2


@app.task(name="reports.broken")  # type: ignore[untyped-decorator]
def broken() -> None:
    raise RuntimeError("report failed")


@app.task(name="reports.adhoc")  # type: ignore[untyped-decorator]
def adhoc() -> int:
    return 1


@pytest.fixture(scope="module")
def worker() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        root.setLevel(level)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def wait_for(receiver: Receiver, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sdk_core.flush(1)
        rows = [row["payload"] for row in receiver.items("check_in")]
        if len(rows) >= count:
            return rows
        time.sleep(0.02)
    return [row["payload"] for row in receiver.items("check_in")]


def send(entry_name: str, task: str, when: Any, args: tuple[Any, ...] = ()) -> None:
    scheduler = beat.Scheduler(app, lazy=True)
    entry = scheduler.Entry(name=entry_name, task=task, schedule=when, args=args, app=app)
    scheduler.apply_async(entry, advance=False)


def test_beat_entries_become_monitors_and_the_worker_checks_in(worker: None, receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn, default_integrations=False, integrations=[CeleryIntegration(monitor_beat_tasks=True)])
    send("nightly report", "reports.nightly", crontab(minute="0", hour="3"), (21,))
    send("broken/every-2h", "reports.broken", schedule(timedelta(hours=2)))
    adhoc.delay()  # not sent by beat: no monitor
    rows = wait_for(receiver, 4)
    assert len(rows) == 4
    by_slug: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_slug.setdefault(row["monitor_slug"], []).append(row)
    assert set(by_slug) == {"nightly-report", "broken-every-2h"}
    start, end = by_slug["nightly-report"]
    assert (start["status"], end["status"]) == ("in_progress", "ok")
    assert start["check_in_id"] == end["check_in_id"] and end["duration"] >= 0
    assert start["monitor_config"] == {
        "schedule": {"type": "crontab", "value": "0 3 * * *"},
        "timezone": "Europe/Vienna",
    }
    start, end = by_slug["broken-every-2h"]
    assert end["status"] == "error"
    assert start["monitor_config"]["schedule"] == {"type": "interval", "value": 2, "unit": "hour"}


def test_off_by_default(worker: None, receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn, default_integrations=False, integrations=[CeleryIntegration()])
    send("nightly report", "reports.nightly", crontab(minute="0", hour="3"), (1,))
    result = adhoc.delay()  # the worker takes messages in order: the beat entry ran before this one
    assert result.get(timeout=10, interval=0.01) == 1
    sdk_core.flush(5)
    assert receiver.items("check_in") == []


def test_schedule_conversion_and_slugs() -> None:
    assert monitor_config(schedule(timedelta(seconds=90)), None) == {
        "schedule": {"type": "interval", "value": 2, "unit": "minute"}
    }
    assert monitor_config(schedule(timedelta(days=1)), "UTC")["schedule"] == {  # type: ignore[index]
        "type": "interval", "value": 1, "unit": "day",
    }  # fmt: skip
    weekdays = monitor_config(crontab(minute="*/15", day_of_week="mon-fri"), None)
    assert weekdays == {"schedule": {"type": "crontab", "value": "*/15 * * * mon-fri"}}
    assert monitor_config(object.__new__(solar), "UTC") is None  # (a real one needs the ephem package)
    assert slug_for("reports: nightly (EU)") == "reports-nightly-EU"
    assert len(slug_for("x" * 80)) == 50
    assert SLUG_HEADER == "coderadar-monitor-slug"
