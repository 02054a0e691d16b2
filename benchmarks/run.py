"""Run every scenario for both SDKs, alternating, and write the report (``make bench``)::

    python -m benchmarks.run            # full run, ~10 minutes; also updates benchmarks/REPORT.md + ratios.png
    python -m benchmarks.run --quick    # ~2 minutes, writes benchmarks/results/ only

Each sample is a fresh subprocess (``python -m benchmarks.scenarios ...``); within a round the
SDKs take turns and the order flips every round; values are medians over the rounds. The report
(Markdown table, raw JSON, a PNG chart of the ratios) goes to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from benchmarks._png import Bar, bar_chart
from benchmarks._receiver import Receiver, ceiling, dsn_for
from benchmarks.scenarios import dead_port, import_snippet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
SDKS = ("ours", "sentry")
FRAMEWORKS = ("flask", "django", "celery", "fastapi", "aiohttp", "sqlalchemy")
# The integration module of a framework whose module is named after another library.
MODULES = {"fastapi": "starlette"}


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def clean_env() -> dict[str, str]:
    """The environment for the subprocesses: no DSNs or release/environment overrides leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "CODERADAR_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


# -- configuration ------------------------------------------------------------------------------------


@dataclass
class Plan:
    rounds: int
    import_reps: int
    capture_n: int
    capture_pause_us: int
    crumb_batches: int
    throughput_n: int
    burst_n: int
    web_batches: int
    web_per_batch: int
    scrub_n: int
    scrub_varied_n: int
    noinit_batches: int
    storm_n: int
    storm_max_s: float
    ceiling_s: float


FULL = Plan(
    rounds=5,
    import_reps=3,
    capture_n=1000,
    capture_pause_us=1000,
    crumb_batches=30,
    throughput_n=2000,
    burst_n=2000,
    web_batches=30,
    web_per_batch=200,
    scrub_n=2000,
    scrub_varied_n=400,
    noinit_batches=15,
    storm_n=100_000,
    storm_max_s=180.0,
    ceiling_s=2.0,
)
QUICK = Plan(
    rounds=3,
    import_reps=2,
    capture_n=300,
    capture_pause_us=1000,
    crumb_batches=10,
    throughput_n=600,
    burst_n=2000,
    web_batches=10,
    web_per_batch=200,
    scrub_n=500,
    scrub_varied_n=200,
    noinit_batches=8,
    storm_n=10_000,
    storm_max_s=30.0,
    ceiling_s=1.0,
)


# -- running samples ------------------------------------------------------------------------------------


@dataclass
class Sample:
    scenario: str
    sdk: str
    round: int
    result: dict[str, Any]
    seconds: float


@dataclass
class Store:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def values(self, scenario: str, sdk: str, key: str) -> list[float]:
        return [
            float(s.result[key])
            for s in self.samples
            if s.scenario == scenario and s.sdk == sdk and isinstance(s.result.get(key), (int, float))
        ]


def _parse_result(stdout: str) -> Optional[dict[str, Any]]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    return None


def run_sample(store: Store, scenario: str, sdk: str, rnd: int, argv: list[str], timeout: float) -> None:
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, *argv], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        store.errors.append(f"{scenario}/{sdk} round {rnd}: timed out after {timeout:.0f}s")
        log(f"  {scenario:<14} {sdk:<7} TIMEOUT")
        return
    elapsed = time.perf_counter() - started
    result = _parse_result(proc.stdout)
    if proc.returncode != 0 or result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        store.errors.append(f"{scenario}/{sdk} round {rnd}: exit {proc.returncode}: {' | '.join(tail)}")
        log(f"  {scenario:<14} {sdk:<7} FAILED ({' | '.join(tail)[-200:]})")
        return
    store.samples.append(Sample(scenario, sdk, rnd, result, elapsed))
    shown = ", ".join(f"{k}={v:.4g}" for k, v in result.items() if isinstance(v, float))[:110]
    log(f"  {scenario:<14} {sdk:<7} {elapsed:5.1f}s  {shown}")


def scenario_argv(name: str, sdk: str, **params: Any) -> list[str]:
    return ["-m", "benchmarks.scenarios", name, sdk, *(f"{k}={v}" for k, v in params.items())]


def integration_ready(framework: str) -> bool:
    """Our integration module exists (others are writing them: poll at every round)."""
    try:
        return importlib.util.find_spec(f"integrations.{MODULES.get(framework, framework)}") is not None
    except (ImportError, ValueError):
        return False


def external_module(name: str) -> Optional[str]:
    """``benchmarks/<name>.py`` if a colleague's script exists (bench_scrub, bench_reliability)."""
    path = os.path.join(HERE, f"{name}.py")
    return path if os.path.exists(path) else None


