"""Cron monitoring: ``check_in`` items for scheduled jobs.

``@monitor("nightly-report")`` (or ``with monitor(...)`` / ``async with``) sends ``in_progress``
when the job starts, then ``ok`` or ``error`` with its duration in seconds and the same
``check_in_id``; ``capture_checkin`` is the manual form. ``monitor_config`` upserts the monitor on
the server (schedule, margins, thresholds); it is validated where it is written, so a typo fails
at import time instead of silently creating a monitor that never alerts.

A check-in is a few hundred bytes built on the calling thread and queued on the client's worker,
which scrubs it and sends it alone in its envelope (one ``check_in`` per envelope, category
``monitor``), through the same rate limits, retries and spool as events.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

from ._internal_errors import log_internal_error
from .event import new_event_id
from .scope import get_isolation_scope
from .telemetry import trace_context
from .transport.envelope import Envelope, Item, items_envelope
from .transport.serialize import dumps
from .types import DropReason

if TYPE_CHECKING:
    from .client import Client

F = TypeVar("F", bound=Callable[..., Any])

STATUSES = ("in_progress", "ok", "error")
"""The check-in statuses an SDK sends (``missed`` and ``timeout`` are the server's)."""
INTERVAL_UNITS = ("year", "month", "week", "day", "hour", "minute")
CATEGORY = "monitor"
_SLUG = re.compile(r"^[a-zA-Z0-9_-]{1,50}$")
_CRON_FIELD = re.compile(r"^[\d*/,\-a-zA-Z?LW#]+$")
_CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CONFIG_KEYS = frozenset(
    {"schedule", "checkin_margin", "max_runtime", "timezone", "failure_issue_threshold", "recovery_threshold", "owner"}
)


class MonitorConfigError(ValueError):
    """``monitor_config`` (or a check-in argument) is not what the protocol accepts; the message says why."""


def _positive_int(config: dict[str, Any], key: str) -> None:
    value = config.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MonitorConfigError(f"monitor_config[{key!r}]: expected a whole number >= 1, got {value!r}")


def validate_config(config: Any) -> dict[str, Any] | None:
    """Check ``monitor_config`` against the protocol; returns a copy. Raises ``MonitorConfigError``.

    ``schedule`` is ``{"type": "crontab", "value": "0 3 * * *"}`` or ``{"type": "interval",
    "value": 2, "unit": "hour"}``; ``checkin_margin`` and ``max_runtime`` are minutes;
    ``timezone`` is an IANA name; ``failure_issue_threshold`` / ``recovery_threshold`` count
    consecutive check-ins; ``owner`` is ``"user:<email>"`` or ``"team:<slug>"``.
    """
    if config is None:
        return None
    if not isinstance(config, dict):
        raise MonitorConfigError(f"monitor_config: expected a dict, got {type(config).__name__}")
    unknown = sorted(str(k) for k in config if k not in _CONFIG_KEYS)
    if unknown:
        known = ", ".join(sorted(_CONFIG_KEYS))
        raise MonitorConfigError(f"monitor_config: unknown key {unknown[0]!r} (known: {known})")
    schedule = config.get("schedule")
    if not isinstance(schedule, dict):
        raise MonitorConfigError("monitor_config['schedule']: required, a dict with 'type' crontab or interval")
    kind = schedule.get("type")
    value = schedule.get("value")
    if kind == "crontab":
        if not isinstance(value, str) or not _valid_crontab(value):
            raise MonitorConfigError(
                f"monitor_config['schedule']['value']: expected a crontab like '0 3 * * *', got {value!r}"
            )
    elif kind == "interval":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise MonitorConfigError(f"monitor_config['schedule']['value']: expected an integer >= 1, got {value!r}")
        if schedule.get("unit") not in INTERVAL_UNITS:
            raise MonitorConfigError(
                f"monitor_config['schedule']['unit']: expected one of {', '.join(INTERVAL_UNITS)}, "
                f"got {schedule.get('unit')!r}"
            )
    else:
        raise MonitorConfigError(f"monitor_config['schedule']['type']: expected 'crontab' or 'interval', got {kind!r}")
    for key in ("checkin_margin", "max_runtime", "failure_issue_threshold", "recovery_threshold"):
        _positive_int(config, key)
    tz = config.get("timezone")
    if tz is not None:
        if not isinstance(tz, str) or not tz:
            raise MonitorConfigError(
                f"monitor_config['timezone']: expected an IANA name like 'Europe/Vienna', got {tz!r}"
            )
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except ImportError:  # Python 3.8: no zoneinfo; the server checks it
            pass
        except Exception:
            raise MonitorConfigError(f"monitor_config['timezone']: unknown time zone {tz!r}") from None
    owner = config.get("owner")
    if owner is not None and (not isinstance(owner, str) or ":" not in owner):
        raise MonitorConfigError(f"monitor_config['owner']: expected 'user:<email>' or 'team:<slug>', got {owner!r}")
    out = dict(config)
    out["schedule"] = dict(schedule)
    return out


def _valid_crontab(value: str) -> bool:
    text = value.strip()
    if text in _CRON_ALIASES:
        return True
    fields = text.split()
    return len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)


