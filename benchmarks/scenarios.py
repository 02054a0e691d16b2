"""One benchmark scenario for one SDK, in this (fresh) process. The runner starts one per sample::

    python -m benchmarks.scenarios SCENARIO SDK [key=value ...]

and reads the last stdout line, ``RESULT {json}``. SDK is ``ours`` or ``sentry`` (``none`` too for
the web scenarios: the baseline without any SDK). Integer and float parameters are passed as
``key=value``; every scenario has defaults, so each can be run by hand.

Nothing heavy is imported at module level: the import scenario runs in a bare ``python -c``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import socket
import sys
import time
from typing import Any, Callable

from benchmarks._receiver import control, dsn_for
from benchmarks._workload import (
    BREADCRUMBS,
    adapter,
    breadcrumb,
    make_exception,
    request_processor,
    reset_peak_rss,
    rss_kib,
)

Result = dict[str, Any]

IMPORT_SNIPPET = """
import time
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
{init}
t2 = time.perf_counter()
import json, sys
frameworks = [m for m in {frameworks!r} if m in sys.modules]
sys.stdout.write("RESULT " + json.dumps({{"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3,
                                          "frameworks": frameworks}}) + "\\n")
"""

FRAMEWORKS = ("django", "flask", "celery", "fastapi", "starlette", "sqlalchemy", "aiohttp", "redis", "rq")
"""Installed in the dev environment; reported when an SDK's import + init loaded them."""

IMPORT_INIT = {
    "ours": (
        "sdk_core",
        "sdk_core.init({dsn!r}, default_integrations=False, include_local_variables=True, "
        "send_default_pii=False, sample_rate=1.0, environment='bench', release='bench@1.0.0')",
    ),
    "sentry": (
        "sentry_sdk",
        "sentry_sdk.init({dsn!r}, default_integrations=False, auto_enabling_integrations=False, "
        "include_local_variables=True, send_default_pii=False, sample_rate=1.0, environment='bench', "
        "release='bench@1.0.0', auto_session_tracking=False)",
    ),
}


IMPORT_INIT_DEFAULTS = {
    "ours": ("sdk_core", "sdk_core.init({dsn!r}, environment='bench', release='bench@1.0.0')"),
    "sentry": (
        "sentry_sdk",
        "sentry_sdk.init({dsn!r}, environment='bench', release='bench@1.0.0', auto_session_tracking=False)",
    ),
}
"""Each SDK's defaults: its default (and, for sentry-sdk, auto-enabling) integrations on."""


def import_snippet(sdk: str, dsn: str, defaults: bool = False) -> str:
    """The code the runner executes with ``python -c`` for the import/init scenarios.

    ``defaults=True``: ``init`` with each SDK's default integrations, the frameworks installed
    but not imported by the script (what a plain script or a CLI tool pays).
    """
    module, init = (IMPORT_INIT_DEFAULTS if defaults else IMPORT_INIT)[sdk]
    return IMPORT_SNIPPET.format(module=module, init=init.format(dsn=dsn), frameworks=FRAMEWORKS)


def dead_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return float("nan")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _batch_size(fn: Callable[[], Any], per_batch: int, budget_s: float = 0.02) -> int:
    """``per_batch`` calls, or fewer for a slow call, so that one batch takes about ``budget_s``."""
    clock = time.perf_counter
    started = clock()
    for _ in range(10):
        fn()
    each = (clock() - started) / 10
    return max(10, min(per_batch, int(budget_s / each) if each > 0 else per_batch))


def _per_call_us(fn: Callable[[], Any], batches: int, per_batch: int) -> list[float]:
    """Time ``batches`` runs of ``per_batch`` calls; microseconds per call for each batch."""
    out = []
    clock = time.perf_counter
    for _ in range(batches):
        started = clock()
        for _ in range(per_batch):
            fn()
        out.append((clock() - started) / per_batch * 1e6)
    return out


# -- 2. capture_exception caller-thread latency -------------------------------------------------