def external_api(name: str, functions: tuple[str, ...]) -> Optional[Any]:
    """The colleague's module if it exists and has ``functions`` (what the runner reuses), else None."""
    if external_module(name) is None:
        return None
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except Exception as exc:
        log(f"benchmarks/{name}.py does not import ({type(exc).__name__}: {exc}); using this suite's own scenario")
        return None
    if not all(callable(getattr(module, f, None)) for f in functions):
        log(f"benchmarks/{name}.py lacks {', '.join(functions)}; using this suite's own scenario")
        return None
    return module


def turn_order(items: tuple[str, ...], rnd: int) -> list[str]:
    """Rotate the order every round so no SDK always runs first (or last) in a round."""
    k = rnd % len(items)
    return list(items[k:] + items[:k])


def run_round(store: Store, plan: Plan, rnd: int, port: int, only: Optional[set[str]]) -> None:
    def wanted(name: str) -> bool:
        return only is None or name in only

    order = turn_order(SDKS, rnd)
    dead = dsn_for(dead_port())
    if wanted("import"):
        for _ in range(plan.import_reps):
            for sdk in order:
                run_sample(store, "import", sdk, rnd, ["-c", import_snippet(sdk, dead)], 60)
    if wanted("import") or wanted("import_defaults"):
        for _ in range(plan.import_reps):
            for sdk in order:
                argv = ["-c", import_snippet(sdk, dead, defaults=True)]
                run_sample(store, "import_defaults", sdk, rnd, argv, 120)
    if wanted("capture"):
        for sdk in order:
            argv = scenario_argv("capture", sdk, port=port, n=plan.capture_n, pause_us=plan.capture_pause_us)
            run_sample(store, "capture", sdk, rnd, argv, 240)
    if wanted("breadcrumbs"):
        for sdk in order:
            argv = scenario_argv("breadcrumbs", sdk, port=port, batches=plan.crumb_batches)
            run_sample(store, "breadcrumbs", sdk, rnd, argv, 120)
    if wanted("throughput"):
        for sdk in order:
            argv = scenario_argv("throughput", sdk, port=port, n=plan.throughput_n)
            run_sample(store, "throughput", sdk, rnd, argv, 300)
    if wanted("burst"):
        for sdk in order:
            run_sample(store, "burst", sdk, rnd, scenario_argv("burst", sdk, port=port, n=plan.burst_n), 300)
            argv = scenario_argv("burst", sdk, port=port, n=plan.burst_n, sized=1)
            run_sample(store, "burst_sized", sdk, rnd, argv, 300)
    for framework in FRAMEWORKS:
        key = f"web_{framework}"
        if not wanted(key) and not wanted("web"):
            continue
        if not integration_ready(framework):
            store.skipped[key] = f"integrations.{framework} does not exist yet"
            continue
        store.skipped.pop(key, None)
        for sdk in turn_order(("none", *SDKS), rnd):
            argv = scenario_argv(
                "web", sdk, framework=framework, port=port, batches=plan.web_batches, per_batch=plan.web_per_batch
            )
            run_sample(store, key, sdk, rnd, argv, 180)
    if wanted("scrub"):
        for sdk in order:
            run_sample(store, "scrub", sdk, rnd, scenario_argv("scrub", sdk, n=plan.scrub_n), 180)
        if external_api("bench_scrub", ("make_event", "_code_pool")) is not None:
            for sdk in order:
                argv = scenario_argv("scrub", sdk, n=plan.scrub_varied_n, events="bench_scrub")
                run_sample(store, "scrub_varied", sdk, rnd, argv, 180)
        else:
            store.skipped["scrub_varied"] = "benchmarks/bench_scrub.py (make_event) is not there"
    if wanted("noinit"):
        for sdk in order:
            run_sample(store, "noinit", sdk, rnd, scenario_argv("noinit", sdk, batches=plan.noinit_batches), 180)


def run_storm(store: Store, plan: Plan) -> None:
    """Both SDKs at once (2 cores): RSS growth does not depend on how fast the loop runs.

    While the suite's own storms run (time-boxed), ``bench_reliability.storm`` (a colleague's
    100,000-capture storm, if present) runs for each SDK in turn: RSS is not a timing measurement.
    """
    log(
        f"storm: {plan.storm_n:,} events per SDK (at most {plan.storm_max_s:.0f} s), endpoint down, "
        "both SDKs in parallel"
    )
    started = time.perf_counter()
    procs = {
        sdk: subprocess.Popen(
            [sys.executable, *scenario_argv("storm", sdk, n=plan.storm_n, max_seconds=plan.storm_max_s)],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for sdk in SDKS
    }
    reliability = external_api("bench_reliability", ("storm",))
    if reliability is None:
        store.skipped["storm_rel"] = "benchmarks/bench_reliability.py (storm) is not there"
    else:
        for sdk in SDKS:
            log(f"  bench_reliability.storm({sdk!r}, spool=False, n={plan.storm_n:,})")
            t0 = time.perf_counter()
            try:
                result = dict(reliability.storm(sdk, False, plan.storm_n, 2.0))
            except Exception as exc:
                store.errors.append(f"bench_reliability.storm/{sdk}: {type(exc).__name__}: {exc}")
                continue
            store.samples.append(Sample("storm_rel", sdk, 0, result, time.perf_counter() - t0))
            log(f"  storm_rel      {sdk:<7} growth {float(result.get('growth_mb', 0)):.1f} MiB")
    for sdk, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=plan.storm_max_s + 600)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            store.errors.append(f"storm/{sdk}: timed out")
            continue
        result = _parse_result(out)
        if proc.returncode != 0 or result is None:
            store.errors.append(f"storm/{sdk}: exit {proc.returncode}: {' | '.join(err.strip().splitlines()[-3:])}")
            continue
        store.samples.append(Sample("storm", sdk, 0, result, time.perf_counter() - started))
        log(
            f"  storm          {sdk:<7} growth {result['growth_mib']:.1f} MiB, "
            f"{result['captured']:,} events in {result['seconds']:.0f}s"
        )


