"""Tracing cost, ours vs sentry-sdk, same run, same settings (issue 16's three ratios)::

    .venv/bin/python -m benchmarks.bench_tracing            # 5 rounds, writes the Tracing section of REPORT.md
    .venv/bin/python -m benchmarks.bench_tracing --rounds 3 --no-publish

Scenarios (each sample a fresh subprocess, ``python -m benchmarks.bench_tracing run SCENARIO SDK``):

* ``request``: a Flask route that runs one SQL query (sqlite3, in memory) inside a ``db`` span
  (``sdk_core.start_span`` / ``sentry_sdk.start_span``: the same single manual span for both, so
  neither SDK's SQL instrumentation is compared, only the tracing machinery), driven through the
  WSGI callable as in ``_webapps.py``. ``traces_sample_rate=1.0``. Added µs = with SDK - without.
* ``unsampled``: the same request at ``traces_sample_rate=0.0``.
* ``span``: the cost of one sampled child span (start, two attributes, end) inside a transaction:
  (time of a root with 100 children - time of an empty root) / 100, on the calling thread; and the
  same in process CPU time (which includes the background worker serialising and sending).

Both SDKs send to the loopback receiver (``_receiver.py``) with ``default_integrations=False``
plus their Flask integration; sentry-sdk also gets ``auto_session_tracking=False``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "REPORT.md"
SECTION = "## Tracing (issue 16)"
TARGETS = {"request": 0.33, "span": 0.25, "unsampled": 0.33}


# -- in the sample's process ---------------------------------------------------------------------


def _init(sdk: str, dsn: str, rate: float) -> None:
    if sdk == "ours":
        import sdk_core
        from integrations.flask import FlaskIntegration

        sdk_core.init(dsn, traces_sample_rate=rate, default_integrations=False, integrations=[FlaskIntegration()])
    elif sdk == "sentry":
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration as SentryFlask

        sentry_sdk.init(
            dsn,
            traces_sample_rate=rate,
            default_integrations=False,
            auto_enabling_integrations=False,
            integrations=[SentryFlask()],
            auto_session_tracking=False,
        )


def _db_span(sdk: str) -> Callable[[], Any]:
    if sdk == "ours":
        import sdk_core

        return lambda: sdk_core.start_span(op="db", name="SELECT orders")
    if sdk == "sentry":
        import sentry_sdk

        return lambda: sentry_sdk.start_span(op="db", name="SELECT orders")
    import contextlib

    return contextlib.nullcontext


def _flask_request(sdk: str) -> Callable[[], None]:
    import sqlite3

    from flask import Flask

    from benchmarks._webapps import wsgi_caller

    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
    conn.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 10) for i in range(100)])
    span = _db_span(sdk)
    app = Flask("bench")

    @app.route("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        with span():
            row = conn.execute("SELECT total FROM orders WHERE id = ?", (order_id % 100,)).fetchone()
        return str(row[0])

    return wsgi_caller(app, "/orders/1234")


def _timed(fn: Callable[[], Any], batches: int, per_batch: int) -> tuple[float, float]:
    """Median µs per call over ``batches`` (wall on this thread, and process CPU)."""
    wall, cpu = [], []
    for _ in range(batches):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_batch):
            fn()
        wall.append((time.perf_counter() - w0) / per_batch * 1e6)
        cpu.append((time.process_time() - c0) / per_batch * 1e6)
    return statistics.median(wall), statistics.median(cpu)


def sample(scenario: str, sdk: str, port: int, batches: int = 30, per_batch: int = 100) -> dict[str, Any]:
    """One sample of ``scenario`` for ``sdk`` (ours, sentry, none) in this process."""
    from benchmarks._receiver import dsn_for

    dsn = dsn_for(port)
    if scenario in ("request", "unsampled"):
        _init(sdk, dsn, 1.0 if scenario == "request" else 0.0)
        request = _flask_request(sdk)
        for _ in range(200):
            request()
        gc.collect()
        wall, cpu = _timed(request, batches, per_batch)
        return {"us": wall, "cpu_us": cpu}
    _init(sdk, dsn, 1.0)
    span = _db_span(sdk)
    root = _root(sdk)

    def with_children(n: int) -> Callable[[], None]:
        def run() -> None:
            with root():
                for _ in range(n):
                    with span() as s:
                        s.set_data("db.system", "sqlite") if sdk == "sentry" else s.set_attribute("db.system", "sqlite")
                        s.set_data("rows", 1) if sdk == "sentry" else s.set_attribute("rows", 1)

        return run

    full, empty = with_children(100), with_children(0)
    for _ in range(20):
        full()
        empty()
    gc.collect()
    full_wall, full_cpu = _timed(full, batches, 5)
    empty_wall, empty_cpu = _timed(empty, batches, 5)
    return {"us": (full_wall - empty_wall) / 100, "cpu_us": (full_cpu - empty_cpu) / 100}


def _root(sdk: str) -> Callable[[], Any]:
    if sdk == "ours":
        import sdk_core

        return lambda: sdk_core.start_span(op="task", name="bench root")
    import sentry_sdk

    return lambda: sentry_sdk.start_transaction(op="task", name="bench root")


# -- the runner ------------------------------------------------------------------------------------


def _run_sample(scenario: str, sdk: str, port: int) -> dict[str, Any] | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "CODERADAR_", "OTEL_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_tracing", "run", scenario, sdk, str(port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    sys.stderr.write(f"{scenario}/{sdk} failed: {proc.stderr[-500:]}\n")
    return None


def _collect(rounds: int, port: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    plan = [
        ("request", ("none", "ours", "sentry")),
        ("unsampled", ("none", "ours", "sentry")),
        ("span", ("ours", "sentry")),
    ]
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rnd in range(rounds):
        for scenario, sdks in plan:
            order = list(sdks[rnd % len(sdks) :] + sdks[: rnd % len(sdks)])
            for sdk in order:
                result = _run_sample(scenario, sdk, port)
                if result is not None:
                    found.setdefault((scenario, sdk), []).append(result)
                    sys.stderr.write(f"round {rnd + 1} {scenario:<9} {sdk:<6} {result['us']:8.1f} µs\n")
    return found


def _med(samples: list[dict[str, Any]], key: str = "us") -> float:
    return statistics.median(s[key] for s in samples) if samples else float("nan")


def render(found: dict[tuple[str, str], list[dict[str, Any]]], rounds: int) -> str:
    """The Markdown section with the three ratios (medians over rounds; spread in the notes)."""
    lines = [
        SECTION,
        "",
        f"`python -m benchmarks.bench_tracing` ({rounds} rounds, each sample a fresh process; medians over rounds).",
        'µs on the calling thread; "CPU" is process CPU time per request/span, background worker included.',
        "",
        "| metric | ours | sentry-sdk | ratio ours / sentry | target | result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for scenario, label in (
        ("request", "traced Flask request + 1 SQL span, rate 1.0: added µs"),
        ("unsampled", "same request, rate 0 (unsampled): added µs"),
        ("span", "per sampled span (start, 2 attributes, end)"),
    ):
        for key, suffix in (("us", ""), ("cpu_us", " (CPU)")):
            if scenario == "span":
                ours, sentry = _med(found.get(("span", "ours"), []), key), _med(found.get(("span", "sentry"), []), key)
            else:
                base = _med(found.get((scenario, "none"), []), key)
                ours = _med(found.get((scenario, "ours"), []), key) - base
                sentry = _med(found.get((scenario, "sentry"), []), key) - base
            ratio = ours / sentry if sentry > 0 else float("nan")
            target = TARGETS[scenario]
            verdict = "met" if ratio <= target else "missed"
            lines.append(f"| {label}{suffix} | {ours:.1f} | {sentry:.1f} | {ratio:.3f} | ≤ {target:g} | {verdict} |")
    base = _med(found.get(("request", "none"), []))
    lines += ["", f"Baseline request without any SDK: {base:.1f} µs.", ""]
    lines.append("Spread (min to max µs per sample):")
    lines.append("")
    for (scenario, sdk), samples in sorted(found.items()):
        values = [s["us"] for s in samples]
        lines.append(f"* {scenario}/{sdk}: {min(values):.1f} to {max(values):.1f}")
    return "\n".join(lines) + "\n"


def publish(section: str) -> None:
    """Replace (or append) the Tracing section of ``benchmarks/REPORT.md``."""
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    REPORT.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        scenario, sdk, port = argv[1], argv[2], int(argv[3])
        result = sample(scenario, sdk, port)
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        sys.stdout.flush()
        os._exit(0)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tracing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-publish", action="store_true", help="print the section, leave REPORT.md alone")
    args = parser.parse_args(argv)
    from benchmarks._receiver import Receiver

    with Receiver() as receiver:
        found = _collect(args.rounds, receiver.port)
    section = render(found, args.rounds)
    sys.stdout.write(section)
    if not args.no_publish:
        publish(section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
