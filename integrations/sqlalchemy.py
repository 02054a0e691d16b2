"""SQLAlchemy (1.4 and 2.x): every statement a breadcrumb, a failed statement described on its error.

Three engine events, registered once on the ``Engine`` class so every engine (created before or
after ``init``) is covered, and removed by ``uninstall``:

* ``before_cursor_execute`` notes the start time on the execution context.
* ``after_cursor_execute`` records a ``query`` breadcrumb: the statement as sent to the driver,
  with its placeholders (``?``, ``%(name)s``) and never the bound values, plus ``db.system``,
  ``duration_ms``, ``rowcount`` and ``executemany``.
* ``handle_error`` records the failed statement as an error breadcrumb and marks the exception;
  an event for that exception gets a ``sqlalchemy`` context (statement and dialect), and the
  ``[parameters: ...]`` line SQLAlchemy puts in its error messages is replaced, so bound values
  do not reach the event through the message either.

With tracing on, each statement is also a ``db`` span (kind client, origin ``auto.db.sqlalchemy``)
under the current span, started in ``before_cursor_execute`` and ended after the cursor returned:
``db.system`` (the dialect) and ``db.query.text``, the statement with its placeholders and never
the bound values; a failed statement ends its span with status error.
"""

from __future__ import annotations

import re
import time
from typing import Any

import sdk_core
from sdk_core.integration import (
    DidNotEnable,
    Event,
    Hint,
    add_event_processor,
    fail_span,
    is_enabled,
    log_internal_error,
    remove_event_processor,
    start_child_span,
    tracing_enabled,
)

__all__ = ["SqlalchemyIntegration"]

_STARTED = "_coderadar_started"
_SPAN = "_coderadar_span"
_MARK = "_coderadar_sql"
_PARAMETERS = re.compile(r"^\[parameters: .*\]$", re.MULTILINE)
_HIDDEN = "[parameters: [filtered]]"


class SqlalchemyIntegration:
    """Statement breadcrumbs and failed-statement context for every SQLAlchemy engine."""

    identifier = "sqlalchemy"
    framework_module = "sqlalchemy"

    def setup_once(self) -> None:
        """Listen to every Engine's cursor events and describe failed statements on their error events."""
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError as exc:
            raise DidNotEnable("sqlalchemy is not installed") from exc
        for name, listener in _LISTENERS:
            if not event.contains(Engine, name, listener):
                event.listen(Engine, name, listener)
        add_event_processor(_describe_failure)

    def uninstall(self) -> None:
        """Remove the listeners and the event processor."""
        remove_event_processor(_describe_failure)
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError:
            return
        for name, listener in _LISTENERS:
            if event.contains(Engine, name, listener):
                event.remove(Engine, name, listener)


def _before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
    if context is not None:
        setattr(context, _STARTED, time.perf_counter())
        if tracing_enabled():
            span = _statement_span(conn, statement)
            if span is not None:
                setattr(context, _SPAN, span)


def _statement_span(conn: Any, statement: Any) -> Any:
    """A ``db`` span for one statement: the SQL as sent to the driver (placeholders), never its parameters."""
    try:
        text = str(statement)
        system = str(getattr(getattr(conn, "dialect", None), "name", "") or "other_sql")
        name = text.split(None, 1)[0][:32] if text.strip() else "query"  # the verb: no literal in the name
        return start_child_span(
            name,
            kind="client",
            op="db",
            origin="auto.db.sqlalchemy",
            attributes={"db.system": system, "db.query.text": text},
        )
    except Exception as exc:
        log_internal_error("sqlalchemy span", exc)
        return None


def _end_span(context: Any, exc: BaseException | None) -> None:
    span = getattr(context, _SPAN, None)
    if span is None:
        return
    try:
        setattr(context, _SPAN, None)
        if exc is not None:
            fail_span(span, exc)
        span.end()
    except Exception as error:
        log_internal_error("sqlalchemy span", error)


def _after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
    if context is not None:
        _end_span(context, None)
    if not is_enabled():
        return
    try:
        data: dict[str, Any] = {"db.system": conn.dialect.name}
        started = getattr(context, _STARTED, None)
        if started is not None:
            data["duration_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        rowcount = getattr(cursor, "rowcount", -1)
        if isinstance(rowcount, int) and rowcount >= 0:
            data["rowcount"] = rowcount
        if executemany:
            data["executemany"] = True
        sdk_core.add_breadcrumb(type="query", category="query", message=str(statement), data=data)
    except Exception as exc:
        log_internal_error("sqlalchemy breadcrumb", exc)


def _on_error(context: Any) -> None:
    execution = getattr(context, "execution_context", None)
    if execution is not None:
        _end_span(execution, getattr(context, "original_exception", None))
    if not is_enabled():
        return
    try:
        statement = context.statement
        dialect = getattr(getattr(context, "dialect", None), "name", None)
        details: dict[str, Any] = {}
        if statement is not None:
            details["statement"] = str(statement)
        if dialect:
            details["dialect"] = dialect
        for exc in (context.sqlalchemy_exception, context.original_exception):
            if isinstance(exc, BaseException):
                try:
                    setattr(exc, _MARK, details)
                except Exception:
                    pass  # an exception type without __dict__: described by the other one
        sdk_core.add_breadcrumb(
            type="query",
            category="query",
            level="error",
            message=details.get("statement"),
            data={"db.system": dialect, "error": type(context.original_exception).__name__},
        )
    except Exception as exc:
        log_internal_error("sqlalchemy handle_error", exc)


_LISTENERS = (
    ("before_cursor_execute", _before),
    ("after_cursor_execute", _after),
    ("handle_error", _on_error),
)


def _marked(exc: BaseException | None) -> dict[str, Any] | None:
    seen = 0
    while exc is not None and seen < 16:
        details = getattr(exc, _MARK, None)
        if isinstance(details, dict):
            return details
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _describe_failure(event: Event, hint: Hint) -> Event:
    exc_info = hint.get("exc_info") if isinstance(hint, dict) else None
    if not isinstance(exc_info, tuple) or len(exc_info) != 3:
        return event
    details = _marked(exc_info[1])
    if details is None:
        return event
    contexts = event.setdefault("contexts", {})
    if isinstance(contexts, dict):
        contexts.setdefault("sqlalchemy", dict(details))
    for value in (event.get("exception") or {}).get("values") or ():
        text = value.get("value")
        if isinstance(text, str) and "[parameters: " in text:
            value["value"] = _PARAMETERS.sub(_HIDDEN, text)
    return event