# -- external scripts (colleagues' bench_scrub.py / bench_reliability.py) --------------------------------


def run_external(store: Store, name: str, quick: bool) -> Optional[dict[str, Any]]:
    """Run ``benchmarks/<name>.py`` if it exists and return what it reports, else None.

    The hook: ``python -m benchmarks.<name> --json [--quick]``, whose last stdout line is JSON. A
    script without that interface is run without arguments and its plain output (e.g. a Markdown
    table) goes into the report; the table rows always come from this suite's own scenarios.
    """
    if external_module(name) is None:
        return None
    log(f"external: benchmarks/{name}.py")
    attempts = [["--json", *(["--quick"] if quick else [])], []]
    proc = None
    for extra in attempts:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", f"benchmarks.{name}", *extra],
                cwd=ROOT,
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            store.errors.append(f"{name} {' '.join(extra)}: timed out")
            return None
        if proc.returncode == 2 and "unrecognized arguments" in proc.stderr:
            continue  # no JSON interface: run it plainly
        lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
        parsed: Any = None
        if extra and lines:
            try:
                parsed = json.loads(lines[-1])
            except ValueError:
                parsed = None
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            store.errors.append(f"{name}: exit {proc.returncode}: {tail}")
        command = " ".join(["python -m", f"benchmarks.{name}", *extra])
        return {"command": command, "json": parsed if isinstance(parsed, dict) else None, "stdout": proc.stdout}
    return None


# -- metrics ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    chart: str
    unit: str
    better: str  # "lower" or "higher"
    target: Optional[float]
    absolute: Optional[float] = None  # a bound on our own figure (same unit), checked besides the ratio
    ours: Optional[float] = None
    sentry: Optional[float] = None
    ratio: Optional[float] = None
    ours_text: str = ""
    sentry_text: str = ""
    note: str = ""
    spread: str = ""
    best_ratio: Optional[float] = None

    @property
    def met(self) -> Optional[bool]:
        if self.absolute is not None:
            if self.ours is None:
                return None
            return self.ours <= self.absolute if self.better == "lower" else self.ours >= self.absolute
        if self.target is None or self.ratio is None:
            return None
        return self.ratio <= self.target if self.better == "lower" else self.ratio >= self.target

    @property
    def target_text(self) -> str:
        if self.absolute is not None:
            return f"ours {'≤' if self.better == 'lower' else '≥'} {_fmt(self.absolute, self.unit)}"
        if self.target is None:
            return "—"
        return f"≤ {self.target:g}" if self.better == "lower" else f"≥ {self.target:g}x"

    @property
    def result_text(self) -> str:
        met = self.met
        if met is None:
            return "—" if self.target is None else "n/a"
        return "**met**" if met else "**MISSED**"