def capture(sdk: str, port: int = 0, n: int = 1000, pause_us: int = 1000, warmup: int = 50) -> Result:
    """Latency of ``capture_exception`` on the calling thread while the worker delivers.

    Events arrive ``pause_us`` apart (a sleep between captures) so the background worker has time
    to deliver: what is measured is what an application thread pays, not the queue's backlog.
    """
    a = adapter(sdk)
    a.init(dsn_for(port), queue_size=n + warmup + 10)
    a.prepare()
    for _ in range(warmup):
        a.capture_exception(make_exception())
    a.flush(30)
    control(port, "POST", "/reset")
    pause = pause_us / 1e6
    clock = time.perf_counter
    samples = []
    for _ in range(n):
        exc = make_exception()
        started = clock()
        a.capture_exception(exc)
        samples.append((clock() - started) * 1e6)
        time.sleep(pause)
    a.flush(60)
    delivered = control(port, "GET", "/stats")["events"]
    samples.sort()
    return {
        "p50_us": _percentile(samples, 0.5),
        "p99_us": _percentile(samples, 0.99),
        "mean_us": sum(samples) / len(samples),
        "n": n,
        "delivered": delivered,
    }


# -- 3. add_breadcrumb ----------------------------------------------------------------------------


def breadcrumbs(sdk: str, port: int = 0, batches: int = 40, per_batch: int = 2000) -> Result:
    a = adapter(sdk)
    a.init(dsn_for(port))
    a.prepare()
    crumb = breadcrumb(7)
    add = a.sdk.add_breadcrumb  # the public function, as an application calls it

    def call() -> None:
        add(crumb)

    _per_call_us(call, 3, per_batch)  # warm-up
    per_call = _per_call_us(call, batches, per_batch)
    return {"us": _median(per_call), "min_us": min(per_call)}


# -- 4. end-to-end delivered events per second ------------------------------------------------------


def throughput(sdk: str, port: int = 0, n: int = 2000, warmup: int = 20) -> Result:
    """Capture ``n`` events back to back, flush, and count what the receiver got.

    Both queues hold ``n`` so that neither SDK drops: the number measures how fast each pipeline
    turns exceptions into delivered envelopes, caller thread and worker together.
    """
    a = adapter(sdk)
    a.init(dsn_for(port), queue_size=n)
    a.prepare()
    for _ in range(warmup):
        a.capture_exception(make_exception())
    a.flush(30)
    control(port, "POST", "/reset")
    gc.collect()
    started_wall = time.time()
    started = time.perf_counter()
    for _ in range(n):
        a.capture_exception(make_exception())
    captured_s = time.perf_counter() - started
    a.flush(300)
    flushed_wall = time.time()
    stats = control(port, "GET", "/stats")
    deadline = time.monotonic() + 10
    while stats["events"] < n and time.monotonic() < deadline:  # flush returned early: keep counting
        time.sleep(0.01)
        stats = control(port, "GET", "/stats")
    end = max(flushed_wall, stats["last"]) if stats["events"] else flushed_wall
    elapsed = end - started_wall
    return {
        "events_per_s": stats["events"] / elapsed if elapsed > 0 else 0.0,
        "delivered": stats["events"],
        "n": n,
        "seconds": elapsed,
        "capture_loop_s": captured_s,
        "bytes_per_envelope": stats["bytes"] / max(1, stats["requests"]),
    }


# -- 4b. a burst with default queue sizes: losses, CPU per capture, caller tail latency -------------


def burst(sdk: str, port: int = 0, n: int = 2000, sized: int = 0, warmup: int = 20) -> Result:
    """``n`` captures in a tight loop against the healthy receiver, as a new user would: defaults.

    ``sized=0``: each SDK's default queue (how many of the burst arrive). ``sized=1``: both queues
    hold ``n``, so everything is delivered and CPU per capture compares equal work. The exceptions
    are raised before timing starts; the process CPU time (user + system, every thread) runs from
    the first capture until the last event has arrived. Each call is timed on the caller thread.
    """
    a = adapter(sdk)
    a.init(dsn_for(port), queue_size=n if sized else None)
    a.prepare()
    for _ in range(warmup):
        a.capture_exception(make_exception())
    a.flush(30)
    control(port, "POST", "/reset")
    excs = [make_exception() for _ in range(n)]
    gc.collect()
    clock = time.perf_counter
    samples = []
    cpu_started = time.process_time()
    started = clock()
    for exc in excs:
        t0 = clock()
        a.capture_exception(exc)
        samples.append((clock() - t0) * 1e6)
    loop_s = clock() - started
    a.flush(300)
    stats = control(port, "GET", "/stats")
    deadline = time.monotonic() + 5
    while stats["events"] < n and time.monotonic() < deadline:  # flush returned early: keep counting
        time.sleep(0.02)
        stats = control(port, "GET", "/stats")
    cpu_s = time.process_time() - cpu_started
    samples.sort()
    return {
        "delivered": stats["events"],
        "n": n,
        "sized": sized,
        "cpu_us_per_capture": cpu_s / n * 1e6,
        "max_us": samples[-1],
        "p999_us": _percentile(samples, 0.999),
        "p99_us": _percentile(samples, 0.99),
        "p50_us": _percentile(samples, 0.5),
        "loop_s": loop_s,
    }


