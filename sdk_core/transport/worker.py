"""One background thread: drains a bounded queue in batches; flush/close honour deadlines; fork-safe."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Deque, Generic, TypeVar

from .. import _internal_errors
from .._internal_errors import log_internal_error
from .._sending import mark_sdk_thread, sdk_sending

T = TypeVar("T")

_workers: weakref.WeakSet[Worker[Any]] = weakref.WeakSet()


WORKER_THREAD_NAME = "sdk_core.worker"


class _FlushMarker:
    __slots__ = ("deadline", "done", "ok")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.done = threading.Event()
        self.ok = False


class Worker(Generic[T]):
    """``submit`` never blocks: a full queue refuses the newest item and the caller counts it.

    The queue is bounded by item count (``max_size``) and by the sum of the sizes the callers
    declare (``max_bytes``, 0 for no byte bound).

    ``process`` receives each batch as a deque and consumes it from the left, so that whatever it
    has not reached yet can still be taken back by ``take_pending`` (at close, to spool it).
    ``on_idle`` (optional) is called after work and whenever the delay it last returned has passed;
    it returns the seconds until it wants to run again, or None.
    """

    def __init__(
        self,
        process: Callable[[Deque[T]], None],
        on_flush: Callable[[float], bool],
        *,
        max_size: int,
        batch_size: int,
        linger: float,
        max_bytes: int = 0,
        name: str = WORKER_THREAD_NAME,
        on_idle: Callable[[], float | None] | None = None,
        on_fork: Callable[[], None] | None = None,
    ) -> None:
        self._process = process
        self._on_flush = on_flush
        self._on_idle = on_idle
        self._on_fork = on_fork
        self._max_size = max_size
        self._max_bytes = max_bytes
        self._batch_size = batch_size
        self._linger = linger
        self._name = name
        self._init_state()
        _workers.add(self)

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._batch: deque[Any] = deque()
        self._bytes_lock = threading.Lock()
        self._bytes = 0
        self._wakeup = threading.Event()
        self._full = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._taken_over = False
        self._pid = os.getpid()

    def submit(self, item: T, size: int = 0) -> bool:
        """Queue ``item`` (about ``size`` bytes); False, at once, if the queue is full or closed."""
        queue = self._queue
        if self._closed or len(queue) >= self._max_size:
            return False
        with self._bytes_lock:
            if self._max_bytes and self._bytes + size > self._max_bytes and queue:
                return False
            self._bytes += size
        queue.append((item, size))
        if self._thread is None:
            self._start()
        if len(queue) >= self._batch_size:
            self._full.set()
        if not self._wakeup.is_set():
            self._wakeup.set()
        return True

    def __len__(self) -> int:
        return len(self._queue) + len(self._batch)

    def queued_bytes(self) -> int:
        """The declared sizes of what waits in the queue (the batch in hand excluded)."""
        return self._bytes

    def _taken(self, size: int) -> None:
        if size:
            with self._bytes_lock:
                self._bytes -= size

    def start(self) -> None:
        """Start the thread now (it replays a spool at once) rather than at the first ``submit``."""
        if not self._closed and self._thread is None:
            self._start()

    def flush(self, timeout: float) -> bool:
        """Deliver everything submitted before this call, or give up at the deadline."""
        if self._thread is None or not self._thread.is_alive():
            if not self._queue or self._closed:
                return not self._queue
            self._start()
        marker = _FlushMarker(time.monotonic() + max(0.0, timeout))
        self._queue.append(marker)
        self._full.set()
        self._wakeup.set()
        return marker.done.wait(max(0.0, timeout)) and marker.ok and not self._pending_items()

    def close(self, timeout: float) -> bool:
        """Flush, then stop the thread; True if everything was delivered in time."""
        deadline = time.monotonic() + max(0.0, timeout)
        flushed = self.flush(timeout)
        self._closed = True
        self._wakeup.set()
        self._full.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        return flushed

    def take_pending(self) -> list[T]:
        """Remove and return what the worker has not started on (oldest first); it will not touch them.

        Called by ``close`` once its time is up: the current batch's unprocessed tail, then the queue.
        """
        self._taken_over = True
        items: list[T] = []
        for source in (self._batch, self._queue):
            while True:
                try:
                    item = source.popleft()
                except IndexError:
                    break
                if isinstance(item, _FlushMarker):
                    item.done.set()
                elif source is self._queue:
                    self._taken(item[1])
                    items.append(item[0])
                else:
                    items.append(item)
        return items

    def is_alive(self) -> bool:
        """True while the thread runs (it may still be stuck in a send after ``close``)."""
        return self._thread is not None and self._thread.is_alive()

    def _pending_items(self) -> bool:
        return bool(self._batch) or any(not isinstance(x, _FlushMarker) for x in list(self._queue))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread = thread
            with sdk_sending():  # the threading integration leaves the SDK's own thread alone
                thread.start()

    def _run(self) -> None:
        mark_sdk_thread()
        queue = self._queue
        next_tick: float | None = time.monotonic() if self._on_idle is not None else None
        while True:
            if not queue and not self._closed:
                timeout = None if next_tick is None else max(0.0, next_tick - time.monotonic())
                self._wakeup.wait(timeout)
            self._wakeup.clear()
            if queue and self._linger > 0 and len(queue) < self._batch_size and not self._closed:
                self._full.wait(self._linger)
            self._full.clear()
            worked = False
            while queue and not self._taken_over:
                batch: deque[Any] = deque()
                markers: list[_FlushMarker] = []
                self._batch = batch
                while queue and len(batch) < self._batch_size:
                    try:
                        item = queue.popleft()
                    except IndexError:
                        break
                    if isinstance(item, _FlushMarker):
                        markers.append(item)
                        break
                    self._taken(item[1])
                    batch.append(item[0])
                if batch:
                    worked = True
                    try:
                        self._process(batch)
                    except Exception as exc:
                        log_internal_error("worker batch", exc)
                    batch.clear()
                for marker in markers:
                    try:
                        marker.ok = self._on_flush(max(0.0, marker.deadline - time.monotonic()))
                    except Exception as exc:
                        log_internal_error("worker flush", exc)
                    marker.done.set()
            if self._closed or self._taken_over:
                return
            if self._on_idle is not None and (worked or (next_tick is not None and time.monotonic() >= next_tick)):
                try:
                    delay = self._on_idle()
                except Exception as exc:
                    log_internal_error("worker tick", exc)
                    delay = 1.0
                next_tick = None if delay is None else time.monotonic() + max(0.0, delay)

    def _after_fork_in_child(self) -> None:
        """The parent's thread does not exist here and its locks may be held: start afresh."""
        self._init_state()
        if self._on_fork is not None:
            self._on_fork()


def _reinit_after_fork() -> None:
    # The worker may have been logging an internal error (holding this lock) at the fork.
    _internal_errors._last_lock = threading.Lock()
    for worker in list(_workers):
        try:
            worker._after_fork_in_child()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