def _med(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def _fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 0.1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    return f"{min(values):.4g}..{max(values):.4g} (n={len(values)})"


def simple_row(
    store: Store,
    key: str,
    label: str,
    chart: str,
    unit: str,
    better: str,
    target: Optional[float],
    scenario: str,
    field_name: str,
) -> Row:
    row = Row(key, label, chart, unit, better, target)
    spreads = []
    for sdk in SDKS:
        values = store.values(scenario, sdk, field_name)
        med = _med(values)
        setattr(row, sdk, med)
        setattr(row, f"{sdk}_text", _fmt(med, unit))
        if values:
            spreads.append(f"{sdk} {_spread(values)}" if len(values) > 1 else f"{sdk} n=1")
    row.spread = "; ".join(spreads)
    if row.ours is not None and row.sentry:
        row.ratio = row.ours / row.sentry
    pick = min if better == "lower" else max
    ours_all, sentry_all = store.values(scenario, "ours", field_name), store.values(scenario, "sentry", field_name)
    if len(ours_all) > 1 and len(sentry_all) > 1 and pick(sentry_all):
        row.best_ratio = pick(ours_all) / pick(sentry_all)
    return row


def web_row(store: Store, framework: str, target: float) -> Row:
    key = f"web_{framework}"
    what = {"celery": "task", "sqlalchemy": "statement"}.get(framework, "request")
    label = {
        "flask": "Added time per request, trivial Flask view",
        "django": "Added time per request, trivial Django view",
        "celery": "Added time per Celery task (`task.apply()`)",
        "fastapi": "Added time per request, trivial FastAPI endpoint (ASGI callable)",
        "aiohttp": "Added time per request, trivial aiohttp handler (`Application._handle`)",
        "sqlalchemy": "Added time per SQLAlchemy statement (sqlite, `SELECT :order_id`)",
    }[framework]
    row = Row(key, label, f"{framework} added/{what}", "µs", "lower", target)
    if key in store.skipped:
        row.note = f"not run: {store.skipped[key]}"
        row.ours_text = row.sentry_text = "pending"
        return row
    base = _med(store.values(key, "none", "us"))
    ours = _med(store.values(key, "ours", "us"))
    sentry = _med(store.values(key, "sentry", "us"))
    if base is None or ours is None or sentry is None:
        row.ours_text = row.sentry_text = "n/a"
        return row
    row.ours, row.sentry = ours - base, sentry - base
    row.ours_text = f"+{row.ours:.1f} µs ({ours:.1f})"
    row.sentry_text = f"+{row.sentry:.1f} µs ({sentry:.1f})"
    row.note = f"baseline without an SDK {base:.1f} µs/{what}"
    if row.sentry > 0:
        row.ratio = max(row.ours, 0.0) / row.sentry
    row.spread = "; ".join(f"{sdk} {_spread(store.values(key, sdk, 'us'))}" for sdk in ("none", *SDKS))
    best = {sdk: min(store.values(key, sdk, "us")) for sdk in ("none", *SDKS)}
    if best["sentry"] > best["none"]:
        row.best_ratio = max(best["ours"] - best["none"], 0.0) / (best["sentry"] - best["none"])
    return row


# key, label, chart label, unit, better, target, scenario, result field
SIMPLE_ROWS: tuple[tuple[str, str, str, str, str, Optional[float], str, str], ...] = (
    ("import", "Import time of the package", "import", "ms", "lower", 0.5, "import", "import_ms"),
    ("init", "`init()` time", "init()", "ms", "lower", None, "import", "init_ms"),
    ("import_init", "Import + `init()`", "import + init", "ms", "lower", None, "import", "import_init_ms"),
    ("import_init_defaults", "Import + `init()` with default integrations (frameworks installed, not imported)",
     "import + init (defaults)", "ms", "lower", 0.1, "import_defaults", "import_init_ms"),
    ("capture_p50", "`capture_exception` caller latency p50", "capture p50", "µs", "lower", 0.33, "capture", "p50_us"),
    ("capture_p99", "`capture_exception` caller latency p99", "capture p99", "µs", "lower", 0.33, "capture", "p99_us"),
    ("breadcrumb", "`add_breadcrumb` latency", "add_breadcrumb", "µs", "lower", 0.5, "breadcrumbs", "us"),
    ("throughput", "Delivered events/s to a loopback receiver", "events/s (higher=better)", "ev/s", "higher", 3.0,
     "throughput", "events_per_s"),
    ("burst_delivered", "Burst of 2,000 captures, default queues: delivered", "burst delivered (higher=better)",
     "events", "higher", None, "burst", "delivered"),
    ("burst_cpu", "CPU per capture, 2,000-capture burst, all delivered (caller + worker)", "burst CPU/capture", "µs",
     "lower", 0.33, "burst_sized", "cpu_us_per_capture"),
    ("burst_max", "Burst: longest `capture_exception` call", "burst max call", "µs", "lower", None, "burst",
     "max_us"),
    ("burst_p999", "Burst: `capture_exception` p99.9", "burst p99.9", "µs", "lower", None, "burst", "p999_us"),
    ("scrub", "Scrubbing cost per event (the suite's event, median)", "scrub/event", "µs", "lower", 2.0, "scrub",
     "us"),
    ("scrub_varied", "Scrubbing cost per event (`bench_scrub.py`'s varied events, mean)", "scrub/event (varied)", "µs",
     "lower", 2.0, "scrub_varied", "mean_us"),
    ("storm_rel", "Peak RSS growth, storm, endpoint down (`bench_reliability.py`: 90% messages, 10% exceptions)",
     "storm RSS (reliability)", "MiB", "lower", 0.5, "storm_rel", "growth_mb"),
    ("storm", "Peak RSS growth, storm, endpoint down (the suite's event)", "storm RSS (suite event)", "MiB", "lower",
     0.5, "storm", "growth_mib"),
    ("storm_max", "Storm (suite event): longest `capture_exception` call", "storm max call", "µs", "lower", None,
     "storm", "max_us"),
    ("storm_p999", "Storm (suite event): `capture_exception` p99.9", "storm p99.9", "µs", "lower", None, "storm",
     "p999_us"),
    ("noinit_capture", "Not initialised: `capture_exception`", "no init: capture", "µs", "lower", None, "noinit",
     "capture_exception_us"),
    ("noinit_crumb", "Not initialised: `add_breadcrumb`", "no init: breadcrumb", "µs", "lower", None, "noinit",
     "add_breadcrumb_us"),
    ("noinit_tag", "Not initialised: `set_tag`", "no init: set_tag", "µs", "lower", None, "noinit", "set_tag_us"),
)  # fmt: skip


ABSOLUTE = {
    "burst_delivered": 2000.0,
    "burst_max": 10_000.0,
    "burst_p999": 1000.0,
    "storm_max": 10_000.0,
    "storm_p999": 1000.0,
}
"""Rows whose target is a bound on our own figure (issue 18), not a ratio."""


def build_rows(store: Store) -> list[Row]:
    for sample in store.samples:
        if sample.scenario in ("import", "import_defaults"):
            sample.result["import_init_ms"] = float(sample.result["import_ms"]) + float(sample.result["init_ms"])
    rows = {spec[0]: simple_row(store, *spec) for spec in SIMPLE_ROWS}
    for key, bound in ABSOLUTE.items():
        rows[key].absolute = bound
    for key, why in store.skipped.items():
        if key in rows:
            rows[key].note = f"not run: {why}"
            rows[key].ours_text = rows[key].sentry_text = "pending"
    for framework in FRAMEWORKS:
        rows[f"web_{framework}"] = web_row(store, framework, 0.5)
    rel = {s.sdk: s.result for s in store.samples if s.scenario == "storm_rel"}
    if rel:
        n = max(int(r.get("captured", 0)) for r in rel.values())
        rows["storm_rel"].label = rows["storm_rel"].label.replace("storm,", f"{n:,}-capture storm,")
    storm = {s.sdk: s.result for s in store.samples if s.scenario == "storm"}
    if storm:
        n = max(int(r["n"]) for r in storm.values())
        rows["storm"].label = rows["storm"].label.replace("storm,", f"{n:,}-event storm,")
        short = [f"{sdk} stopped after {r['captured']:,} events" for sdk, r in storm.items() if r["captured"] < r["n"]]
        if short:
            rows["storm"].note = "time limit reached: " + ", ".join(short) + " (see Details: RSS had levelled off)"
    order = [spec[0] for spec in SIMPLE_ROWS]
    order[order.index("scrub") : order.index("scrub")] = [f"web_{fw}" for fw in FRAMEWORKS]
    return [rows[key] for key in order]


# -- report ------------------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


def render_report(
    rows: list[Row], store: Store, meta: dict[str, Any], externals: dict[str, Any], profiles: dict[str, str]
) -> str:
    out: list[str] = []
    w = out.append
    w("# CodeRadar SDK vs sentry-sdk: side-by-side benchmark\n")
    w(
        f"Generated by `python -m benchmarks.run{' --quick' if meta['quick'] else ''}` on {meta['date']} "
        f"in {meta['wall_s'] / 60:.1f} min. Python {meta['python']}, sentry-sdk {meta['sentry_version']}, "
        f"coderadar-sdk {meta['ours_version']}; {meta['cpus']} CPUs, load average {meta['load_before']} before and "
        f"{meta['load_after']} after. {meta['rounds']} rounds, every sample a fresh process, SDKs alternating "
        "(order flipped each round); the values are medians over the rounds.\n"
    )
    c = meta.get("ceiling") or {}
    if c:
        w(
            f"Loopback receiver ceiling: **{c['events_per_s']:,.0f} envelopes/s** (one raw-socket keep-alive client, "
            f"{c['body_bytes']:,}-byte gzip envelopes, receiver in its own process); both SDKs' delivery rates below "
            "are far under it, so the receiver is not the bottleneck.\n"
        )
    w("| # | metric | ours | sentry-sdk | ratio ours / sentry | target | result |")
    w("|---|---|---|---|---|---|---|")
    numbers = {
        "import": "1",
        "init": "1",
        "import_init": "1",
        "import_init_defaults": "1",
        "capture_p50": "2",
        "capture_p99": "2",
        "breadcrumb": "3",
        "throughput": "4",
        "burst_delivered": "4b",
        "burst_cpu": "4b",
        "burst_max": "4b",
        "burst_p999": "4b",
        "storm_max": "7",
        "storm_p999": "7",
        "web_flask": "5",
        "web_django": "5",
        "web_celery": "5",
        "web_fastapi": "5",
        "web_aiohttp": "5",
        "web_sqlalchemy": "5",
        "scrub": "6",
        "scrub_varied": "6",
        "storm_rel": "7",
        "storm": "7",
        "noinit_capture": "8",
        "noinit_crumb": "8",
        "noinit_tag": "8",
    }
    for row in rows:
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.3g}"
        if row.ratio is not None and row.better == "higher":
            ratio += "x"
        w(
            f"| {numbers.get(row.key, '')} | {row.label} | {row.ours_text} | {row.sentry_text} | {ratio} | "
            f"{row.target_text} | {row.result_text} |"
        )
    met = [r for r in rows if r.met is True]
    missed = [r for r in rows if r.met is False]
    w("")
    w(
        f"Targets met: {len(met)}; missed: {len(missed)}"
        + (f" ({', '.join(r.chart for r in missed)})." if missed else ".")
    )
    w("")
    w("![ratios](ratios.png)\n")
    w("## Notes per row\n")
    for row in rows:
        best = f"ratio of the best samples {row.best_ratio:.3g}" if row.best_ratio is not None else ""
        bits = [b for b in (row.note, f"spread over rounds: {row.spread}" if row.spread else "", best) if b]
        if bits:
            w(f"- **{row.chart}**: {'; '.join(bits)}")
    w("")
    extra = _details(store)
    if extra:
        w("## Details\n")
        out.extend(extra)
        w("")
    w("## Colleagues' scripts\n")
    reused = {
        "bench_scrub": ("scrub_varied", "row 6 (varied events) uses its event generator (`make_event`)"),
        "bench_reliability": ("storm_rel", "row 7 (reliability storm) calls its `storm(sdk, spool=False, n)`"),
    }
    for name, (scenario, how) in reused.items():
        if any(s.scenario == scenario for s in store.samples):
            w(f"- `benchmarks/{name}.py`: {how}.")
        else:
            w(f"- `benchmarks/{name}.py`: not reused in this run ({store.skipped.get(scenario, 'not run')}).")
    w(
        "- `python -m benchmarks.bench_reliability` also times `close()` against a refusing and a hung endpoint "
        "and the `spool_dir` variant; not part of this run (it takes minutes)."
    )
    for name, data in externals.items():
        if data is not None:
            w(f"- `benchmarks/{name}.py` was run as `{data['command']}`; its output:")
            w("")
            if data.get("json"):
                w("```json")
                w(json.dumps(data["json"], indent=2)[-4000:])
                w("```")
            else:
                w(_indent_markdown(data.get("stdout", "").strip()[-4000:]))
    w("")
    if profiles:
        w("## Profiles of the missed targets (our SDK)\n")
        for key, text in profiles.items():
            w(f"### {key}\n")
            w("```")
            w(text.strip())
            w("```")
            w("")
    if store.errors:
        w("## Errors during the run\n")
        for e in store.errors:
            w(f"- {e}")
        w("")
    w("## How it was measured\n")
    w(METHOD)
    return "\n".join(out) + "\n"


