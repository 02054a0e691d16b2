"""Structured logs (``enable_logs=True``): records become ``log`` items, batched, scrubbed, then sent.

Caller thread (``capture_log``): one small tuple per record (time, level, template, arguments,
logger, trace ids) appended to a buffer under a lock; nothing is formatted or scrubbed there
unless an argument is a mutable object, which is read now. Every ``BATCH_SIZE`` records, or every
``FLUSH_INTERVAL`` seconds, the buffer goes to the client's worker as one job; at most
``MAX_BUFFERED`` records wait (more are counted as ``queue_overflow`` / ``log_item``).

Worker thread (``LogBuilder.envelope``): the batch is scrubbed in one walk of the scrubbers
engine, shaped as log breadcrumbs (``message`` = the body, ``data.logentry`` = template and
arguments, so arguments are judged with their template's context), then ``before_send_log`` sees
each scrubbed log, and the survivors leave as one ``log`` container item.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

from ._internal_errors import log_internal_error, logger
from ._version import SDK_NAME, VERSION
from .periodic import Periodic
from .scope import get_isolation_scope, new_trace_id
from .telemetry import trace_context
from .transport.envelope import Envelope, Item, items_envelope
from .transport.serialize import dumps
from .types import DropReason

if TYPE_CHECKING:
    from .options import Options
    from .pipeline import Job, Scrub

BATCH_SIZE = 100
"""A batch is sent as soon as it holds this many logs."""
FLUSH_INTERVAL = 5.0
"""Seconds after which a partial batch is sent anyway."""
MAX_BUFFERED = 1000
"""Logs that may wait for the worker; more are dropped and counted (``queue_overflow``, ``log_item``)."""
CONTENT_TYPE = "application/vnd.sentry.items.log+json"
CATEGORY = "log_item"
_PRIMITIVES = (str, int, float, bool, type(None))
_MAX_BODY = 8192


def severity(levelno: int) -> tuple[str, int]:
    """The protocol's level name and OpenTelemetry severity number for a ``logging`` level."""
    if levelno >= 50:
        return "fatal", 21
    if levelno >= 40:
        return "error", 17
    if levelno >= 30:
        return "warn", 13
    if levelno >= 20:
        return "info", 9
    if levelno >= 10:
        return "debug", 5
    return "trace", 1


class RawLog(NamedTuple):
    """What the caller thread keeps of one record until the worker builds the log."""

    timestamp: float
    levelno: int
    template: str
    params: Any  # list, dict or None: primitives or text read on the caller thread
    body: str | None  # None: format ``template % params`` on the worker
    attributes: dict[str, Any] | None  # logger name, code location, extra=...
    trace_id: str | None
    span_id: str | None


def snapshot(value: Any) -> Any:
    """An argument as it is now: primitives as they are, anything else as its ``str`` (safe)."""
    if isinstance(value, _PRIMITIVES):
        return value
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} (str failed)>"


def _all_primitive(args: Any) -> bool:
    if isinstance(args, tuple):
        return all(isinstance(a, _PRIMITIVES) for a in args)
    if isinstance(args, Mapping):
        return all(isinstance(a, _PRIMITIVES) for a in args.values())
    return False


def current_trace() -> tuple[str | None, str | None]:
    """``(trace_id, span_id)`` of the active span, or of the current scope's trace (the protocol
    requires a trace id on every log)."""
    try:
        ctx = trace_context(get_isolation_scope())
        return ctx.get("trace_id"), ctx.get("span_id")
    except Exception:
        return new_trace_id(), None


# -- the worker side ---------------------------------------------------------------------------
def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"value": value, "type": "boolean"}
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return {"value": value, "type": "integer"}
        return {"value": str(value), "type": "string"}
    if isinstance(value, float):
        return {"value": value, "type": "double"}
    if isinstance(value, str):
        return {"value": value, "type": "string"}
    return {"value": snapshot(value), "type": "string"}


def _body(raw: RawLog) -> str:
    if raw.body is not None:
        return raw.body
    if not raw.params:
        return raw.template
    try:
        params = raw.params if isinstance(raw.params, dict) else tuple(raw.params)
        return raw.template % params
    except Exception:
        return raw.template


