"""A lazily started daemon thread that calls one function every ``interval`` seconds.

Log batches (every 5 s) and session aggregates (every 60 s) are flushed by it. It starts at the
first ``ensure_started`` (an application that never logs or serves a request starts no thread),
marks itself as the SDK's own work, and after a fork the child starts a fresh one on demand.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable

from ._internal_errors import log_internal_error
from ._sending import mark_sdk_thread, sdk_sending

_all: weakref.WeakSet[Periodic] = weakref.WeakSet()


class Periodic:
    """Calls ``action`` every ``interval`` seconds on its own daemon thread until ``stop``."""

    def __init__(self, name: str, interval: float, action: Callable[[], None]) -> None:
        self.name = name
        self.interval = interval
        self._action = action
        self._reset()
        _all.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        """Start the thread if it is not running (cheap when it is: one attribute read)."""
        if self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            with sdk_sending():  # the threading integration leaves the SDK's own thread alone
                thread.start()
            self._thread = thread

    def stop(self) -> None:
        """Stop the thread (it does not run ``action`` again); later ``ensure_started`` calls do nothing."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)

    def _run(self) -> None:
        mark_sdk_thread()
        while not self._stop.wait(self.interval):
            try:
                self._action()
            except Exception as exc:
                log_internal_error(self.name, exc)


def _after_fork_in_child() -> None:
    for periodic in list(_all):
        try:
            stopped = periodic._stop.is_set()
            periodic._reset()
            if stopped:
                periodic._stop.set()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