def _indent_markdown(text: str) -> str:
    """Another script's Markdown output, as a quoted block under a list item."""
    return "\n".join(f"  > {line}" if line else "  >" for line in text.splitlines())


def _details(store: Store) -> list[str]:
    lines = []
    for sdk in SDKS:
        imp = [s.result for s in store.samples if s.scenario == "import_defaults" and s.sdk == sdk]
        if imp:
            loaded = sorted({m for r in imp for m in r.get("frameworks", [])})
            lines.append(f"- import + init with defaults, {sdk}: frameworks imported: {', '.join(loaded) or 'none'}")
    for sdk in SDKS:
        tp = [s.result for s in store.samples if s.scenario == "throughput" and s.sdk == sdk]
        if tp:
            delivered = [r["delivered"] for r in tp]
            n = tp[0]["n"]
            lines.append(
                f"- throughput, {sdk}: delivered {min(delivered)}..{max(delivered)} of {n} per sample; caller loop "
                f"{statistics.median([r['capture_loop_s'] for r in tp]):.2f} s, until last delivery "
                f"{statistics.median([r['seconds'] for r in tp]):.2f} s; "
                f"{statistics.median([r['bytes_per_envelope'] for r in tp]):,.0f} bytes per envelope (gzip)"
            )
    for sdk in SDKS:
        cap = [s.result for s in store.samples if s.scenario == "capture" and s.sdk == sdk]
        if cap:
            lines.append(
                f"- capture, {sdk}: mean {statistics.median([r['mean_us'] for r in cap]):.0f} µs; delivered "
                f"{min(r['delivered'] for r in cap)}..{max(r['delivered'] for r in cap)} of {cap[0]['n']} per sample"
            )
    for sdk in SDKS:
        st = [s.result for s in store.samples if s.scenario == "storm" and s.sdk == sdk]
        for r in st:
            trace = ", ".join(f"{n // 1000}k: {g:.1f}" for n, g in r.get("trace", []))
            stopped = "" if r["captured"] >= r["n"] else f" (stopped by the time limit of the run, not {r['n']:,})"
            lines.append(
                f"- storm, {sdk}: RSS {r['rss_before_mib']:.1f} MiB before, peak {r['peak_mib']:.1f} MiB, "
                f"{r['end_growth_mib']:.1f} MiB above the start at the end; {r['captured']:,} captures{stopped} "
                f"at {r['events_per_s']:,.0f}/s (both SDKs ran at once: not a speed comparison). "
                f"RSS growth in MiB after N events: {trace}"
            )
    for sdk in SDKS:
        for r in [s.result for s in store.samples if s.scenario == "storm_rel" and s.sdk == sdk]:
            reported = ", ".join(f"{k} {v:,}" for k, v in sorted(r.get("reported", {}).items())) or "none"
            lines.append(
                f"- bench_reliability storm, {sdk}: {r.get('captured', 0):,} captures in {r.get('loop_s', 0):.1f} s, "
                f"growth {r.get('growth_mb', 0):.1f} MiB; after recovery {r.get('delivered', 0):,} delivered, "
                f"discards reported: {reported}"
            )
    for sdk in SDKS:
        sc = [s.result for s in store.samples if s.scenario == "scrub" and s.sdk == sdk]
        if sc:
            lines.append(f"- scrub, {sdk}: p99 {statistics.median([r['p99_us'] for r in sc]):.0f} µs per event")
    return lines


