"""asyncio (opt-in): the loop's exception handler, and one isolation scope per task.

Per event loop this installs:

- an exception handler that captures ``context["exception"]`` (mechanism ``asyncio``,
  unhandled) and then calls the handler it replaced, or the loop's default one, so asyncio's own
  log line is unchanged. This is where "Task exception was never retrieved" arrives: exceptions
  of tasks nobody awaited, reported when the task is destroyed. Exceptions that some code awaits
  are that code's business and are not reported here. On Python 3.12+ the capture runs in the
  failed task's own context, so the event carries the task's scope data.
- a task factory that creates each task inside a fork of the creating code's isolation scope:
  scope data set before ``create_task`` follows the task, what the task sets stays in the task.
  It chains to the factory it replaced (``eager_task_factory``, the application's own). A task
  created with an explicit ``context=`` keeps exactly that context.

Which loops: ``setup_once`` may run before any loop exists, so every loop made through the event
loop policy afterwards is instrumented (the policy's ``new_event_loop`` is wrapped: this covers
``asyncio.run``, ``asyncio.new_event_loop``, ``asyncio.Runner`` without a ``loop_factory`` and
``uvloop.EventLoopPolicy``), and so is the loop running in the calling thread if ``init`` is
called inside one. Loops built some other way (a loop class called directly,
``Runner(loop_factory=...)``, ``uvloop.run()``) can be passed to ``instrument_loop``.

Uninstall puts back the previous handler and factory on every instrumented loop that still has
ours (a loop whose owner has since set its own keeps that).
"""

from __future__ import annotations

import asyncio
import asyncio.events
import weakref
from typing import Any, Callable

import sdk_core
from sdk_core.integration import is_enabled, log_internal_error

from . import _patch

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]
Factory = Callable[..., "asyncio.Future[Any]"]

_active = False
# loop -> (previous handler, previous factory, our handler, our factory)
_instrumented: weakref.WeakKeyDictionary[Any, tuple[Handler | None, Factory | None, Handler, Factory]] = (
    weakref.WeakKeyDictionary()
)
_unweakable: dict[Any, tuple[Handler | None, Factory | None, Handler, Factory]] = {}


def _entry(loop: Any) -> Any:
    try:
        found = _instrumented.get(loop)
    except TypeError:
        found = None
    return found if found is not None else _unweakable.get(loop)


def _policy_class() -> Any:
    events: Any = asyncio.events
    return getattr(events, "_BaseDefaultEventLoopPolicy", None) or events.BaseDefaultEventLoopPolicy


class AsyncioIntegration:
    """Opt-in: reports exceptions of tasks nobody awaited (loop exception handler) and gives each task its own scope."""
    identifier = "asyncio"

    def setup_once(self) -> None:
        """Instrument the running loop and every loop created later (new_event_loop)."""
        global _active
        _active = True
        _patch.wrap(_policy_class(), "new_event_loop", _new_event_loop)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        instrument_loop(loop)

    def uninstall(self) -> None:
        """Restore each instrumented loop's exception handler and task factory."""
        global _active
        _active = False
        _patch.unwrap(_policy_class(), "new_event_loop")
        entries = [*_instrumented.items(), *_unweakable.items()]
        _instrumented.clear()
        _unweakable.clear()
        for loop, (previous_handler, previous_factory, handler, factory) in entries:
            try:
                if loop.get_exception_handler() is handler:
                    loop.set_exception_handler(previous_handler)
                if loop.get_task_factory() is factory:
                    loop.set_task_factory(previous_factory)
            except Exception as error:
                log_internal_error("asyncio uninstall", error)


def instrument_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Install the exception handler and task factory on ``loop``; idempotent, a no-op when off."""
    if not _active or _entry(loop) is not None:
        return
    previous_handler: Handler | None = loop.get_exception_handler()
    previous_factory: Factory | None = loop.get_task_factory()
    handler = _make_handler(previous_handler)
    factory = _make_factory(previous_factory)
    entry = (previous_handler, previous_factory, handler, factory)
    try:
        _instrumented[loop] = entry
    except TypeError:  # a loop type without weak references: remembered until uninstall
        _unweakable[loop] = entry
    loop.set_exception_handler(handler)
    loop.set_task_factory(factory)


def _new_event_loop(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    loop = wrapped(*args, **kwargs)
    try:
        instrument_loop(loop)
    except Exception as error:
        log_internal_error("asyncio new_event_loop", error)
    return loop


def _make_handler(previous: Handler | None) -> Handler:
    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        try:
            if _active:
                _report(context)
        except Exception as error:
            log_internal_error("asyncio exception handler", error)
        finally:
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

    return handler


def _report(context: dict[str, Any]) -> None:
    exc = context.get("exception")
    if not isinstance(exc, BaseException) or not is_enabled():
        return
    mechanism: dict[str, Any] = {"type": "asyncio", "handled": False}
    message = context.get("message")
    if isinstance(message, str):
        mechanism["data"] = {"message": message}

    def capture() -> None:
        sdk_core.capture_exception(exc, mechanism=mechanism)

    task = context.get("task") or context.get("future")
    get_context = getattr(task, "get_context", None)  # Python 3.12+
    task_context = get_context() if callable(get_context) else None
    if task_context is not None:
        try:
            task_context.run(capture)
            return
        except RuntimeError:  # that context is the one running now: capture right here
            pass
    capture()


def _make_factory(previous: Factory | None) -> Factory:
    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if not _active or kwargs.get("context") is not None:
            return _create(previous, loop, coro, kwargs)
        # The task copies the context current at its creation: the fork made here.
        with sdk_core.isolation_scope():
            return _create(previous, loop, coro, kwargs)

    return factory


def _create(
    previous: Factory | None, loop: asyncio.AbstractEventLoop, coro: Any, kwargs: dict[str, Any]
) -> asyncio.Future[Any]:
    if previous is not None:
        return previous(loop, coro, **kwargs)
    return asyncio.Task(coro, loop=loop, **kwargs)


__all__ = ["AsyncioIntegration", "instrument_loop"]