# -- 5. per-request / per-task overhead --------------------------------------------------------------


_FRAMEWORK_MODULES = {"fastapi": "starlette"}


def web(
    sdk: str, framework: str = "flask", port: int = 0, batches: int = 30, per_batch: int = 200, warmup: int = 300
) -> Result:
    """Time one trivial request (or eager task) with no SDK (``sdk=none``) or with one SDK's integration."""
    from benchmarks._webapps import APPS, INTEGRATION_IDS

    installed: list[str] = []
    if sdk != "none":
        # The framework is imported first, as in an application: our integrations install when it is.
        importlib.import_module(_FRAMEWORK_MODULES.get(framework, framework))
        a = adapter(sdk)
        chosen = a.integration(framework)
        a.init(dsn_for(port), integrations=chosen if isinstance(chosen, list) else [chosen])
        installed = a.installed_integrations()
        if INTEGRATION_IDS.get(framework, framework) not in installed:
            raise RuntimeError(f"{sdk}: the {framework} integration is not active ({installed})")
    request = APPS[framework]()
    for _ in range(warmup):
        request()
    gc.collect()
    per_call = _per_call_us(request, batches, per_batch)
    return {"us": _median(per_call), "min_us": min(per_call), "integrations": installed}


# -- 6. scrubbing cost per event ------------------------------------------------------------------------


class _Grab:
    """A transport that keeps the event payloads (our SDK, scrubbing off: the pre-scrub event)."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def send(self, envelope: Any) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.payloads.append(item.payload)

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float) -> None:
        return None


def pre_scrub_event() -> dict[str, Any]:
    """The benchmark event exactly as our pipeline hands it to the scrubber (normalised, JSON-safe)."""
    import logging

    import orjson

    import sdk_core

    logging.getLogger("sdk_core").setLevel(logging.ERROR)  # "scrubbing is switched off" is intended
    grab = _Grab()
    sdk_core.init(transport=grab, scrubbing=False, default_integrations=False, environment="bench")
    sdk_core.get_isolation_scope().add_event_processor(request_processor)
    for i in range(BREADCRUMBS):
        sdk_core.add_breadcrumb(breadcrumb(i))
    sdk_core.capture_exception(make_exception())
    sdk_core.flush(10)
    sdk_core.close(1)
    event: dict[str, Any] = orjson.loads(grab.payloads[0])
    return event


def varied_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``bench_scrub.py``'s varied events (a colleague's generator), as JSON-safe dicts."""
    import random

    from benchmarks import bench_scrub

    rng = random.Random(seed)
    pool = bench_scrub._code_pool(rng)
    return [json.loads(json.dumps(bench_scrub.make_event(rng, pool))) for _ in range(n)]


def scrub(sdk: str, n: int = 2000, events: str = "suite") -> Result:
    """Scrub one copy of a pre-scrub event per call (copies made before timing starts).

    Ours: the compiled default engine, ``engine.scrub_in_place`` (keys, paths and values), what the
    worker runs. sentry-sdk: ``EventScrubber().scrub_event`` (its default denylist, keys only).
    ``events=suite``: the suite's event (as our pipeline hands it to the scrubber), ``n`` copies;
    ``events=bench_scrub``: ``n`` different events from ``benchmarks/bench_scrub.py``'s generator.
    """
    import copy

    if events == "bench_scrub":
        originals = varied_events(n)
    else:
        event = pre_scrub_event()
        originals = [event] * n
    if sdk == "ours":
        import scrubbers

        engine = scrubbers.compile_rules(scrubbers.DEFAULT)
        fn: Callable[[Any], Any] = engine.scrub_in_place
    else:
        from sentry_sdk.scrubber import EventScrubber

        fn = EventScrubber().scrub_event
    for ev in originals[:20]:  # warm caches (both engines cache per key)
        fn(copy.deepcopy(ev))
    copies = [copy.deepcopy(ev) for ev in originals]
    gc.collect()
    samples = []
    clock = time.perf_counter
    for ev in copies:
        started = clock()
        fn(ev)
        samples.append((clock() - started) * 1e6)
    mean = sum(samples) / len(samples)
    samples.sort()
    return {"us": _percentile(samples, 0.5), "mean_us": mean, "p99_us": _percentile(samples, 0.99)}


