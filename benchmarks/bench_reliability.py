"""Reliability under an outage, ours (with and without ``spool_dir``) against sentry-sdk::

    python -m benchmarks.bench_reliability [--n 100000] [--shutdown-timeout 2.0]

Prints Markdown tables:

1. **Storm**: ``n`` captures (every 10th an exception with locals, the rest messages) while the
   endpoint refuses connections; then the endpoint comes back and the SDK flushes. Peak RSS growth
   during the storm (VmRSS sampled every 2,000 captures and VmHWM after a reset, minus VmRSS
   before), the capture loop's time, and what the receiver got after recovery: events delivered
   (unique ``event_id``), discards reported in client reports.
2. **close()**: 200 captures with the endpoint refusing connections, or accepting them and never
   answering (a hung load balancer), then ``close()``; its duration against ``shutdown_timeout``,
   and what is left on disk for the next process.

Each run is a fresh process (one SDK per process); the receiver is the test-suite's loopback server
in this process. Linux only (reads ``/proc/self/status``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEY = "0123456789abcdef0123456789abcdef"
VARIANTS = [("ours", False), ("ours", True), ("sentry", False)]


def label(sdk: str, spool: bool) -> str:
    if sdk == "sentry":
        import importlib.metadata

        return f"sentry-sdk {importlib.metadata.version('sentry-sdk')}"
    return "ours, spool_dir" if spool else "ours, in memory"


# -- the child process ---------------------------------------------------------------------------


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _init(sdk: str, dsn: str, spool_dir: str | None, shutdown_timeout: float) -> Any:
    if sdk == "sentry":
        import sentry_sdk

        sentry_sdk.init(
            dsn,
            default_integrations=False,
            auto_enabling_integrations=False,
            shutdown_timeout=shutdown_timeout,
            include_local_variables=True,
        )
        return sentry_sdk
    import sdk_core

    options: dict[str, Any] = {"default_integrations": False, "shutdown_timeout": shutdown_timeout}
    if spool_dir:
        options["spool_dir"] = spool_dir
    sdk_core.init(dsn, **options)
    return sdk_core


def _close(sdk: str, module: Any) -> None:
    if sdk == "sentry":
        module.get_client().close()
    else:
        module.close()


def _fail(i: int) -> None:
    password = "hunter2"  # noqa: F841  (a local to snapshot)
    order = {"id": i, "items": list(range(5))}  # noqa: F841
    raise ValueError(f"storm {i}")


def _capture(module: Any, i: int) -> None:
    if i % 10 == 0:
        try:
            _fail(i)
        except ValueError:
            module.capture_exception()
    else:
        module.capture_message(f"storm {i}", level="error")


def child_storm(sdk: str, dsn: str, spool_dir: str | None, n: int, shutdown_timeout: float) -> None:
    import gc

    module = _init(sdk, dsn, spool_dir, shutdown_timeout)
    for i in range(50):
        _capture(module, i)
    time.sleep(0.5)
    gc.collect()
    before = peak = _rss_kib()
    hwm_reset = _reset_hwm()
    started = time.perf_counter()
    for i in range(n):
        _capture(module, i)
        if i % 2000 == 0:
            peak = max(peak, _rss_kib())
    loop = time.perf_counter() - started
    time.sleep(1.0)
    peak = max(peak, _rss_kib(), _rss_kib("VmHWM") if hwm_reset else 0)
    print(json.dumps({"growth_mb": (peak - before) / 1024, "loop_s": loop, "captured": n + 50}), flush=True)
    sys.stdin.readline()  # the endpoint is back
    started = time.perf_counter()
    module.flush(60)
    flush_s = time.perf_counter() - started
    _close(sdk, module)
    print(json.dumps({"flush_s": flush_s}), flush=True)


def child_close(sdk: str, dsn: str, spool_dir: str | None, n: int, shutdown_timeout: float) -> None:
    module = _init(sdk, dsn, spool_dir, shutdown_timeout)
    for i in range(n):
        _capture(module, i)
    time.sleep(0.2)
    started = time.perf_counter()
    _close(sdk, module)
    print(json.dumps({"close_s": time.perf_counter() - started}), flush=True)


# -- the parent -----------------------------------------------------------------------------------


def _spawn(kind: str, sdk: str, dsn: str, spool_dir: str | None, n: int, timeout: float) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "benchmarks.bench_reliability", "--child", kind, sdk, dsn, spool_dir or "-"]
    args += [str(n), str(timeout)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _files(path: str | None) -> int:
    if not path:
        return 0
    return sum(1 for p in Path(path).rglob("*") if p.name.endswith((".env", ".claim")))


def storm(sdk: str, spool: bool, n: int, shutdown_timeout: float) -> dict[str, Any]:
    from tests.support.loopback import LoopbackServer

    server = LoopbackServer().start()
    server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        proc = _spawn("storm", sdk, server.dsn(KEY), tmp if spool else None, n, shutdown_timeout)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            result: dict[str, Any] = json.loads(proc.stdout.readline())
            server.restart()
            proc.stdin.write("\n")
            proc.stdin.flush()
            result.update(json.loads(proc.stdout.readline()))
            proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
            server.stop()
    ids = Counter(server.event_ids)
    result["delivered"] = len(ids)
    result["duplicates"] = sum(ids.values()) - len(ids)
    result["reported"] = dict(Counter({f"{r}": q for (r, _c), q in server.discarded().items()}))
    result["reported_total"] = sum(server.discarded().values())
    return result


def close_time(sdk: str, spool: bool, fault: str, shutdown_timeout: float, n: int = 200) -> dict[str, Any]:
    from tests.support.loopback import LoopbackServer, Reply

    server = LoopbackServer(Reply(fault="hang", hang_seconds=60)).start()
    if fault == "refused":
        server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = _spawn("close", sdk, server.dsn(KEY), tmp if spool else None, n, shutdown_timeout)
            out, _ = proc.communicate(timeout=120)
            result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
            result["on_disk"] = _files(tmp if spool else None)
        finally:
            server.stop()
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        kind, sdk, dsn, spool_dir, n, timeout = argv[1:7]
        fn = child_storm if kind == "storm" else child_close
        fn(sdk, dsn, None if spool_dir == "-" else spool_dir, int(n), float(timeout))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="captures in the storm")
    parser.add_argument("--shutdown-timeout", type=float, default=2.0)
    args = parser.parse_args(argv)

    print(f"## Storm: {args.n:,} captures with the endpoint down, then recovery\n")
    print(
        "| SDK | peak RSS growth | capture loop | captured | delivered after recovery "
        "| dropped, reported in client_report | unaccounted |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for sdk, spool in VARIANTS:
        r = storm(sdk, spool, args.n, args.shutdown_timeout)
        reported = ", ".join(f"{k} {v:,}" for k, v in sorted(r["reported"].items())) or "none"
        missing = r["captured"] - r["delivered"] - r["reported_total"]
        print(
            f"| {label(sdk, spool)} | {r['growth_mb']:.1f} MB | {r['loop_s']:.2f} s | {r['captured']:,} "
            f"| {r['delivered']:,} ({100 * r['delivered'] / r['captured']:.1f} %) | {reported} | {missing:,} |",
            flush=True,
        )
    print(f"\n## close() with the endpoint down, shutdown_timeout = {args.shutdown_timeout:g} s (200 captures)\n")
    print("| SDK | refused: close() | hung (no answer): close() | left on disk for the next process (refused / hung) |")
    print("|---|---:|---:|---:|")
    for sdk, spool in VARIANTS:
        refused = close_time(sdk, spool, "refused", args.shutdown_timeout)
        hung = close_time(sdk, spool, "hung", args.shutdown_timeout)
        disk = f"{refused['on_disk']} / {hung['on_disk']}" if spool else "-"
        print(
            f"| {label(sdk, spool)} | {refused['close_s']:.2f} s | {hung['close_s']:.2f} s | {disk} |",
            flush=True,
        )
    print(
        "\n*unaccounted*: captured minus delivered minus reported discards (what was lost silently). "
        "Delivered counts unique event ids at the receiver."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