def _check_slug(slug: Any) -> str:
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise MonitorConfigError(f"monitor slug: expected 1-50 letters, digits, '-' or '_', got {slug!r}")
    return slug


class CheckInJob:
    """One check-in on the worker (the ``Job`` protocol of ``sdk_core.pipeline``)."""

    category = CATEGORY
    quantity = 1

    def __init__(self, client: Client, check_in: dict[str, Any]) -> None:
        self._client = client
        self.check_in = check_in

    def envelope(self) -> Envelope | None:
        """Scrubbed and serialised, alone in its envelope."""
        scrub = self._client.scrub
        if scrub is not None:
            scrub(self.check_in)
        payload = dumps(self.check_in)
        if payload is None:
            self._client.discards.record(DropReason.INTERNAL_SDK_ERROR.value, CATEGORY)
            return None
        return items_envelope([Item("check_in", payload)])


def capture_checkin(
    monitor_slug: str | None = None,
    check_in_id: str | None = None,
    status: str | None = None,
    duration: float | None = None,
    monitor_config: dict[str, Any] | None = None,
) -> str | None:
    """Send one check-in; returns its ``check_in_id`` (pass it back with the final status).

    Raises ``MonitorConfigError`` for a bad slug, status or config (a programming error); never
    raises because of the SDK's own state.
    """
    slug = _check_slug(monitor_slug)
    if status not in STATUSES:
        raise MonitorConfigError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0):
        raise MonitorConfigError(f"duration: expected seconds >= 0, got {duration!r}")
    return _send(slug, check_in_id, status, duration, validate_config(monitor_config))


def _send(
    slug: str, check_in_id: str | None, status: str, duration: float | None, config: dict[str, Any] | None
) -> str:
    """Build and queue a check-in whose arguments are known to be valid."""
    check_in_id = check_in_id or new_event_id()
    from ._api import get_client

    client = get_client()
    if client is None or not client.enabled:
        return check_in_id
    try:
        options = client.options
        check_in: dict[str, Any] = {
            "check_in_id": check_in_id,
            "monitor_slug": slug,
            "status": status,
            "environment": options.environment,
        }
        if options.release:
            check_in["release"] = options.release
        if duration is not None:
            check_in["duration"] = float(duration)
        if config is not None:
            check_in["monitor_config"] = config
        trace = trace_context(get_isolation_scope())
        check_in["contexts"] = {"trace": {"trace_id": trace["trace_id"], "span_id": trace["span_id"]}}
        if not client.submit_job(CheckInJob(client, check_in)):
            client.discards.record(DropReason.QUEUE_OVERFLOW.value, CATEGORY)
    except Exception as exc:
        log_internal_error("capture_checkin", exc)
    return check_in_id


class monitor:  # lower case like sentry-sdk's: used as @monitor(...)
    """Check in around a job: decorator (sync or async functions) or context manager (sync or async).

    ``in_progress`` at the start; ``ok`` at the end, ``error`` (with the duration) if the job
    raises. The exception is re-raised unchanged.
    """

    def __init__(self, monitor_slug: str, monitor_config: dict[str, Any] | None = None) -> None:
        self.monitor_slug = _check_slug(monitor_slug)
        self.monitor_config = validate_config(monitor_config)
        # Per thread and per asyncio task: one instance may be entered concurrently.
        self._runs: contextvars.ContextVar[tuple[tuple[str, float], ...]] = contextvars.ContextVar(
            f"coderadar_monitor_{self.monitor_slug}", default=()
        )

    def _start(self) -> tuple[str, float]:
        started = time.perf_counter()
        return _send(self.monitor_slug, None, "in_progress", None, self.monitor_config), started

    def _finish(self, run: tuple[str, float], failed: bool) -> None:
        check_in_id, started = run
        status = "error" if failed else "ok"
        _send(self.monitor_slug, check_in_id, status, time.perf_counter() - started, self.monitor_config)

    def __enter__(self) -> monitor:
        self._runs.set((*self._runs.get(), self._start()))
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        runs = self._runs.get()
        if not runs:
            return
        self._runs.set(runs[:-1])
        self._finish(runs[-1], exc_type is not None)

    async def __aenter__(self) -> monitor:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                run = self._start()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    self._finish(run, True)
                    raise
                self._finish(run, False)
                return result

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            started = self._start()
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                self._finish(started, True)
                raise
            self._finish(started, False)
            return result

        return cast(F, run)
