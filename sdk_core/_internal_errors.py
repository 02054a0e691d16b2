"""The SDK's own failures: logged to the ``sdk_core`` logger, never raised into the host."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from typing import Any, Callable, TypeVar

logger = logging.getLogger("sdk_core")

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_KEY_IN_URL = re.compile(r"(?i)(?<=://)[^@/\s:]+(?::[^@/\s]*)?@")
_KEY_IN_AUTH = re.compile(r"(?i)(sentry_key=)[0-9a-z]+")


def redact_secrets(text: str) -> str:
    """Remove DSN keys (URL userinfo, ``sentry_key=``) from text bound for a log or an error."""
    return _KEY_IN_AUTH.sub(r"\1[key]", _KEY_IN_URL.sub("[key]@", text))


class _RedactingFilter(logging.Filter):
    """Keeps the DSN key out of every record the SDK logs, whoever formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logger.addFilter(_RedactingFilter())

_last_logged: dict[str, float] = {}
_last_lock = threading.Lock()
_LOG_EVERY = 60.0


def log_internal_error(where: str, exc: BaseException | None = None) -> None:
    """Log an internal failure, at most once a minute per place, so a storm cannot flood the host's logs."""
    now = time.monotonic()
    with _last_lock:
        last = _last_logged.get(where)
        if last is not None and now - last < _LOG_EVERY:
            return
        _last_logged[where] = now
    try:
        if exc is not None:
            logger.error("internal error in %s: %s: %s", where, type(exc).__name__, redact_secrets(str(exc)))
        else:
            logger.error("internal error in %s", where)
    except Exception:
        pass


def guarded(where: str | None = None, *, default: Any = None) -> Callable[[F], F]:
    """Decorate a hook or public function so no SDK error reaches the caller; it returns ``default`` instead.

    The failure is logged (rate-limited) as an internal error in ``where`` (default: the function's name).
    """

    def decorate(fn: F) -> F:
        place = where or fn.__qualname__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                log_internal_error(place, exc)
                return default

        return wrapper  # type: ignore[return-value]

    return decorate
