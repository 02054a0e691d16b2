"""Module-level API: find the client and the scope, then delegate. Never raises into the caller."""

from __future__ import annotations

import sys
from typing import Any

from ._internal_errors import log_internal_error
from .attachments import Attachment, as_attachments
from .capture import event_from_exception, event_from_message, make_breadcrumb
from .client import Client
from .options import Options, validate
from .scope import get_isolation_scope
from .telemetry import record_on_span
from .types import Hint

_client: Client | None = None
_last_event_id: str | None = None
_closed_client: Client | None = None
"""The client ``close()`` shut down, so that ``stats()`` still answers afterwards."""


def init(dsn: str | None = None, **options: Any) -> Client | None:
    """Validate options (TypeError/ValueError name the bad field), then start capturing.

    Without a DSN (argument or ``CODERADAR_DSN``) and without a transport, the SDK stays a no-op.
    """
    global _client, _closed_client
    opts = validate(dsn, **options)
    previous, _client = _client, None
    if previous is not None:
        previous.close()
        _closed_client = previous
    if opts.dsn is None and opts.transport is None:
        _uninstall_integrations()
        return None
    names = _install_integrations(opts)
    _client = Client(opts, names)
    return _client


def _install_integrations(opts: Options) -> list[str]:
    # The one place the core reaches the integrations package (DEFAULT_INTEGRATIONS lists the defaults).
    try:
        from integrations import setup_integrations

        return setup_integrations(
            opts.integrations,
            default_integrations=opts.default_integrations,
            disabled_integrations=opts.disabled_integrations,
        )
    except Exception as exc:
        log_internal_error("integrations setup", exc)
        return []


def _uninstall_integrations() -> None:
    try:
        from integrations import uninstall_all

        uninstall_all()
    except Exception as exc:
        log_internal_error("integrations teardown", exc)


def get_client() -> Client | None:
    return _client


def is_initialized() -> bool:
    return _client is not None and _client.enabled


def capture_event(
    event: dict[str, Any], hint: Hint | None = None, *, attachments: list[Attachment] | None = None
) -> str | None:
    """Capture a ready-made event dict; ``attachments`` are sent with it."""
    global _last_event_id
    client = _client
    if client is None:
        return None
    try:
        if attachments:
            hint = {**(hint or {}), "attachments": as_attachments(attachments)}
        event_id = client.capture_event(event, hint)
    except Exception as exc:
        log_internal_error("capture_event", exc)
        return None
    if event_id is not None:
        _last_event_id = event_id
    return event_id


def capture_exception(
    error: BaseException | None = None,
    *,
    mechanism: dict[str, Any] | None = None,
    level: str = "error",
    attachments: list[Attachment] | None = None,
) -> str | None:
    """Capture ``error``, or the exception being handled; returns the event id.

    ``attachments`` (``sdk_core.Attachment``) are sent with this event only.
    """
    global _last_event_id
    client = _client
    if client is None:
        return None
    try:
        if error is None:
            error = sys.exc_info()[1]
            if error is None:
                return None
        if not isinstance(error, BaseException):
            return None
        event, hint = event_from_exception(error, client.frames, client.options.max_value_length, mechanism, level)
        if attachments:
            hint["attachments"] = as_attachments(attachments)
        event_id = client.capture_event(event, hint)
        if client.options.otel_record_exceptions:
            record_on_span(error)
    except Exception as exc:
        log_internal_error("capture_exception", exc)
        return None
    if event_id is not None:
        _last_event_id = event_id
    return event_id


def capture_message(
    message: str, level: str = "info", *, attachments: list[Attachment] | None = None
) -> str | None:
    """A message event; ``attachments`` (``sdk_core.Attachment``) are sent with it."""
    global _last_event_id
    client = _client
    if client is None:
        return None
    try:
        hint = {"attachments": as_attachments(attachments)} if attachments else None
        event_id = client.capture_event(event_from_message(message, level), hint)
    except Exception as exc:
        log_internal_error("capture_message", exc)
        return None
    if event_id is not None:
        _last_event_id = event_id
    return event_id


def add_breadcrumb(crumb: dict[str, Any] | None = None, hint: Hint | None = None, **fields: Any) -> None:
    """Record a breadcrumb (a dict, as sentry-sdk takes it, or keyword fields)."""
    client = _client
    if client is None:
        return
    try:
        data = make_breadcrumb(crumb, fields)
        if client.options.before_breadcrumb is None:
            get_isolation_scope().append_breadcrumb(data, client.options.max_breadcrumbs)
        else:
            client.add_breadcrumb(data, hint)
    except Exception as exc:
        log_internal_error("add_breadcrumb", exc)


def set_user(user: dict[str, Any] | None) -> None:
    try:
        get_isolation_scope().set_user(user)
    except Exception as exc:
        log_internal_error("set_user", exc)


def set_tag(key: str, value: Any) -> None:
    try:
        get_isolation_scope().set_tag(key, value)
    except Exception as exc:
        log_internal_error("set_tag", exc)


def set_tags(tags: dict[str, Any]) -> None:
    try:
        get_isolation_scope().set_tags(tags)
    except Exception as exc:
        log_internal_error("set_tags", exc)


def set_context(key: str, value: dict[str, Any] | None) -> None:
    try:
        get_isolation_scope().set_context(key, value)
    except Exception as exc:
        log_internal_error("set_context", exc)


def set_extra(key: str, value: Any) -> None:
    try:
        get_isolation_scope().set_extra(key, value)
    except Exception as exc:
        log_internal_error("set_extra", exc)


def set_level(level: str) -> None:
    try:
        get_isolation_scope().set_level(level)
    except Exception as exc:
        log_internal_error("set_level", exc)


def set_transaction_name(name: str) -> None:
    try:
        get_isolation_scope().set_transaction_name(name)
    except Exception as exc:
        log_internal_error("set_transaction_name", exc)


def last_event_id() -> str | None:
    return _last_event_id


def flush(timeout: float | None = None) -> bool:
    """Wait until queued events are delivered; False if the timeout ran out first."""
    client = _client
    if client is None:
        return True
    try:
        return client.flush(timeout)
    except Exception as exc:
        log_internal_error("flush", exc)
        return False


def close(timeout: float | None = None) -> None:
    """Deliver what is queued (within ``timeout``, default ``shutdown_timeout``) and stop."""
    global _client, _closed_client
    client, _client = _client, None
    _uninstall_integrations()
    if client is None:
        return
    _closed_client = client
    try:
        client.close(timeout)
    except Exception as exc:
        log_internal_error("close", exc)


shutdown = close


def stats() -> dict[str, Any]:
    """The SDK's own counters as a plain dict (captured, dropped by reason, redactions, sent) and
    the queue's size (``queue_events``, ``queue_bytes``); after ``close()``, the closed client's."""
    client = _client if _client is not None else _closed_client
    if client is None:
        return {}
    try:
        return client.stats_dict()
    except Exception as exc:
        log_internal_error("stats", exc)
        return {}
