"""Issue 17's numbers, side by side with sentry-sdk: a ``logging.info`` call with structured logs on
(and off), a monitored function, and session tracking per request.

    .venv/bin/python -m benchmarks.bench_items [--rounds 5] [--before PATH]

Every sample is a fresh subprocess (``python -m benchmarks.bench_items one SCENARIO VARIANT
port=N``) printing ``RESULT {json}``; rounds rotate the order. Both SDKs point at the suite's
loopback receiver (``benchmarks._receiver``). Only the calls are timed: between timed batches
each SDK is flushed (outside the clock), so neither measures drops instead of work.

* ``logs``: ``log.info("order %s paid by %s", 42, "alice")`` on a logger with a ``NullHandler``;
  variants ``none`` (no SDK), ``ours``/``sentry`` with ``enable_logs=True``, ``ours_off`` /
  ``sentry_off`` without, and ``before_off``: the code at ``--before`` (default ``/work/main``,
  the SDK without this feature) for "no change with ``enable_logs=False``". Both SDKs run their
  default logging integration (breadcrumbs at INFO), so "added" includes that in every variant.
* ``monitor``: a decorated no-op function (two check-ins per call) vs the bare function.
* ``session``: a trivial WSGI app behind each SDK's WSGI middleware with a release, session
  tracking on and off, vs the bare app.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS: dict[str, tuple[str, ...]] = {
    "logs": ("none", "before_off", "ours_off", "sentry_off", "ours", "sentry"),
    "monitor": ("none", "ours", "sentry"),
    "session": ("none", "ours_nosession", "ours", "sentry_nosession", "sentry"),
}


# -- one sample, in a fresh process ----------------------------------------------------------------------------


def _timed(fn: Callable[[], Any], flush: Callable[[], Any], batches: int, per_batch: int) -> list[float]:
    """Microseconds per call for each batch; ``flush`` runs between batches, off the clock."""
    clock = time.perf_counter
    out = []
    for _ in range(batches):
        started = clock()
        for _ in range(per_batch):
            fn()
        out.append((clock() - started) / per_batch * 1e6)
        flush()
    return out


def _init(sdk: str, dsn: str, **options: Any) -> Callable[[], Any]:
    """Initialise ``ours`` (``sdk_core``) or ``sentry``; returns that SDK's flush."""
    if sdk == "ours":
        import sdk_core

        sdk_core.init(dsn, **options)
        return lambda: sdk_core.flush(10)
    import sentry_sdk

    sentry_sdk.init(dsn, **options)
    return lambda: sentry_sdk.flush(10)


def sample_logs(variant: str, dsn: str) -> list[float]:
    log = logging.getLogger("bench.orders")
    log.setLevel(logging.INFO)
    log.addHandler(logging.NullHandler())
    flush: Callable[[], Any] = lambda: None  # noqa: E731
    if variant in ("ours", "ours_off", "before_off"):
        options: dict[str, Any] = {"release": "bench@1"}
        if variant == "ours":
            options["enable_logs"] = True
        flush = _init("ours", dsn, **options)
    elif variant in ("sentry", "sentry_off"):
        flush = _init("sentry", dsn, release="bench@1", enable_logs=variant == "sentry", auto_session_tracking=False)

    def call() -> None:
        log.info("order %s paid by %s", 42, "alice")

    for _ in range(300):
        call()
    flush()
    gc.collect()
    return _timed(call, flush, 60, 100)  # a batch of logs is sent between batches


def sample_monitor(variant: str, dsn: str) -> list[float]:
    flush: Callable[[], Any] = lambda: None  # noqa: E731

    def job() -> int:
        return 1

    if variant == "ours":
        import sdk_core

        flush = _init("ours", dsn, default_integrations=False)
        call = sdk_core.monitor("bench-job")(job)
    elif variant == "sentry":
        import sentry_sdk

        flush = _init("sentry", dsn, default_integrations=False, auto_session_tracking=False)
        call = sentry_sdk.monitor(monitor_slug="bench-job")(job)
    else:
        call = job
    for _ in range(100):
        call()
    flush()
    gc.collect()
    return _timed(call, flush, 60, 50)


def sample_session(variant: str, dsn: str) -> list[float]:
    from benchmarks._webapps import wsgi_caller

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped: Any = app
    tracking = not variant.endswith("_nosession")
    if variant.startswith("ours"):
        from integrations.wsgi import WsgiMiddleware

        _init("ours", dsn, default_integrations=False, release="bench@1", auto_session_tracking=tracking)
        wrapped = WsgiMiddleware(app)
    elif variant.startswith("sentry"):
        from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

        _init("sentry", dsn, default_integrations=False, release="bench@1", auto_session_tracking=tracking)
        wrapped = SentryWsgiMiddleware(app)
    request = wsgi_caller(wrapped, "/orders/42")
    for _ in range(300):
        request()
    gc.collect()
    return _timed(request, lambda: None, 40, 200)


