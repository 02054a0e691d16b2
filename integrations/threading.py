"""Uncaught exceptions in threads (``threading.excepthook``, chained), and optional scope propagation.

With ``propagate_scope=True``, ``Thread.start`` is wrapped: the new thread runs in a copy of the
starting thread's contextvars context, inside an isolation scope forked from the starter's. Tags,
user and trace set before ``start()`` follow the thread; what the thread sets stays in the thread.
Its uncaught exception is then captured inside that scope, before ``threading.excepthook`` runs
(which Python calls outside the thread's ``run``), and the hook does not capture it a second time.

``SystemExit`` in a thread is not an error (Python ignores it too) and is never reported.
"""

from __future__ import annotations

import contextvars
import threading
import types
from typing import Any, Callable

import sdk_core
from sdk_core.integration import is_sdk_sending, log_internal_error

from . import _patch

ThreadHook = Callable[[Any], object]


class _Captured(threading.local):
    exc: BaseException | None = None


_captured = _Captured()
_propagating = False


class ThreadingIntegration:
    """Reports exceptions that end a thread, and (propagate_scope) gives threads their starter's scope."""
    identifier = "threading"

    def __init__(self, propagate_scope: bool = False) -> None:
        if not isinstance(propagate_scope, bool):
            raise TypeError(f"propagate_scope: expected True or False, got {type(propagate_scope).__name__}")
        self.propagate_scope = propagate_scope
        self._hook: ThreadHook | None = None
        self._previous: ThreadHook | None = None

    def setup_once(self) -> None:
        """Chain threading.excepthook and, with propagate_scope, wrap Thread.start."""
        global _propagating
        if self._hook is None:
            previous = threading.excepthook

            def hook(args: Any) -> None:
                try:
                    if self._hook is hook:
                        _from_excepthook(args)
                except Exception as error:
                    log_internal_error("threading.excepthook", error)
                finally:
                    previous(args)

            self._previous = previous
            self._hook = hook
            threading.excepthook = hook
        if self.propagate_scope:
            _propagating = True
            _patch.wrap(threading.Thread, "start", _start)

    def uninstall(self) -> None:
        """Restore threading.excepthook and Thread.start."""
        global _propagating
        hook, self._hook = self._hook, None
        if hook is not None and threading.excepthook is hook and self._previous is not None:
            threading.excepthook = self._previous
        # Otherwise someone chained onto our hook after us: it stays in their chain as a pass-through.
        self._previous = None
        if self.propagate_scope:
            _propagating = False
            _patch.unwrap(threading.Thread, "start")


def _from_excepthook(args: Any) -> None:
    exc = args.exc_value
    if _captured.exc is not None and _captured.exc is exc:
        _captured.exc = None
        return
    if isinstance(exc, BaseException) and not isinstance(exc, SystemExit):
        if exc.__traceback__ is None and args.exc_traceback is not None:
            exc = exc.with_traceback(args.exc_traceback)
        _capture(exc, args.thread)


def _capture(exc: BaseException, thread: threading.Thread | None) -> None:
    mechanism: dict[str, Any] = {"type": "threading", "handled": False}
    if thread is not None:
        mechanism["data"] = {"thread_name": thread.name}
    sdk_core.capture_exception(exc, mechanism=mechanism)


def _start(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if (
        _propagating
        and isinstance(instance, threading.Thread)
        and not is_sdk_sending()  # the SDK's own worker needs no scope of ours
        and not getattr(instance, "_coderadar_scoped", False)
    ):
        try:
            # Instance attributes shadow the class's run (as subclasses' overrides are shadowed).
            # A bound method, like the ``run`` it replaces: other libraries that wrap ``run`` in
            # their own ``Thread.start`` patch (sentry-sdk's ThreadingIntegration) unwrap
            # ``__func__`` and call it with the thread, which must work whichever patch runs first.
            scoped = _ScopedRun(contextvars.copy_context(), instance.run)
            setattr(instance, "run", types.MethodType(scoped, instance))  # noqa: B010
            setattr(instance, "_coderadar_scoped", True)  # noqa: B010
        except Exception as error:
            log_internal_error("Thread.start", error)
    return wrapped(*args, **kwargs)


class _ScopedRun:
    """The thread's ``run`` inside a copy of the starter's context and a fork of its isolation scope."""

    __slots__ = ("_ctx", "_run")

    def __init__(self, ctx: contextvars.Context, run: Callable[..., None]) -> None:
        self._ctx = ctx
        self._run = run

    def __call__(self, thread: threading.Thread, *args: Any, **kwargs: Any) -> None:
        try:
            self._ctx.run(self._in_scope, thread, args, kwargs)
        finally:
            # The thread no longer needs the bound method (it refers to the thread: a cycle).
            if getattr(thread.__dict__.get("run"), "__func__", None) is self:
                del thread.__dict__["run"]
            self._run = _done

    def _in_scope(self, thread: threading.Thread, args: Any, kwargs: Any) -> None:
        # Forked here, in the new thread: the starter may already be writing to its own scope,
        # and a fork only shares containers until the first write on either side.
        with sdk_core.isolation_scope():
            try:
                self._run(*args, **kwargs)
            except SystemExit:
                raise
            except BaseException as exc:
                try:
                    _capture(exc, thread)
                    _captured.exc = exc
                except Exception as error:
                    log_internal_error("thread run", error)
                raise


def _done(*args: Any, **kwargs: Any) -> None:
    return None


__all__ = ["ThreadingIntegration"]
