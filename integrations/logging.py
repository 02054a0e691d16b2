"""Log records -> breadcrumbs (``level`` and above), events (``event_level`` and above) and, with
``enable_logs=True``, structured logs (``logs_level`` and above).

Installed by wrapping ``logging.Logger.callHandlers`` rather than adding a handler to the root
logger: ``callHandlers`` runs once per record for every logger that is enabled for it, so records
are seen even when a logger has ``propagate = False`` or the application reconfigures the root
logger's handlers (``dictConfig``, celery's root-logger hijack, pytest's capture) after ``init``.
The handlers themselves still run exactly as before.

Never observed: records of the SDK's own ``sdk_core`` logger and its children, records emitted on
the SDK's worker thread (for example httpx's log of our own upload), and records logged while this
integration is itself capturing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import sdk_core
from sdk_core.integration import (
    Event,
    Hint,
    add_event_processor,
    capture_log_record,
    event_from_exception,
    event_from_message,
    is_enabled,
    is_sdk_sending,
    level_name,
    log_internal_error,
    logs_level,
    remove_event_processor,
)

from . import _patch

_SDK_LOGGER = "sdk_core"

# LogRecord attributes that every record has; anything else was passed through ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "stack_info", "exc_text"}
)
_PRIMITIVES = (str, int, float, bool, type(None))
_MAX_MESSAGE = 8192


class LoggingIntegration:
    """Breadcrumbs for records at ``level`` and above, events for ``event_level`` and above.

    Either level may be ``None`` to switch that half off. ``ignore_loggers`` names loggers (and,
    through the dotted hierarchy, their children) whose records are never observed.
    """

    identifier = "logging"

    def __init__(
        self,
        level: int | None = logging.INFO,
        event_level: int | None = logging.ERROR,
        ignore_loggers: Iterable[str] = (),
    ) -> None:
        self.level = _check_level("level", level)
        self.event_level = _check_level("event_level", event_level)
        if isinstance(ignore_loggers, str):
            raise TypeError("ignore_loggers: expected a list of logger names, got a string")
        names = tuple(ignore_loggers)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"ignore_loggers: expected logger names, found {type(name).__name__}")
        self.ignore_loggers = names

    def setup_once(self) -> None:
        """Observe every record handed to handlers (Logger.callHandlers)."""
        global _active
        _active = self
        _patch.wrap(logging.Logger, "callHandlers", _call_handlers)
        add_event_processor(_remember_captured)

    def uninstall(self) -> None:
        """Stop observing records and remove the duplicate-suppression processor."""
        global _active
        if _active is self:
            _active = None
        _patch.unwrap(logging.Logger, "callHandlers")
        remove_event_processor(_remember_captured)
        _recent.exc = None

    # -- per record ------------------------------------------------------------------------
    def _ignored(self, name: str) -> bool:
        if name == _SDK_LOGGER or name.startswith(_SDK_LOGGER + "."):
            return True
        return any(name == ignored or name.startswith(ignored + ".") for ignored in self.ignore_loggers)

    def observe(self, record: logging.LogRecord) -> None:
        """Turn ``record`` into an event and/or a breadcrumb. Never raises."""
        levelno = record.levelno
        wants_event = self.event_level is not None and levelno >= self.event_level
        wants_crumb = self.level is not None and levelno >= self.level
        log_level = logs_level()
        wants_log = log_level is not None and levelno >= log_level
        if not (wants_event or wants_crumb or wants_log) or getattr(_recent, "busy", False):
            return
        if self._ignored(record.name) or is_sdk_sending() or not is_enabled():
            return
        _recent.busy = True
        try:
            if wants_log:
                capture_log_record(record)
            # The event first, so the record does not show up as a breadcrumb of its own event.
            if wants_event:
                _capture(record)
            if wants_crumb:
                _breadcrumb(record)
        except Exception as exc:
            log_internal_error("logging integration", exc)
        finally:
            _recent.busy = False


_active: LoggingIntegration | None = None


class _Recent(threading.local):
    busy = False
    exc: BaseException | None = None


# Per thread: the exception of the last event captured (by any integration), so that a framework
# logging the error it has just reported (celery's task failure log, asyncio's "never retrieved",
# django.request) does not produce the same event twice.
_recent = _Recent()


def _remember_captured(event: Event, hint: Hint) -> Event | None:
    exc_info = hint.get("exc_info")
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        _recent.exc = exc_info[1]
    return event


def _call_handlers(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    integration = _active
    if integration is not None and args and isinstance(args[0], logging.LogRecord):
        integration.observe(args[0])
    return wrapped(*args, **kwargs)


def _capture(record: logging.LogRecord) -> None:
    level = level_name(record.levelno)
    exc = _exception(record)
    hint: Hint
    if exc is not None:
        if _recent.exc is exc:
            _recent.exc = None
            return
        built = event_from_exception(exc, mechanism={"type": "logging", "handled": True}, level=level)
        if built is None:
            return
        event, hint = built
    else:
        event = event_from_message(_formatted(record), level)
        hint = {}
    event["logger"] = record.name
    event["logentry"] = _logentry(record)
    extra = _extra(record)
    if extra:
        event["extra"] = extra
    hint["log_record"] = record
    sdk_core.capture_event(event, hint)


def _breadcrumb(record: logging.LogRecord) -> None:
    data = _extra(record)
    entry = _logentry(record)
    if "params" in entry:
        # the template and arguments let the scrubber judge each argument by its placeholder
        data["logentry"] = {"message": entry["message"], "params": entry["params"]}
    sdk_core.add_breadcrumb(
        hint={"log_record": record},
        type="log",
        category=record.name,
        level=level_name(record.levelno),
        message=entry.get("formatted", entry["message"]),
        timestamp=record.created,
        data=data or None,
    )


def _exception(record: logging.LogRecord) -> BaseException | None:
    exc_info = record.exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        exc = exc_info[1]
        if exc.__traceback__ is None and exc_info[2] is not None:
            exc = exc.with_traceback(exc_info[2])
        return exc
    return None


def _logentry(record: logging.LogRecord) -> dict[str, Any]:
    template = _trim(_text(record.msg))
    entry: dict[str, Any] = {"message": template}
    args = record.args
    if isinstance(args, Mapping) and args:
        entry["params"] = {str(k): _snapshot(v) for k, v in args.items()}
    elif isinstance(args, tuple) and args:
        entry["params"] = [_snapshot(v) for v in args]
    formatted = _trim(_formatted(record))
    if formatted != template or "params" in entry:
        entry["formatted"] = formatted
    return entry


def _formatted(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        # The application's own handlers will report the bad format string; we keep the template.
        return _text(record.msg)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} (str failed)>"


def _trim(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {key: _snapshot(value) for key, value in vars(record).items() if key not in _STANDARD_ATTRS}


def _snapshot(value: Any) -> Any:
    """Read now, on the logging thread: the worker serialises later and the object may change."""
    if isinstance(value, _PRIMITIVES):
        return value
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__} (repr failed)>"


def _check_level(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected a logging level number (logging.INFO) or None, got {type(value).__name__}")
    return value


__all__ = ["LoggingIntegration"]