def one(scenario: str, variant: str, port: int) -> None:
    from benchmarks._receiver import dsn_for

    fn = {"logs": sample_logs, "monitor": sample_monitor, "session": sample_session}[scenario]
    per_call = fn(variant, dsn_for(port))
    result = {"us": statistics.median(per_call), "min_us": min(per_call)}
    if variant.startswith("ours") or variant == "before_off":
        import sdk_core

        client = sdk_core.get_client()
        if client is not None:
            result["dropped"] = sum(client.discards.totals.values())
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


# -- the runner ---------------------------------------------------------------------------------------------------


def _run_sample(scenario: str, variant: str, port: int, before: str) -> dict[str, Any]:
    path = before if variant == "before_off" else str(ROOT)
    env = dict(os.environ, PYTHONPATH=path + os.pathsep + str(ROOT))
    # by path: with ``--before`` the ``benchmarks`` package on the path is the other checkout's
    cmd = [sys.executable, str(Path(__file__).resolve()), "one", scenario, variant, f"port={port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=path, timeout=600)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"{scenario}/{variant} failed:\n{out.stderr[-2000:]}")


def _table(results: dict[str, dict[str, list[float]]]) -> str:
    def med(scenario: str, variant: str) -> float:
        return statistics.median(results[scenario][variant])

    def spread(scenario: str, variant: str) -> str:
        values = results[scenario][variant]
        return f"{min(values):.2f}\u2013{max(values):.2f}"

    lines = ["| measurement | ours | sentry-sdk | ratio | target |", "|---|---|---|---|---|"]
    base = med("logs", "none")
    ours, sentry = med("logs", "ours") - base, med("logs", "sentry") - base
    lines.append(
        f"| `logging.info` with `enable_logs=True`, added \u00b5s per call | {ours:.2f} | {sentry:.2f} "
        f"| **{ours / sentry:.2f}** | \u2264 0.5 |"
    )
    before, off = med("logs", "before_off") - base, med("logs", "ours_off") - base
    sentry_off = med("logs", "sentry_off") - base
    lines.append(
        f"| `logging.info` with `enable_logs=False`, added \u00b5s: this branch vs before the feature | "
        f"{off:.2f} vs {before:.2f} | {sentry_off:.2f} | {off / before:.2f} (before: {before:.2f}) | no change |"
    )
    base = med("monitor", "none")
    ours, sentry = med("monitor", "ours") - base, med("monitor", "sentry") - base
    lines.append(
        f"| monitored function (2 check-ins), added \u00b5s per call | {ours:.2f} | {sentry:.2f} "
        f"| **{ours / sentry:.2f}** | \u2264 0.5 |"
    )
    on, off = med("session", "ours"), med("session", "ours_nosession")
    s_on, s_off = med("session", "sentry"), med("session", "sentry_nosession")
    lines.append(
        f"| session tracking, added \u00b5s per WSGI request (on \u2212 off) | {on - off:+.2f} "
        f"(spread off: {spread('session', 'ours_nosession')}, on: {spread('session', 'ours')}) | "
        f"{s_on - s_off:+.2f} | \u2014 | within noise |"
    )
    lines.append("")
    lines.append("Medians over rounds of each variant's median \u00b5s per call:")
    lines.append("")
    lines.append("| scenario | " + " | ".join(["variant", "median \u00b5s", "spread over rounds"]) + " |")
    lines.append("|---|---|---|---|")
    for scenario, variants in SCENARIOS.items():
        for variant in variants:
            lines.append(f"| {scenario} | {variant} | {med(scenario, variant):.2f} | {spread(scenario, variant)} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["one"]:
        params = dict(arg.split("=", 1) for arg in argv[3:])
        one(argv[1], argv[2], int(params.get("port", "0")))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_items")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default="/work/main", help="checkout of the SDK without this feature")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="also print the samples as one JSON line")
    args = parser.parse_args(argv)
    from benchmarks._receiver import Receiver

    wanted = [s for s in args.only.split(",") if s in SCENARIOS]
    results: dict[str, dict[str, list[float]]] = {s: {v: [] for v in SCENARIOS[s]} for s in wanted}
    with Receiver() as receiver:
        for round_no in range(args.rounds):
            for scenario in wanted:
                variants = list(SCENARIOS[scenario])
                shift = round_no % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    result = _run_sample(scenario, variant, receiver.port, args.before)
                    results[scenario][variant].append(result["us"])
                    print(f"round {round_no + 1} {scenario:8} {variant:16} {result}", file=sys.stderr, flush=True)
    if set(wanted) == set(SCENARIOS):
        print(_table(results))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
