"""``sdk_core.logger``: structured logs for code that does not use ``logging`` (``enable_logs=True``).

Shaped like sentry-sdk's ``sentry_sdk.logger``: a ``str.format`` template and keyword arguments,
each argument kept as ``sentry.message.parameter.<name>`` next to ``sentry.message.template``::

    from sdk_core import logger
    logger.info("order {order_id} paid in {ms} ms", order_id=order.id, ms=12, attributes={"shop": "eu"})

Without ``enable_logs=True`` (or before ``init``) every call returns at once.
"""

from __future__ import annotations

from typing import Any

from .logs import capture_log

__all__ = ["debug", "error", "fatal", "info", "trace", "warning"]


def trace(template: str, *args: Any, **kwargs: Any) -> None:
    """A ``trace`` log (below ``debug``; sent only when ``logs_level`` lets it through)."""
    capture_log(5, template, args, kwargs)


def debug(template: str, *args: Any, **kwargs: Any) -> None:
    """A ``debug`` log."""
    capture_log(10, template, args, kwargs)


def info(template: str, *args: Any, **kwargs: Any) -> None:
    """An ``info`` log."""
    capture_log(20, template, args, kwargs)


def warning(template: str, *args: Any, **kwargs: Any) -> None:
    """A ``warn`` log."""
    capture_log(30, template, args, kwargs)


def error(template: str, *args: Any, **kwargs: Any) -> None:
    """An ``error`` log (a log line only: use ``capture_exception`` for an error event)."""
    capture_log(40, template, args, kwargs)


def fatal(template: str, *args: Any, **kwargs: Any) -> None:
    """A ``fatal`` log."""
    capture_log(50, template, args, kwargs)
