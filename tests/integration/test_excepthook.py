"""Excepthook integration: uncaught main-thread exceptions, in-process and in a real interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import pytest

import sdk_core
from integrations.excepthook import ExcepthookIntegration
from tests.support.loopback import LoopbackServer
from tests.support.sdk import init_with as _init

REPO = Path(__file__).resolve().parents[2]

Call = tuple[type[BaseException], BaseException, Optional[TracebackType]]


def _raised(exc: BaseException) -> Call:
    try:
        raise exc
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        self.calls.append((exc_type, exc, tb))


@pytest.fixture
def previous_hook(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """A hook installed before the SDK, standing in for the interpreter's default one."""
    recorder = _Recorder()
    monkeypatch.setattr(sys, "excepthook", recorder)
    return recorder


class TestExcepthookIntegration:
    def test_uncaught_exception_is_fatal_and_unhandled(self, previous_hook: _Recorder) -> None:
        """The hook captures with mechanism excepthook, handled False, level fatal, then chains."""
        transport = _init(ExcepthookIntegration())
        call = _raised(RuntimeError("top level"))
        sys.excepthook(*call)
        (event,) = transport.events  # already flushed by the hook
        (value,) = event["exception"]["values"]
        assert value["type"] == "RuntimeError"
        assert (value["mechanism"]["type"], value["mechanism"]["handled"]) == ("excepthook", False)
        assert event["level"] == "fatal"
        assert previous_hook.calls == [call]

    def test_keyboard_interrupt_is_not_reported(self, previous_hook: _Recorder) -> None:
        """Ctrl-C is not an error: nothing is sent, and the previous hook still runs."""
        transport = _init(ExcepthookIntegration())
        call = _raised(KeyboardInterrupt())
        sys.excepthook(*call)
        assert sdk_core.flush(5.0)
        assert transport.events == []
        assert previous_hook.calls == [call]

    def test_interactive_session_is_skipped_unless_always_run(
        self, previous_hook: _Recorder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """In a REPL (``sys.ps1`` set) errors are the user's typos, unless ``always_run=True``."""
        monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
        transport = _init(ExcepthookIntegration())
        sys.excepthook(*_raised(NameError("x")))
        assert sdk_core.flush(5.0)
        assert transport.events == []
        sdk_core.close(1.0)
        transport = _init(ExcepthookIntegration(always_run=True))
        sys.excepthook(*_raised(NameError("y")))
        assert len(transport.events) == 1

    def test_odd_arguments_are_passed_on_untouched(self, previous_hook: _Recorder) -> None:
        """A call without a traceback is still reported; a non-exception value is only passed on."""
        transport = _init(ExcepthookIntegration())
        sys.excepthook(RuntimeError, RuntimeError("no traceback"), None)
        sys.excepthook(RuntimeError, "not an exception", None)  # type: ignore[arg-type]
        assert [e["exception"]["values"][0]["value"] for e in transport.events] == ["no traceback"]
        assert len(previous_hook.calls) == 2

    def test_uninstall_restores_sys_excepthook(self, previous_hook: _Recorder) -> None:
        """Closing the SDK puts the previous ``sys.excepthook`` back."""
        _init(ExcepthookIntegration())
        assert sys.excepthook is not previous_hook
        sdk_core.close(1.0)
        assert sys.excepthook is previous_hook

    def test_hook_chained_after_ours_is_kept_and_ours_goes_quiet(self, previous_hook: _Recorder) -> None:
        """If someone wrapped our hook, uninstall leaves theirs; ours then only passes calls on."""
        transport = _init(ExcepthookIntegration())
        ours = sys.excepthook
        outer = _Recorder()

        def theirs(*args: Any) -> None:
            outer(*args)
            ours(*args)

        sys.excepthook = theirs
        sdk_core.close(1.0)
        assert sys.excepthook is theirs
        later = _init()
        call = _raised(ValueError("after uninstall"))
        sys.excepthook(*call)
        assert sdk_core.flush(5.0)
        assert transport.events == [] and later.events == []
        assert outer.calls == [call] and previous_hook.calls == [call]

    def test_setup_once_twice_sends_one_event(self, previous_hook: _Recorder) -> None:
        """A second ``setup_once`` does not chain our hook onto itself."""
        integration = ExcepthookIntegration()
        transport = _init(integration)
        integration.setup_once()
        sys.excepthook(*_raised(RuntimeError("once")))
        assert len(transport.events) == 1
        assert len(previous_hook.calls) == 1


_SCRIPT = """
import os, sys
import sdk_core
from integrations.excepthook import ExcepthookIntegration

if os.environ.get("EXIT_FROM_PREVIOUS_HOOK"):
    def hard_exit(exc_type, exc, tb):
        sys.__excepthook__(exc_type, exc, tb)
        sys.stderr.flush()
        os._exit(3)  # skips atexit: only the hook's own flush can have delivered the event
    sys.excepthook = hard_exit

sdk_core.init(
    os.environ["TEST_DSN"],
    default_integrations=False,
    integrations=[ExcepthookIntegration()],
    shutdown_timeout=5.0,
)

def main():
    raise RuntimeError("crashed at top level")

main()
"""


def _run_script(tmp_path: Path, dsn: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    child_env["TEST_DSN"] = dsn
    child_env.update(env)
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=30
    )


class TestExcepthookInARealInterpreter:
    def test_top_level_crash_is_delivered_and_exit_is_unchanged(self, tmp_path: Path) -> None:
        """A script raising at top level sends the event, prints the traceback and exits 1."""
        with LoopbackServer() as server:
            result = _run_script(tmp_path, server.dsn())
            assert server.wait_for(lambda: len(server.events) == 1)
            (event,) = server.events
        assert result.returncode == 1
        assert "Traceback (most recent call last)" in result.stderr
        assert "RuntimeError: crashed at top level" in result.stderr
        (value,) = event["exception"]["values"]
        assert value["type"] == "RuntimeError"
        assert (value["mechanism"]["type"], value["mechanism"]["handled"]) == ("excepthook", False)
        assert event["level"] == "fatal"
        assert value["stacktrace"]["frames"][-1]["function"] == "main"

    def test_event_is_flushed_inside_the_hook(self, tmp_path: Path) -> None:
        """Even when the previous hook ends the process with ``os._exit`` (no atexit), the event arrived."""
        with LoopbackServer() as server:
            result = _run_script(tmp_path, server.dsn(), EXIT_FROM_PREVIOUS_HOOK="1")
            received = len(server.events)
        assert result.returncode == 3
        assert "RuntimeError: crashed at top level" in result.stderr
        assert received == 1
