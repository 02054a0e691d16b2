"""Celery beat cron monitoring: ``CeleryIntegration(monitor_beat_tasks=True)``.

In the beat process, ``Scheduler.apply_async`` is wrapped so that while a schedule entry is being
sent, ``before_task_publish`` adds two message headers: the monitor slug (the entry's name, made
slug-safe) and its ``monitor_config`` derived from the entry's schedule (a ``crontab`` becomes a
crontab schedule, a fixed ``schedule``/``timedelta`` an interval; ``solar`` entries are not
monitored), with the app's time zone. The first check-in creates or updates the monitor.

In the worker, a task carrying the slug header checks in ``in_progress`` at ``task_prerun`` and
``ok`` (state ``SUCCESS``) or ``error`` (anything else) at ``task_postrun``, with the duration and
the same check-in id. Tasks not sent by beat are left alone.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
import time
from typing import Any

import sdk_core
from sdk_core.integration import log_internal_error

from . import _patch

SLUG_HEADER = "coderadar-monitor-slug"
CONFIG_HEADER = "coderadar-monitor-config"
_UID = "coderadar-sdk-beat"
_SLUG_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")

_entry: contextvars.ContextVar[Any] = contextvars.ContextVar("coderadar_beat_entry", default=None)
_runs: dict[str, tuple[str, float]] = {}  # task id -> (check-in id, start)
_runs_lock = threading.Lock()


def slug_for(name: str) -> str:
    """A monitor slug from a beat entry name: letters, digits, ``-`` and ``_``, at most 50."""
    slug = _SLUG_UNSAFE.sub("-", name).strip("-")[:50]
    return slug or "celery-beat"


def monitor_config(schedule: Any, timezone: str | None) -> dict[str, Any] | None:
    """The ``monitor_config`` of a beat schedule, or None when it cannot be expressed (solar)."""
    from celery import schedules

    config: dict[str, Any]
    if isinstance(schedule, schedules.crontab):
        fields = [
            schedule._orig_minute,
            schedule._orig_hour,
            schedule._orig_day_of_month,
            schedule._orig_month_of_year,
            schedule._orig_day_of_week,
        ]
        config = {"schedule": {"type": "crontab", "value": " ".join(str(f) for f in fields)}}
    elif isinstance(schedule, schedules.schedule) and not isinstance(schedule, schedules.solar):
        seconds = int(schedule.run_every.total_seconds())
        value, unit = max(1, -(-seconds // 60)), "minute"  # the protocol's smallest unit is the minute
        for size, name in ((86400, "day"), (3600, "hour")):
            if seconds >= size and seconds % size == 0:
                value, unit = seconds // size, name
                break
        config = {"schedule": {"type": "interval", "value": value, "unit": unit}}
    else:
        return None
    if timezone:
        config["timezone"] = str(timezone)
    return config


def install() -> None:
    """Wrap the beat scheduler and connect the signals (idempotent)."""
    from celery import beat, signals

    _patch.wrap(beat.Scheduler, "apply_async", _apply_async)
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid=_UID)
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid=_UID)
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid=_UID)


def uninstall() -> None:
    """Undo ``install``."""
    try:
        from celery import beat, signals
    except ImportError:
        return
    _patch.unwrap(beat.Scheduler, "apply_async")
    for signal in (signals.before_task_publish, signals.task_prerun, signals.task_postrun):
        signal.disconnect(dispatch_uid=_UID)


def _apply_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    entry = args[0] if args else kwargs.get("entry")
    token = _entry.set((entry, instance))
    try:
        return wrapped(*args, **kwargs)
    finally:
        _entry.reset(token)


def _on_publish(sender: Any = None, headers: Any = None, **_: Any) -> None:
    current = _entry.get()
    if current is None or not isinstance(headers, dict):
        return
    try:
        entry, scheduler = current
        app = getattr(scheduler, "app", None)
        timezone = getattr(getattr(app, "conf", None), "timezone", None) or "UTC"
        config = monitor_config(entry.schedule, timezone)
        if config is None:
            return
        headers[SLUG_HEADER] = slug_for(str(entry.name))
        headers[CONFIG_HEADER] = json.dumps(config)
    except Exception as exc:
        log_internal_error("celery beat publish", exc)


def _header(request: Any, name: str) -> Any:
    value = getattr(request, name, None)
    if value is None:
        headers = getattr(request, "headers", None)
        value = headers.get(name) if isinstance(headers, dict) else None
    return value


def _on_prerun(sender: Any = None, task_id: Any = None, task: Any = None, **_: Any) -> None:
    if task is None or not isinstance(task_id, str):
        return
    try:
        slug = _header(task.request, SLUG_HEADER)
        if not isinstance(slug, str):
            return
        raw = _header(task.request, CONFIG_HEADER)
        config = json.loads(raw) if isinstance(raw, str) else None
        check_in_id = sdk_core.capture_checkin(slug, status="in_progress", monitor_config=config)
        if check_in_id is not None:
            with _runs_lock:
                _runs[task_id] = (check_in_id, time.perf_counter())
    except Exception as exc:
        log_internal_error("celery beat task_prerun", exc)


def _on_postrun(sender: Any = None, task_id: Any = None, task: Any = None, state: Any = None, **_: Any) -> None:
    with _runs_lock:
        run = _runs.pop(task_id, None) if isinstance(task_id, str) else None
    if run is None or task is None:
        return
    try:
        slug = _header(task.request, SLUG_HEADER)
        status = "ok" if state == "SUCCESS" else "error"
        sdk_core.capture_checkin(slug, run[0], status=status, duration=time.perf_counter() - run[1])
    except Exception as exc:
        log_internal_error("celery beat task_postrun", exc)


__all__ = ["CONFIG_HEADER", "SLUG_HEADER", "install", "monitor_config", "slug_for", "uninstall"]
