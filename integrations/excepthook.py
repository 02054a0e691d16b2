"""Uncaught exceptions of the main thread: ``sys.excepthook``, chained, then a bounded flush.

The hook captures (mechanism ``excepthook``, unhandled, level ``fatal``), waits at most
``shutdown_timeout`` for the queue to drain, and then always calls the hook it replaced, so the
usual traceback and exit status are unchanged. Flushing here, not only at ``atexit``, matters
when the previous hook ends the process itself (``os._exit``) or another atexit handler hangs.

``KeyboardInterrupt`` is not reported (someone pressed Ctrl-C), nor is anything raised in an
interactive session (``sys.ps1`` is set) unless ``always_run=True``.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Callable

import sdk_core
from sdk_core.integration import flush_before_exit, is_enabled, log_internal_error

ExceptHook = Callable[[type[BaseException], BaseException, "TracebackType | None"], object]


class ExcepthookIntegration:
    """Reports uncaught exceptions through sys.excepthook and flushes before the interpreter exits."""
    identifier = "excepthook"

    def __init__(self, always_run: bool = False) -> None:
        if not isinstance(always_run, bool):
            raise TypeError(f"always_run: expected True or False, got {type(always_run).__name__}")
        self.always_run = always_run
        self._hook: ExceptHook | None = None
        self._previous: ExceptHook | None = None

    def setup_once(self) -> None:
        """Chain our hook in front of the current sys.excepthook."""
        if self._hook is not None:
            return
        previous = sys.excepthook

        def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            try:
                if self._hook is hook and self._should_report(exc_type, exc):
                    _report(exc, tb)
            except Exception as error:
                log_internal_error("excepthook", error)
            finally:
                previous(exc_type, exc, tb)

        self._previous = previous
        self._hook = hook
        sys.excepthook = hook

    def uninstall(self) -> None:
        """Put the previous hook back, unless another library chained onto ours since."""
        hook, self._hook = self._hook, None
        if hook is not None and sys.excepthook is hook and self._previous is not None:
            sys.excepthook = self._previous
        # Otherwise someone chained onto our hook after us: it stays in their chain as a pass-through.
        self._previous = None

    def _should_report(self, exc_type: type[BaseException], exc: object) -> bool:
        if not isinstance(exc, BaseException) or issubclass(exc_type, KeyboardInterrupt):
            return False
        return self.always_run or not hasattr(sys, "ps1")


def _report(exc: BaseException, tb: TracebackType | None) -> None:
    if not is_enabled():
        return
    if exc.__traceback__ is None and tb is not None:
        exc = exc.with_traceback(tb)
    sdk_core.capture_exception(exc, mechanism={"type": "excepthook", "handled": False}, level="fatal")
    flush_before_exit()


__all__ = ["ExcepthookIntegration"]
