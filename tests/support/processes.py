"""Child processes a test fixture owns: started so they cannot outlive the test run, stopped by
pid (never by name), and their descendants found through /proc. Linux only, like the e2e suite."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Union

STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05

if sys.platform.startswith("linux"):
    import ctypes

    _LIBC: Any = ctypes.CDLL(None, use_errno=True)  # loaded now: nothing may be imported after fork()
else:
    _LIBC = None
_PR_SET_PDEATHSIG = 1
_SIGTERM = int(signal.SIGTERM)

Stream = Union[int, IO[Any], None]


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the test process dies, even by SIGKILL.

    Linux ties this to the thread that spawned the child, so spawn from a thread that outlives
    the child (pytest's main thread does).
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, _SIGTERM)


def spawn(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    pass_fds: Sequence[int] = (),
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = None,
) -> subprocess.Popen[bytes]:
    """Start *cmd* in its own session, stderr (and stdout unless given) appended to *log*."""
    with open(log, "ab") as log_file:  # the child keeps its own descriptor
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=log_file if stdout is None else stdout,
            stderr=log_file,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def start_time(pid: int) -> str | None:
    """Kernel start time of *pid* (tells it apart from a later process reusing the pid), or None
    if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def descendants(root: int) -> dict[int, str]:
    """Live descendants of *root* as {pid: start time}, found through /proc parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        started = start_time(pid)
        if started is not None:
            found[pid] = started
        todo.extend(children.get(pid, []))
    return found


def wait_gone(pids: dict[int, str], timeout: float) -> dict[int, str]:
    """Wait (bounded) until the given {pid: start time} processes exit; return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid: st for pid, st in pids.items() if start_time(pid) == st}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(_POLL_INTERVAL)


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM *proc*, wait (bounded), SIGKILL it if needed, then its leftover descendants.

    Only *proc* and processes it started are signalled. Closes the pipes it was given.
    """
    if proc.poll() is None:
        kids = descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout)
        # a gunicorn worker notices its master is gone and exits; make sure of it
        for pid in wait_gone(kids, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def close_pipes(proc: subprocess.Popen[Any]) -> None:
    """Close a child's stdin/stdout/stderr pipes (pytest -W error turns a leaked pipe into a failure)."""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
