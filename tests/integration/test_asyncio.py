"""asyncio integration: real event loops, their exception handler and task factory."""

from __future__ import annotations

import asyncio
import asyncio.events
import contextvars
import gc
import logging
import sys
from typing import Any, Optional

import pytest

import sdk_core
from integrations.asyncio import AsyncioIntegration, instrument_loop
from sdk_core.transport.memory import InMemoryTransport
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with as _init


def _policy_new_event_loop() -> Any:
    events: Any = asyncio.events
    policy = getattr(events, "_BaseDefaultEventLoopPolicy", None) or events.BaseDefaultEventLoopPolicy
    return policy.__dict__["new_event_loop"]


async def _fail(message: str) -> None:
    raise ValueError(message)


async def _leave_unretrieved(message: str) -> None:
    """Run a failing task to completion and drop it without anyone asking for its result."""
    task = asyncio.get_running_loop().create_task(_fail(message))
    await asyncio.wait([task])
    del task
    gc.collect()


class TestExceptionHandler:
    def test_exception_nobody_retrieved_is_captured(self, caplog: pytest.LogCaptureFixture) -> None:
        """A task that failed and was never awaited is an unhandled ``asyncio`` event; asyncio still logs it."""
        transport = _init(AsyncioIntegration())
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            asyncio.run(_leave_unretrieved("nobody awaited me"))
        (event,) = _events(transport)
        (value,) = event["exception"]["values"]
        assert (value["type"], value["value"]) == ("ValueError", "nobody awaited me")
        assert (value["mechanism"]["type"], value["mechanism"]["handled"]) == ("asyncio", False)
        assert value["mechanism"]["data"] == {"message": "Task exception was never retrieved"}
        assert any("never retrieved" in r.getMessage() for r in caplog.records)

    def test_awaited_exceptions_are_left_to_the_awaiting_code(self) -> None:
        """An exception some code awaits and handles is not reported."""
        transport = _init(AsyncioIntegration())

        async def main() -> str:
            try:
                await asyncio.get_running_loop().create_task(_fail("handled"))
            except ValueError as exc:
                return str(exc)
            return "not raised"

        assert asyncio.run(main()) == "handled"
        gc.collect()
        assert _events(transport) == []

    def test_init_inside_a_running_loop_instruments_that_loop(self) -> None:
        """Initialising from inside a running loop installs the handler on it at once."""

        async def main() -> InMemoryTransport:
            transport = _init(AsyncioIntegration())
            loop = asyncio.get_running_loop()
            assert loop.get_exception_handler() is not None
            loop.call_exception_handler({"message": "callback failed", "exception": KeyError("k")})
            return transport

        (event,) = _events(asyncio.run(main()))
        assert event["exception"]["values"][0]["type"] == "KeyError"

    def test_previous_handler_is_chained_and_restored(self) -> None:
        """The handler set before ``init`` still runs after ours, and is back after ``close``."""
        seen: list[str] = []

        def previous(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            seen.append(context["message"])

        async def main() -> InMemoryTransport:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(previous)
            transport = _init(AsyncioIntegration())
            assert loop.get_exception_handler() is not previous
            loop.call_exception_handler({"message": "one", "exception": RuntimeError("x")})
            loop.call_exception_handler({"message": "no exception in this one"})
            sdk_core.close(1.0)
            assert loop.get_exception_handler() is previous
            return transport

        transport = asyncio.run(main())
        assert seen == ["one", "no exception in this one"]
        assert len(transport.events) == 1

    def test_setup_once_twice_sends_one_event(self) -> None:
        """A second ``setup_once`` does not chain the handler onto itself."""
        integration = AsyncioIntegration()

        async def main() -> InMemoryTransport:
            transport = _init(integration)
            integration.setup_once()
            asyncio.get_running_loop().call_exception_handler({"message": "m", "exception": RuntimeError("x")})
            return transport

        assert len(_events(asyncio.run(main()))) == 1


class TestTaskFactory:
    def test_scope_set_before_create_task_follows_the_task(self) -> None:
        """The task sees the creator's scope; what the task sets stays in the task."""
        transport = _init(AsyncioIntegration())

        async def child() -> None:
            sdk_core.set_tag("step", "child")
            sdk_core.capture_message("from the task")

        async def main() -> None:
            with sdk_core.isolation_scope() as scope:
                scope.set_tag("request_id", "r-1")
                await asyncio.get_running_loop().create_task(child())
                sdk_core.capture_message("from the creator")

        asyncio.run(main())
        by_message = {e["logentry"]["message"]: e.get("tags") or {} for e in _events(transport)}
        assert by_message == {
            "from the task": {"request_id": "r-1", "step": "child"},
            "from the creator": {"request_id": "r-1"},
        }

    def test_crash_in_one_task_does_not_leak_scope_into_another(self) -> None:
        """Sibling tasks each have their own scope: one failing task's tags are not on the other's event."""
        transport = _init(AsyncioIntegration())

        async def crashing(done: asyncio.Event) -> None:
            sdk_core.set_tag("user_id", "u-1")
            done.set()
            raise RuntimeError("first task crashed")

        async def sibling(done: asyncio.Event) -> None:
            await done.wait()
            sdk_core.capture_message("sibling")

        async def main() -> list[Any]:
            done = asyncio.Event()
            return list(await asyncio.gather(crashing(done), sibling(done), return_exceptions=True))

        results = asyncio.run(main())
        assert isinstance(results[0], RuntimeError) and results[1] is None
        (event,) = _events(transport)
        assert "user_id" not in (event.get("tags") or {})

    def test_previous_factory_is_chained_and_restored(self) -> None:
        """A task factory set before ``init`` still creates the tasks, and is back after ``close``."""
        made: list[str] = []

        def previous(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
            made.append(coro.__qualname__)
            return asyncio.Task(coro, loop=loop, **kwargs)

        async def child() -> int:
            return 42

        async def main() -> int:
            loop = asyncio.get_running_loop()
            loop.set_task_factory(previous)
            _init(AsyncioIntegration())
            assert loop.get_task_factory() is not previous
            result = await loop.create_task(child(), name="answer")
            sdk_core.close(1.0)
            assert loop.get_task_factory() is previous
            return result

        assert asyncio.run(main()) == 42
        assert made[0] == child.__qualname__  # then asyncio.run's own shutdown tasks

    @pytest.mark.skipif(sys.version_info < (3, 11), reason="create_task(context=) is Python 3.11+")
    def test_explicit_context_is_kept(self) -> None:
        """``create_task(coro, context=ctx)`` runs the task in exactly that context."""
        _init(AsyncioIntegration())
        marker: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("marker", default=None)

        async def child() -> None:
            marker.set("set by the task")

        async def main() -> Optional[str]:
            ctx = contextvars.copy_context()
            await asyncio.get_running_loop().create_task(child(), context=ctx)  # type: ignore[call-arg]
            return ctx[marker]

        assert asyncio.run(main()) == "set by the task"


class TestLoopsAndUninstall:
    def test_uninstall_restores_loop_and_policy(self) -> None:
        """After ``close`` a loop made while installed has its old handler and factory; new loops are plain."""
        original = _policy_new_event_loop()
        _init(AsyncioIntegration())
        assert _policy_new_event_loop() is not original
        loop = asyncio.new_event_loop()
        try:
            assert loop.get_exception_handler() is not None
            assert loop.get_task_factory() is not None
            sdk_core.close(1.0)
            assert loop.get_exception_handler() is None
            assert loop.get_task_factory() is None
        finally:
            loop.close()
        assert _policy_new_event_loop() is original
        fresh = asyncio.new_event_loop()
        try:
            assert fresh.get_exception_handler() is None and fresh.get_task_factory() is None
        finally:
            fresh.close()

    def test_loop_built_directly_can_be_instrumented(self) -> None:
        """A loop made without the policy is instrumented by ``instrument_loop``; twice is once."""
        transport = _init(AsyncioIntegration())
        loop = asyncio.SelectorEventLoop()
        try:
            assert loop.get_exception_handler() is None
            instrument_loop(loop)
            handler = loop.get_exception_handler()
            instrument_loop(loop)
            assert loop.get_exception_handler() is handler
            loop.run_until_complete(_leave_unretrieved("direct loop"))
        finally:
            loop.close()
        (event,) = _events(transport)
        assert event["exception"]["values"][0]["value"] == "direct loop"