# -- 7. peak RSS in an event storm with the endpoint down ------------------------------------------------


def storm(sdk: str, n: int = 100_000, max_seconds: float = 0.0, warmup: int = 50) -> Result:
    """Capture ``n`` events as fast as possible to a DSN whose port refuses connections.

    Default queue sizes (the point is what each SDK holds on to when it cannot deliver). RSS growth
    is the peak resident set (VmHWM, reset after warm-up) minus the resident set before the storm.
    ``max_seconds`` (0: none) stops the storm early; ``captured`` then says how far it got, and
    ``trace`` (RSS growth every n/20 events) shows whether the growth had levelled off.
    """
    a = adapter(sdk)
    a.init(dsn_for(dead_port()))
    a.prepare()
    for _ in range(warmup):
        a.capture_exception(make_exception())
    a.flush(2.0)  # both SDKs finish the warm-up's one-time work (imports, compiled rules) first
    from array import array

    latencies = array("d", bytes(8 * n))  # allocated before the baseline: no per-sample objects
    gc.collect()
    before = rss_kib()
    peak_reset = reset_peak_rss()
    started = time.perf_counter()
    deadline = started + max_seconds if max_seconds > 0 else float("inf")
    peak_sampled = before["rss"]
    trace: list[tuple[int, float]] = []
    every = max(1000, n // 20 // 1000 * 1000)
    captured = 0
    clock = time.perf_counter
    for i in range(n):
        exc = make_exception()
        t0 = clock()
        a.capture_exception(exc)
        latencies[i] = clock() - t0
        captured = i + 1
        if captured % 1000 == 0:
            now = rss_kib()
            peak_sampled = max(peak_sampled, now["rss"])
            if captured % every == 0:
                trace.append((captured, round((now["rss"] - before["rss"]) / 1024, 1)))
            if time.perf_counter() > deadline:
                break
    elapsed = time.perf_counter() - started
    after = rss_kib()
    timed = sorted(latencies[:captured])
    peak = max(after["hwm"] if peak_reset else 0, peak_sampled, after["rss"])
    return {
        "growth_mib": (peak - before["rss"]) / 1024,
        "rss_before_mib": before["rss"] / 1024,
        "peak_mib": peak / 1024,
        "end_growth_mib": (after["rss"] - before["rss"]) / 1024,
        "events_per_s": captured / elapsed,
        "seconds": elapsed,
        "n": n,
        "captured": captured,
        "trace": trace,
        "hwm_reset": peak_reset,
        "max_us": timed[-1] * 1e6 if timed else float("nan"),
        "p999_us": _percentile(timed, 0.999) * 1e6,
    }


# -- 8. cost of a call when the SDK is not initialised -----------------------------------------------


def noinit(sdk: str, batches: int = 20, per_batch: int = 2000) -> Result:
    a = adapter(sdk)
    module = a.sdk
    exc = make_exception()
    crumb = breadcrumb(1)
    capture_exception = module.capture_exception
    add_breadcrumb = module.add_breadcrumb
    set_tag = module.set_tag
    out: Result = {}
    for name, fn in (
        ("capture_exception", lambda: capture_exception(exc)),
        ("add_breadcrumb", lambda: add_breadcrumb(crumb)),
        ("set_tag", lambda: set_tag("feature", "checkout")),
    ):
        size = _batch_size(fn, per_batch)
        _per_call_us(fn, 2, size)
        out[f"{name}_us"] = _median(_per_call_us(fn, batches, size))
    return out


SCENARIOS: dict[str, Callable[..., Result]] = {
    "capture": capture,
    "breadcrumbs": breadcrumbs,
    "throughput": throughput,
    "burst": burst,
    "web": web,
    "scrub": scrub,
    "storm": storm,
    "noinit": noinit,
}


def _parse(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in SCENARIOS:
        sys.stderr.write(f"usage: python -m benchmarks.scenarios {{{','.join(SCENARIOS)}}} SDK [key=value ...]\n")
        return 2
    name, sdk = argv[0], argv[1]
    params = {}
    for arg in argv[2:]:
        key, _, value = arg.partition("=")
        params[key] = _parse(value)
    if name not in ("web",) and sdk == "none":
        sys.stderr.write("sdk 'none' is only a baseline for the web scenario\n")
        return 2
    result = SCENARIOS[name](sdk, **params)
    result["pid"] = os.getpid()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # skip the SDKs' exit-time flushes: they are not part of any measurement