METHOD = """\
Both SDKs run with the same options: DSN pointing at the loopback receiver, default integrations
off (plus only the framework integration a scenario needs), `include_local_variables=True`,
`send_default_pii=False`, `sample_rate=1.0`, source context on (both defaults). sentry-sdk also gets
`auto_session_tracking=False`: release-health sessions have no counterpart in our SDK. Everything
else is each SDK's default; in particular sentry-sdk compresses with gzip level 9 (brotli is not
installed), ours with gzip level 1.

The event (`benchmarks/_workload.py`): an exception raised 5 frames deep with 3 to 8 local
variables per frame (strings, numbers, dicts, an object with a `repr`, an API key, a card number),
30 breadcrumbs on the scope, and request data (method, URL, query string, headers with
`Authorization` and `Cookie`, cookies, a JSON body with a password, a card number and an e-mail)
attached by a scope event processor, the same function for both SDKs.

1. **Import / init**: `python -c` in a fresh process times `import sdk_core` / `import sentry_sdk`,
   then `init(...)`, with `time.perf_counter()` inside the process (interpreter start-up excluded).
   The "with default integrations" row runs `init(dsn)` with each SDK's defaults instead (for
   sentry-sdk also its auto-enabling integrations), with Django, Flask, Celery, FastAPI,
   SQLAlchemy, aiohttp, redis and RQ installed but not imported by the script: what a plain script
   or CLI tool pays. Ours installs framework integrations when the framework is imported.
2. **capture_exception latency**: each call timed on the calling thread, one capture per
   millisecond (a sleep between captures) while the worker delivers to the receiver; p50 and p99
   over all captures of a sample. Ours snapshots frames and locals and merges the scope on the
   caller; normalising, scrubbing, `before_send`, serialisation and gzip run on the worker.
   sentry-sdk builds, scrubs and serialises the event on the caller and compresses on its worker.
3. **add_breadcrumb**: the public function, batches of 2,000 calls, median µs per call.
4b. **Burst**: 2,000 captures in a tight loop against the healthy receiver (exceptions raised
   before timing), each call timed. With each SDK's default queue: how many arrive, the longest
   call and p99.9 (issue 18 bounds ours at 2,000 delivered, 10 ms and 1 ms). With both queues
   sized 2,000 (all delivered): process CPU time (user + system, every thread) from the first
   capture to the last arrival, divided by 2,000.
4. **Delivered events/s**: capture N events back to back (both queues sized N: `max_queue_size` /
   `transport_queue_size`, so nothing is dropped), flush, and count the envelopes with an event item
   that reached the receiver; N / (time of the last arrival - start). The receiver is a separate
   asyncio process (HTTP/1.1 keep-alive, gzip bodies, `200 {}`); its ceiling is measured first with a
   raw-socket client.
5. **Per request / per task**: the WSGI callable is called directly with a prebuilt environ (GET
   with browser-like headers, an `Authorization` header and cookies), the view returns `"ok"`;
   Django runs `SecurityMiddleware` and `CommonMiddleware`; Celery runs `task.apply()` (eager, through
   Celery's tracer and signals). Baseline without any SDK, then each SDK with its integration; the
   ratio is (ours - baseline) / (sentry - baseline).
6. **Scrubbing**: ours `scrubbers.compile_rules(scrubbers.DEFAULT).scrub_in_place` (key, path and
   value rules, what our worker runs), sentry-sdk `EventScrubber().scrub_event` (its default key
   denylist, what its caller runs), each on fresh deep copies made before timing: (a) the suite's
   event as our pipeline hands it to the scrubber (normalised), median per call; (b) 400 different
   events from `bench_scrub.py`'s generator (varied frames, SQL/HTTP/log breadcrumbs, user, tags),
   mean per event.
7. **Storm**, endpoint down (a port that refuses connections), default queue sizes; growth = peak
   RSS (`VmHWM`, reset after warm-up via `/proc/self/clear_refs`, and `VmRSS` sampled) minus RSS
   before the storm: (a) `bench_reliability.storm()`: 100,000 captures, 90% `capture_message`, 10%
   `capture_exception` with two locals, then the endpoint comes back and the SDK flushes; (b) the
   suite's event, 100,000 captures or 180 s, whichever comes first, both SDKs at once (one per core:
   memory does not depend on speed); the RSS trace in Details shows whether growth had levelled off.
8. **Not initialised**: the public functions without `init`, batches of 2,000 calls.

The machine has 2 cores and is shared with other work, so single samples are noisy: look at the
spread per row; medians over alternating fresh processes are what the ratios use. "Ratio of the
best samples" (fastest sample of each SDK; for the web rows the fastest of each, baseline included)
is a cross-check that is less sensitive to bursts of load from other processes.
"""


