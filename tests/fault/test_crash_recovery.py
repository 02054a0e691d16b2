"""Crash recovery with real processes: SIGKILL during an outage, and several replayers at once.

Each child is a small script run with this interpreter; the loopback server lives in the test
process, so the receiver sees exactly what reached the wire.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.loopback import LoopbackServer, Reply
from tests.support.processes import close_pipes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock")

ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef"
SECRETS = (
    b"hunter2-correct-horse",
    b"alice.secret@example.com",
    b"4111111111111111",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
)

# Captures N events full of secrets while the endpoint is down, waits until all of them are on
# disk, says so and sleeps: the test kills it with SIGKILL (no atexit, no close, no flush).
CAPTURE_THEN_WAIT = """
import json, sys, time
import sdk_core

dsn, spool_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = sdk_core.init(dsn, default_integrations=False, spool_dir=spool_dir, http_timeout=0.5)
sdk_core.set_user({"id": "42", "email": "alice.secret@example.com"})
ids = []
for i in range(n):
    password = "hunter2-correct-horse"
    sdk_core.set_extra("api_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc")
    try:
        raise ValueError(f"charge {i} failed for card 4111111111111111 (alice.secret@example.com)")
    except ValueError:
        ids.append(sdk_core.capture_exception())
print(json.dumps(ids), flush=True)
deadline = time.monotonic() + 60
while client.spool.pending() < n and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"pending": client.spool.pending()}), flush=True)
time.sleep(600)
"""

# Replays the spool: init, wait until the directory is empty (or time is up), report, exit.
REPLAY = """
import json, sys, time
import sdk_core

dsn, spool_dir = sys.argv[1], sys.argv[2]
client = sdk_core.init(dsn, default_integrations=False, spool_dir=spool_dir)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    sdk_core.flush(1)
    if client.spool.pending() == 0:
        break
print(json.dumps({
    "pending": client.spool.pending(),
    "replayed": client.transport.replayed_envelopes,
    "dropped": {f"{r}:{c}": n for (r, c), n in client.discards.totals.items()},
}), flush=True)
sdk_core.close()
"""


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _reap_children() -> Iterator[None]:
    """Every child is killed (if still running) and its pipes closed when the test ends."""
    yield
    while _started:
        proc = _started.pop()
        kill(proc)
        close_pipes(proc)


def run(script: str, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True
    )
    _started.append(proc)
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def disk_bytes(spool: Path) -> list[bytes]:
    return [p.read_bytes() for p in spool.rglob("*") if p.is_file()]


def spooled_names(spool: Path) -> list[str]:
    return [p.name for p in spool.rglob("*") if p.is_file() and p.parent.name != "owners"]


def assert_no_secrets(blobs: list[bytes]) -> None:
    for blob in blobs:
        for secret in SECRETS:
            assert secret not in blob, secret


def crash_during_outage(server: LoopbackServer, spool: Path, n: int) -> list[str]:
    """Run the capturing child against ``server`` (stopped or faulty) and SIGKILL it; its event ids."""
    child = run(CAPTURE_THEN_WAIT, server.dsn(KEY), str(spool), str(n))
    try:
        assert child.stdout is not None
        ids = json.loads(child.stdout.readline())
        status = json.loads(child.stdout.readline() or "{}")
        assert status.get("pending") == n, status
        kill(child)
    finally:
        kill(child)
    assert child.returncode == -signal.SIGKILL
    return [str(i) for i in ids]


@pytest.mark.parametrize("outage", ["stopped", "hanging"])
def test_sigkill_during_an_outage_loses_nothing(tmp_path: Path, outage: str) -> None:
    n = 40
    server = LoopbackServer(Reply(fault="hang", hang_seconds=30)).start()
    try:
        if outage == "stopped":
            server.stop()
        ids = crash_during_outage(server, tmp_path, n)
        assert len(set(ids)) == n
        on_disk = disk_bytes(tmp_path)
        assert_no_secrets(on_disk)
        server.restart()
        server.set_behaviour(Reply())
        server.requests.clear()
        replayer = run(REPLAY, server.dsn(KEY), str(tmp_path))
        out, err = replayer.communicate(timeout=90)
        result = json.loads(out.strip().splitlines()[-1])
        assert result["pending"] == 0, (result, err)
        delivered = Counter(server.event_ids)
        assert set(delivered) == set(ids), err
        assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
        assert result["dropped"] == {}
        assert_no_secrets([r.body for r in server.requests] + [r.raw for r in server.requests])
        event = server.events[0]
        assert event["exception"]["values"][0]["type"] == "ValueError"
        assert spooled_names(tmp_path) == []
    finally:
        server.stop()


def test_two_processes_replaying_one_directory_deliver_each_event_once(tmp_path: Path) -> None:
    n = 150
    server = LoopbackServer().start()
    try:
        server.stop()
        ids = crash_during_outage(server, tmp_path, n)
        # Slow answers, so that the replayers overlap for the whole run.
        server.set_behaviour(lambda k, r: (time.sleep(0.005), Reply())[1])
        server.restart()
        server.requests.clear()
        replayers = [run(REPLAY, server.dsn(KEY), str(tmp_path)) for _ in range(3)]
        results = []
        for proc in replayers:
            out, _err = proc.communicate(timeout=90)
            results.append(json.loads(out.strip().splitlines()[-1]))
        delivered = Counter(server.event_ids)
        assert set(delivered) == set(ids)
        assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
        assert sum(r["replayed"] for r in results) == n
        assert all(r["pending"] == 0 and r["dropped"] == {} for r in results)
        assert spooled_names(tmp_path) == []
    finally:
        server.stop()


def test_a_replayer_killed_mid_replay_is_finished_by_the_next(tmp_path: Path) -> None:
    n = 60
    server = LoopbackServer().start()
    try:
        server.stop()
        ids = crash_during_outage(server, tmp_path, n)
        # The endpoint is back but slow: kill the first replayer while it is halfway through.
        server.set_behaviour(lambda k, r: (time.sleep(0.02), Reply())[1])
        server.restart()
        server.requests.clear()
        first = run(REPLAY, server.dsn(KEY), str(tmp_path), stdout=subprocess.DEVNULL)
        try:
            assert server.wait_for(lambda: len(server.events) >= n // 3, timeout=30)
        finally:
            kill(first)
        second = run(REPLAY, server.dsn(KEY), str(tmp_path))
        out, _err = second.communicate(timeout=90)
        assert json.loads(out.strip().splitlines()[-1])["pending"] == 0
        delivered = Counter(server.event_ids)
        assert set(delivered) == set(ids)
        # At least once: only the envelope in flight at the kill may arrive twice.
        assert sum(delivered.values()) - n <= 1, delivered.most_common(3)
    finally:
        server.stop()