class LogBuilder:
    """Worker side: scrub a batch, run ``before_send_log``, build the ``log`` container item."""

    def __init__(self, options: Options, scrub: Scrub | None, count_drop: Callable[[str, str, int], None]) -> None:
        self._scrub = scrub
        self._hook = options.before_send_log
        self._count_drop = count_drop
        static: dict[str, Any] = {
            "sentry.sdk.name": SDK_NAME,
            "sentry.sdk.version": VERSION,
            "sentry.environment": options.environment,
        }
        if options.release:
            static["sentry.release"] = options.release
        if options.server_name:
            static["server.address"] = options.server_name
        self._static = {key: _typed(value) for key, value in static.items()}

    def logs(self, batch: list[RawLog]) -> list[dict[str, Any]]:
        """The scrubbed, hooked logs of ``batch`` (drops counted)."""
        crumbs: list[dict[str, Any]] = []
        for raw in batch:
            entry: dict[str, Any] = {"message": raw.template}
            if raw.params:
                entry["params"] = list(raw.params) if isinstance(raw.params, (list, tuple)) else dict(raw.params)
            data: dict[str, Any] = dict(raw.attributes) if raw.attributes else {}
            data["logentry"] = entry
            crumbs.append({"type": "log", "message": _body(raw)[:_MAX_BODY], "data": data})
        if self._scrub is not None:
            # One walk for the whole batch; the same engine and rules as events.
            self._scrub({"breadcrumbs": {"values": crumbs}})
        out: list[dict[str, Any]] = []
        for raw, crumb in zip(batch, crumbs):
            log: dict[str, Any] | None = self._log(raw, crumb)
            if self._hook is not None and log is not None:
                log = self._run_hook(log)
            if log is None:
                self._count_drop(DropReason.BEFORE_SEND.value, CATEGORY, 1)
                continue
            out.append(log)
        return out

    def _log(self, raw: RawLog, crumb: dict[str, Any]) -> dict[str, Any]:
        level, number = severity(raw.levelno)
        data = crumb.get("data")
        if not isinstance(data, dict):
            data = {}
        entry = data.pop("logentry", None)
        attributes = dict(self._static)
        if isinstance(entry, dict):
            template, params = entry.get("message"), entry.get("params")
            if params:
                attributes["sentry.message.template"] = _typed(template)
                items = params.items() if isinstance(params, dict) else enumerate(params)
                for key, value in items:
                    attributes[f"sentry.message.parameter.{key}"] = _typed(value)
        for key, value in data.items():
            attributes[str(key)] = _typed(value)
        log: dict[str, Any] = {
            "timestamp": raw.timestamp,
            "level": level,
            "severity_number": number,
            "body": crumb.get("message", ""),
            "attributes": attributes,
        }
        if raw.trace_id:
            log["trace_id"] = raw.trace_id
        if raw.span_id:
            log["span_id"] = raw.span_id
        return log

    def _run_hook(self, log: dict[str, Any]) -> dict[str, Any] | None:
        """``before_send_log`` sees sentry-sdk's shape (plain attribute values, ``severity_text``,
        ``time_unix_nano``), so hooks written for it keep working; its answer goes back to the wire shape."""
        assert self._hook is not None
        try:
            result = self._hook(hook_shape(log), {})
        except Exception as exc:
            logger.error("before_send_log raised %s; the log was dropped", type(exc).__name__)
            return None
        if result is None:
            return None
        if not isinstance(result, dict):
            logger.error("before_send_log returned %s instead of a log dict or None; dropped", type(result).__name__)
            return None
        return wire_shape(result, log)

    def item(self, batch: list[RawLog]) -> Item | None:
        """The ``log`` container item for ``batch``, or None when nothing is left to send."""
        logs = self.logs(batch)
        if not logs:
            return None
        payload = dumps({"items": logs})
        if payload is None:
            self._count_drop(DropReason.INTERNAL_SDK_ERROR.value, CATEGORY, len(logs))
            return None
        return Item("log", payload, {"item_count": len(logs), "content_type": CONTENT_TYPE})


