"""Threading integration: real threads, the real ``threading.excepthook`` chain, scope propagation."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

import sdk_core
from integrations.threading import ThreadingIntegration
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with as _init


def _run_thread(target: Callable[[], Any], name: str = "job") -> threading.Thread:
    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    return thread


class _Recorder:
    """Stands in for the interpreter's hook (and keeps pytest's unhandled-thread warning out)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, args: Any) -> None:
        self.calls.append((args.exc_type, args.exc_value, args.thread))


@pytest.fixture
def previous_hook(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(threading, "excepthook", recorder)
    return recorder


def _boom() -> None:
    raise ValueError("thread failed")


class TestThreadingExcepthook:
    def test_uncaught_exception_in_a_thread_is_captured_and_chained(self, previous_hook: _Recorder) -> None:
        """The exception is an unhandled ``threading`` event naming the thread; the previous hook still runs."""
        transport = _init(ThreadingIntegration())
        thread = _run_thread(_boom, name="importer")
        (event,) = _events(transport)
        (value,) = event["exception"]["values"]
        assert value["type"] == "ValueError"
        mechanism = value["mechanism"]
        assert (mechanism["type"], mechanism["handled"]) == ("threading", False)
        assert mechanism["data"] == {"thread_name": "importer"}
        ((exc_type, exc, seen_thread),) = previous_hook.calls
        assert exc_type is ValueError and str(exc) == "thread failed" and seen_thread is thread

    def test_system_exit_in_a_thread_is_not_an_error(self, previous_hook: _Recorder) -> None:
        """``SystemExit`` ends a thread quietly in Python; it is not reported either."""
        transport = _init(ThreadingIntegration())

        def leave() -> None:
            raise SystemExit(0)

        _run_thread(leave)
        assert _events(transport) == []
        assert len(previous_hook.calls) == 1

    def test_uninstall_restores_threading_excepthook(self, previous_hook: _Recorder) -> None:
        """Closing the SDK puts the previous ``threading.excepthook`` back."""
        _init(ThreadingIntegration())
        assert threading.excepthook is not previous_hook
        sdk_core.close(1.0)
        assert threading.excepthook is previous_hook

    def test_setup_once_twice_sends_one_event(self, previous_hook: _Recorder) -> None:
        """A second ``setup_once`` does not chain our hook onto itself."""
        integration = ThreadingIntegration()
        transport = _init(integration)
        integration.setup_once()
        _run_thread(_boom)
        assert len(_events(transport)) == 1
        assert len(previous_hook.calls) == 1


class TestScopePropagation:
    def test_scope_set_before_start_follows_the_thread(self, previous_hook: _Recorder) -> None:
        """With ``propagate_scope=True`` the thread sees the starter's scope (tags, trace)."""
        transport = _init(ThreadingIntegration(propagate_scope=True))
        with sdk_core.isolation_scope() as scope:
            scope.set_tag("request_id", "r-1")
            scope.set_propagation_context(trace_id="a" * 32)
            _run_thread(lambda: sdk_core.capture_message("from the thread"))
        (event,) = _events(transport)
        assert event["tags"]["request_id"] == "r-1"
        assert event["contexts"]["trace"]["trace_id"] == "a" * 32

    def test_what_the_thread_sets_stays_in_the_thread(self, previous_hook: _Recorder) -> None:
        """Tags the thread sets do not leak into the starter's scope."""
        transport = _init(ThreadingIntegration(propagate_scope=True))
        with sdk_core.isolation_scope() as scope:
            scope.set_tag("request_id", "r-2")
            _run_thread(lambda: sdk_core.set_tag("worker_only", "yes"))
            sdk_core.capture_message("starter")
        (event,) = _events(transport)
        assert event["tags"] == {"request_id": "r-2"}

    def test_crash_is_captured_once_inside_the_thread_scope(self, previous_hook: _Recorder) -> None:
        """A crashing propagated thread's event has the thread's scope data and is sent once."""
        transport = _init(ThreadingIntegration(propagate_scope=True))

        def crash() -> None:
            sdk_core.set_tag("step", "parse")
            raise KeyError("column")

        with sdk_core.isolation_scope() as scope:
            scope.set_tag("request_id", "r-3")
            _run_thread(crash, name="parser")
        (event,) = _events(transport)
        assert event["tags"] == {"request_id": "r-3", "step": "parse"}
        assert event["exception"]["values"][0]["mechanism"]["data"] == {"thread_name": "parser"}
        assert len(previous_hook.calls) == 1

    def test_thread_behaviour_is_unchanged(self, previous_hook: _Recorder) -> None:
        """Targets, arguments and ``run`` overrides work exactly as without the SDK."""
        _init(ThreadingIntegration(propagate_scope=True))
        results: list[int] = []

        class Squarer(threading.Thread):
            def __init__(self, n: int) -> None:
                super().__init__()
                self.n = n

            def run(self) -> None:
                results.append(self.n * self.n)

        worker = Squarer(7)
        worker.start()
        worker.join(5)
        plain = threading.Thread(target=results.append, args=(3,))
        plain.start()
        plain.join(5)
        assert results == [49, 3]
        with pytest.raises(RuntimeError, match="once"):
            plain.start()

    def test_without_propagation_threads_do_not_see_the_starter_scope(self, previous_hook: _Recorder) -> None:
        """By default a thread starts from the process-wide scope, not the starter's isolation scope."""
        transport = _init(ThreadingIntegration())
        with sdk_core.isolation_scope() as scope:
            scope.set_tag("request_id", "r-4")
            _run_thread(lambda: sdk_core.capture_message("from the thread"))
        (event,) = _events(transport)
        assert "request_id" not in (event.get("tags") or {})

    def test_uninstall_restores_thread_start(self, previous_hook: _Recorder) -> None:
        """Closing the SDK puts ``Thread.start`` back."""
        original = threading.Thread.__dict__["start"]
        _init(ThreadingIntegration(propagate_scope=True))
        assert threading.Thread.__dict__["start"] is not original
        sdk_core.close(1.0)
        assert threading.Thread.__dict__["start"] is original