def chart_bars(rows: list[Row]) -> list[Bar]:
    bars = []
    for row in rows:
        if row.key.startswith("noinit") or row.key in ("init", "import_init"):
            continue
        note = "" if row.ratio is not None else ("PENDING" if row.ours_text == "pending" else "N/A")
        bars.append(Bar(row.chart, row.ratio, row.target, row.met, note))
    return bars


# -- main ------------------------------------------------------------------------------------------------


def _tracing_section() -> str:
    """The section ``bench_tracing.py`` publishes into REPORT.md (kept when this run rewrites it)."""
    from benchmarks.bench_tracing import REPORT, SECTION

    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    start = text.find(SECTION)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end + 1 if end >= 0 else len(text)]


def _keep_tracing_section(section: str) -> None:
    if section:
        from benchmarks.bench_tracing import publish as publish_tracing

        publish_tracing(section)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and events (~2 minutes)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument(
        "--only",
        help="comma-separated scenarios: import,import_defaults,capture,breadcrumbs,throughput,burst,web,scrub,storm,"
        "noinit",
    )
    parser.add_argument("--storm-events", type=int, help="events in the storm (default 100,000; 10,000 with --quick)")
    parser.add_argument("--no-profile", action="store_true", help="do not profile the missed targets")
    parser.add_argument(
        "--publish",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="copy the report to benchmarks/REPORT.md and ratios.png (default: on for a full run)",
    )
    parser.add_argument("--out", default=RESULTS, help="output folder (default benchmarks/results)")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan.rounds = args.rounds
    if args.storm_events:
        plan.storm_n = args.storm_events
    only = set(args.only.split(",")) if args.only else None
    publish = args.publish if args.publish is not None else (not args.quick and only is None)
    tracing_section = _tracing_section()
    profile = not args.no_profile and not args.quick
    os.makedirs(args.out, exist_ok=True)

    started = time.perf_counter()
    meta: dict[str, Any] = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "quick": args.quick,
        "rounds": plan.rounds,
        "python": platform.python_version(),
        "sentry_version": _version("sentry-sdk"),
        "ours_version": _version("coderadar-sdk"),
        "cpus": os.cpu_count(),
        "load_before": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "plan": plan.__dict__,
    }
    store = Store()
    externals: dict[str, Any] = {}
    if only is None or "throughput" in only:
        log(f"receiver ceiling ({plan.ceiling_s:.0f} s)")
        meta["ceiling"] = ceiling(plan.ceiling_s)
        log(f"  {meta['ceiling']['events_per_s']:,.0f} envelopes/s")
    with Receiver() as receiver:
        for rnd in range(plan.rounds):
            log(f"round {rnd + 1}/{plan.rounds}")
            run_round(store, plan, rnd, receiver.port, only)
    if only is None or "scrub" in only:
        externals["bench_scrub"] = run_external(store, "bench_scrub", args.quick)
    if only is None or "storm" in only:
        run_storm(store, plan)
    rows = build_rows(store)
    profiles: dict[str, str] = {}
    if profile:
        from benchmarks._profiling import profile_missed

        profiles = profile_missed([r.key for r in rows if r.met is False], os.path.join(args.out, "profiles"), log)
    meta["wall_s"] = time.perf_counter() - started
    meta["load_after"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    report = render_report(rows, store, meta, externals, profiles)
    png = bar_chart(chart_bars(rows), "CODERADAR SDK VS SENTRY-SDK")
    with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as fh:
        fh.write(report)
    with open(os.path.join(args.out, "ratios.png"), "wb") as fh:
        fh.write(png)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as fh:
        json.dump(
            {
                "meta": meta,
                "rows": [{**r.__dict__, "met": r.met} for r in rows],
                "samples": [s.__dict__ for s in store.samples],
                "errors": store.errors,
                "skipped": store.skipped,
            },
            fh,
            indent=1,
            default=str,
        )
    if publish:
        shutil.copyfile(os.path.join(args.out, "report.md"), os.path.join(HERE, "REPORT.md"))
        _keep_tracing_section(tracing_section)
        shutil.copyfile(os.path.join(args.out, "ratios.png"), os.path.join(HERE, "ratios.png"))
    sys.stdout.write(report)
    log(
        f"done in {meta['wall_s'] / 60:.1f} min: {os.path.relpath(args.out, ROOT)}/report.md"
        + (", benchmarks/REPORT.md" if publish else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