def hook_shape(log: dict[str, Any]) -> dict[str, Any]:
    """The log as sentry-sdk's ``before_send_log`` receives it."""
    out: dict[str, Any] = {
        "severity_text": log["level"],
        "severity_number": log["severity_number"],
        "body": log["body"],
        "attributes": {key: value.get("value") for key, value in log["attributes"].items()},
        "time_unix_nano": int(log["timestamp"] * 1e9),
        "trace_id": log.get("trace_id"),
    }
    if "span_id" in log:
        out["span_id"] = log["span_id"]
    return out


def wire_shape(hooked: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """A hook's answer back in the protocol's shape (typed attributes); what it left out is kept."""
    level = hooked.get("severity_text")
    number = hooked.get("severity_number")
    attributes = hooked.get("attributes")
    ts = hooked.get("time_unix_nano")
    log = dict(original)
    if isinstance(level, str) and level in _LEVEL_NAMES:
        log["level"] = level
    if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 24:
        log["severity_number"] = number
    if "body" in hooked:
        log["body"] = hooked["body"] if isinstance(hooked["body"], str) else snapshot(hooked["body"])
    if isinstance(attributes, dict):
        log["attributes"] = {str(key): _typed(value) for key, value in attributes.items()}
    if isinstance(ts, int) and not isinstance(ts, bool):
        log["timestamp"] = ts / 1e9
    for key in ("trace_id", "span_id"):
        if isinstance(hooked.get(key), str):
            log[key] = hooked[key]
    return log


_LEVEL_NAMES = frozenset({"trace", "debug", "info", "warn", "error", "fatal"})


class LogJob:
    """One batch on the worker (the ``Job`` protocol of ``sdk_core.pipeline``)."""

    category = CATEGORY

    def __init__(self, builder: LogBuilder, batch: list[RawLog]) -> None:
        self._builder = builder
        self.batch = batch
        self.quantity = len(batch)

    def envelope(self) -> Envelope | None:
        """Scrub, hook and wrap the batch (called on the worker)."""
        item = self._builder.item(self.batch)
        return None if item is None else items_envelope([item])


# -- the caller side ---------------------------------------------------------------------------
class LogBatcher:
    """Collects raw logs and hands them to the worker in batches (thread-safe)."""

    def __init__(
        self,
        builder: LogBuilder,
        submit: Callable[[Job], bool],
        count_drop: Callable[[str, str, int], None],
        levelno: int,
    ) -> None:
        self.levelno = levelno
        self._builder = builder
        self._submit = submit
        self._count_drop = count_drop
        self._lock = threading.Lock()
        self._buffer: list[RawLog] = []
        self._timer = Periodic("sdk_core.logs", FLUSH_INTERVAL, self.flush)
        self._closed = False

    def add(self, raw: RawLog) -> None:
        """Buffer one log; hand the batch over when it is full."""
        with self._lock:
            buffer = self._buffer
            if len(buffer) >= MAX_BUFFERED or self._closed:
                full = False
                dropped = True
            else:
                buffer.append(raw)
                dropped = False
                full = len(buffer) % BATCH_SIZE == 0
        if dropped:
            self._count_drop(DropReason.QUEUE_OVERFLOW.value, CATEGORY, 1)
        elif full:
            self.flush()
        else:
            self._timer.ensure_started()

    def flush(self) -> None:
        """Hand every buffered log to the worker (in batches of at most ``BATCH_SIZE``).

        A batch the worker refuses (its queue is full) stays buffered, within ``MAX_BUFFERED``.
        """
        with self._lock:
            pending, self._buffer = self._buffer, []
        refused: list[RawLog] = []
        for start in range(0, len(pending), BATCH_SIZE):
            batch = pending[start : start + BATCH_SIZE]
            if refused or not self._submit(LogJob(self._builder, batch)):
                refused.extend(batch)
        if refused:
            with self._lock:
                keep = refused + self._buffer
                overflow = len(keep) - MAX_BUFFERED
                self._buffer = keep[max(0, overflow) :]
            if overflow > 0:
                self._count_drop(DropReason.QUEUE_OVERFLOW.value, CATEGORY, overflow)

    def reset_after_fork(self) -> None:
        """In a forked child: the parent's buffered logs are the parent's to send; a fresh lock."""
        self._lock = threading.Lock()
        self._buffer = []

    def close(self) -> None:
        """Hand over what is buffered and stop the timer (the client then flushes its worker)."""
        self._timer.stop()
        self.flush()
        with self._lock:
            self._closed = True
            left, self._buffer = len(self._buffer), []
        if left:
            self._count_drop(DropReason.QUEUE_OVERFLOW.value, CATEGORY, left)


# -- entry points --------------------------------------------------------------------------------
_batcher: LogBatcher | None = None
"""The running client's batcher, or None when logs are off (read by every logging call)."""


def set_batcher(batcher: LogBatcher | None) -> None:
    """Installed by the client that has ``enable_logs=True``; removed at its close."""
    global _batcher
    _batcher = batcher


def threshold() -> int | None:
    """The ``logs_level`` of the running client, or None when logs are off."""
    batcher = _batcher
    return None if batcher is None else batcher.levelno


def capture_record(record: Any) -> None:
    """A ``logging.LogRecord`` at or above ``logs_level`` becomes a log. Never raises."""
    batcher = _batcher
    if batcher is None:
        return
    try:
        args = record.args
        msg = record.msg
        template = msg if isinstance(msg, str) else snapshot(msg)
        body: str | None = None
        params: Any = None
        if args:
            if _all_primitive(args):
                params = dict(args) if isinstance(args, Mapping) else args  # a dict may change later
            else:
                try:
                    body = record.getMessage()
                except Exception:  # a bad format string: logging reports it; the log keeps the template
                    body = template
                params = (
                    {k: snapshot(v) for k, v in args.items()}
                    if isinstance(args, Mapping)
                    else [snapshot(a) for a in args]
                )
        attributes: dict[str, Any] = {
            "logger.name": record.name,
            "sentry.origin": "auto.log.stdlib",
            "code.file.path": record.pathname,
            "code.line.number": record.lineno,
            "code.function.name": record.funcName,
        }
        extra = getattr(record, "__dict__", None)
        if extra is not None and len(extra) > _STANDARD_COUNT:
            for key, value in extra.items():
                if key not in _STANDARD_ATTRS:
                    attributes[key] = snapshot(value)
        trace_id, span_id = current_trace()
        batcher.add(RawLog(record.created, record.levelno, template, params, body, attributes, trace_id, span_id))
    except Exception as exc:
        log_internal_error("capture log", exc)


def capture_log(levelno: int, template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``sdk_core.logger``: a ``str.format`` template, its arguments and ``attributes=``. Never raises."""
    batcher = _batcher
    if batcher is None or levelno < batcher.levelno:
        return
    try:
        own = kwargs.pop("attributes", None)
        attributes: dict[str, Any] = {}  # the protocol: no sentry.origin on the logging API's own logs
        if isinstance(own, Mapping):
            attributes.update({str(k): snapshot(v) for k, v in own.items()})
        template = template if isinstance(template, str) else snapshot(template)
        params: Any = None
        if kwargs:
            params = {str(k): snapshot(v) for k, v in kwargs.items()}
        elif args:
            params = [snapshot(a) for a in args]
        try:
            body = template.format(*args, **kwargs) if (args or kwargs) else template
        except Exception:
            body = template
        trace_id, span_id = current_trace()
        batcher.add(RawLog(time.time(), levelno, template, params, body, attributes, trace_id, span_id))
    except Exception as exc:
        log_internal_error("capture log", exc)


def make_batcher(
    options: Options, scrub: Scrub | None, count_drop: Callable[[str, str, int], None], submit: Callable[[Job], bool]
) -> LogBatcher | None:
    """The client's batcher when ``enable_logs=True`` (installed for the logging entry points), else None."""
    if not options.enable_logs:
        return None
    batcher = LogBatcher(LogBuilder(options, scrub, count_drop), submit, count_drop, options.logs_level)
    set_batcher(batcher)
    return batcher


def close_batcher(batcher: LogBatcher | None) -> None:
    """At the client's close: hand the last logs to the worker and uninstall the batcher."""
    if batcher is None:
        return
    if _batcher is batcher:
        set_batcher(None)
    batcher.close()


_BLANK_RECORD = vars(logging.LogRecord("", 0, "", 0, "", (), None))
_STANDARD_ATTRS = frozenset(_BLANK_RECORD.keys() | {"message", "asctime", "taskName", "stack_info", "exc_text"})
_STANDARD_COUNT = len(_BLANK_RECORD)
