"""An event storm with the endpoint down, in a fresh process: memory stays bounded, no capture
blocks, and every capture is either delivered once the endpoint is back or counted as dropped
(by reason) and reported to the server in a client report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.loopback import LoopbackServer
from tests.support.processes import close_pipes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")

ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef"
STORM = 100_000
RSS_GROWTH_LIMIT_MB = 150
SPOOL_FILES = 200
"""Fewer than the queue holds (1,000), so the spool's bound is reached whatever the timing."""

STORM_SCRIPT = """
import gc, json, sys, time
import sdk_core

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

dsn, spool_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = {"default_integrations": False, "max_queue_size": 1000}  # small enough to overflow here
if spool_dir != "-":
    options["spool_dir"] = spool_dir
    options["spool_max_files"] = int(sys.argv[4])
client = sdk_core.init(dsn, **options)

def fail(i):
    password = "hunter2-correct-horse"
    raise ValueError(f"storm {i}")

warmup = 200
for i in range(warmup):
    sdk_core.capture_message(f"warm {i}", level="error")
time.sleep(0.5)
gc.collect()
before = peak = rss_kib()
returned = 0
started = time.monotonic()
slowest = 0.0
for i in range(n):
    t0 = time.perf_counter()
    if i % 10 == 0:
        try:
            fail(i)
        except ValueError:
            sdk_core.capture_exception()
    else:
        sdk_core.capture_message(f"storm {i}", level="error")
    slowest = max(slowest, time.perf_counter() - t0)
    returned += 1
    if i % 5000 == 0:
        peak = max(peak, rss_kib())
loop = time.monotonic() - started
peak = max(peak, rss_kib())
time.sleep(1.0)  # the worker spools or parks what it still holds
peak = max(peak, rss_kib())
print(json.dumps({
    "captured": warmup + n, "returned": returned, "loop_s": loop, "slowest_call_s": slowest,
    "rss_growth_mb": (peak - before) / 1024, "queued": client.queued(),
}), flush=True)
sys.stdin.readline()  # the endpoint is back
flushed = sdk_core.flush(60)
print(json.dumps({
    "flushed": flushed,
    "dropped": {f"{r}:{c}": q for (r, c), q in client.discards.totals.items()},
    "pending_reports": client.discards.has_pending(),
}), flush=True)
sdk_core.close()
"""


@pytest.mark.parametrize("spool", [True, False], ids=["spool", "memory"])
def test_storm_with_the_endpoint_down(tmp_path: Path, spool: bool) -> None:
    server = LoopbackServer().start()
    server.stop()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STORM_SCRIPT,
            server.dsn(KEY),
            str(tmp_path) if spool else "-",
            str(STORM),
            str(SPOOL_FILES),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else ""
        storm = json.loads(line)
        assert storm["returned"] == STORM  # every call returned: nothing raised, nothing hung
        assert storm["loop_s"] < 300  # a sanity bound, not a benchmark
        assert storm["rss_growth_mb"] < RSS_GROWTH_LIMIT_MB, storm
        server.restart()
        child.stdin.write("\n")
        child.stdin.flush()
        result = json.loads(child.stdout.readline())
        child.wait(120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        close_pipes(child)
        server.stop()
    assert result["flushed"] and not result["pending_reports"], result
    dropped = {tuple(k.split(":")): q for k, q in result["dropped"].items()}
    if spool:
        assert dropped.get(("queue_overflow", "error"), 0) > 0  # the caller never waited for room
    else:  # nowhere to keep them: once the retry heap is full, captures are dropped before queueing
        assert dropped.get(("queue_overflow", "error"), 0) == 0
    assert dropped.get(("cache_overflow", "error"), 0) > 0  # the spool's bound, or the retry heap's
    # Everything dropped was reported once the endpoint was back...
    assert server.discarded() == dropped
    # ...and every capture is accounted for: delivered exactly once, or dropped and counted.
    delivered = Counter(server.event_ids)
    assert all(n == 1 for n in delivered.values())
    assert len(delivered) + sum(dropped.values()) == storm["captured"], (len(delivered), dropped)
    if spool:
        assert len(delivered) >= SPOOL_FILES * 0.9  # about a spool's worth survived the outage
        assert not [p for p in tmp_path.rglob("*.env")]
