"""Profiles of our SDK for the rows that missed their target (``run.py`` calls ``profile_missed``).

Each recipe runs in a fresh process: ``python -m benchmarks._profiling RECIPE OUT [port]``.
cProfile covers the caller thread; the background worker is profiled by wrapping its thread
function in this process only (the packages are not modified). Storm memory uses tracemalloc,
import time ``-X importtime``.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# row key -> recipe
RECIPES = {
    "import": "import",
    "capture_p50": "capture",
    "capture_p99": "capture",
    "breadcrumb": "breadcrumb",
    "throughput": "throughput",
    "burst_cpu": "throughput",
    "web_flask": "web_flask",
    "web_django": "web_django",
    "web_celery": "web_celery",
    "scrub": "scrub",
    "scrub_varied": "scrub",
    "storm": "storm",
    "storm_rel": "storm",
}


def _top(profile: cProfile.Profile, title: str, limit: int = 22) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    text = buf.getvalue()
    start = text.find("   ncalls")
    return f"{title}\n{text[start:] if start >= 0 else text}"


class WorkerProfiler:
    """Profile the SDK's worker thread: wrap ``Worker._run`` before the first submit."""

    def __init__(self) -> None:
        self.profile = cProfile.Profile()
        from sdk_core.transport.worker import Worker

        original = Worker._run
        profile = self.profile

        def run(worker: Any) -> None:
            profile.enable()
            try:
                original(worker)
            finally:
                profile.disable()

        Worker._run = run  # type: ignore[method-assign]


def _ours(port: int, queue_size: int = 100_000, integrations: Any = ()) -> Any:
    from benchmarks._workload import adapter

    a = adapter("ours")
    a.init(f"http://bench@127.0.0.1:{port}/1", queue_size=queue_size, integrations=integrations)
    return a


def recipe_capture(port: int) -> str:
    from benchmarks._workload import make_exception

    worker = WorkerProfiler()
    a = _ours(port)
    a.prepare()
    for _ in range(50):
        a.capture_exception(make_exception())
    a.flush(30)
    caller = cProfile.Profile()
    for _ in range(800):
        exc = make_exception()
        caller.enable()
        a.capture_exception(exc)
        caller.disable()
        time.sleep(0.001)
    a.flush(60)
    a.close()
    return _top(caller, "caller thread: capture_exception only") + "\n" + _top(worker.profile, "worker thread")


def recipe_throughput(port: int) -> str:
    from benchmarks._workload import make_exception

    worker = WorkerProfiler()
    a = _ours(port)
    a.prepare()
    caller = cProfile.Profile()
    caller.enable()
    for _ in range(1500):
        a.capture_exception(make_exception())
    caller.disable()
    a.flush(120)
    a.close()
    return _top(worker.profile, "worker thread (the bottleneck)") + "\n" + _top(caller, "caller thread", 12)


def recipe_breadcrumb(port: int) -> str:
    from benchmarks._workload import breadcrumb

    a = _ours(port)
    a.prepare()
    add = a.sdk.add_breadcrumb
    crumb = breadcrumb(3)
    p = cProfile.Profile()
    p.enable()
    for _ in range(50_000):
        add(crumb)
    p.disable()
    return _top(p, "add_breadcrumb x 50,000")


def _recipe_web(framework: str, port: int) -> str:
    from benchmarks._webapps import APPS
    from benchmarks._workload import adapter

    a = adapter("ours")
    a.init(f"http://bench@127.0.0.1:{port}/1", integrations=[a.integration(framework)])
    request = APPS[framework]()
    for _ in range(300):
        request()
    p = cProfile.Profile()
    p.enable()
    for _ in range(5000):
        request()
    p.disable()
    return _top(p, f"{framework}: 5,000 requests with our integration", 30)


def recipe_scrub(port: int) -> str:
    import copy

    import scrubbers
    from benchmarks.scenarios import pre_scrub_event

    event = pre_scrub_event()
    engine = scrubbers.compile_rules(scrubbers.DEFAULT)
    copies = [copy.deepcopy(event) for _ in range(520)]
    for ev in copies[:20]:
        engine.scrub_in_place(ev)
    p = cProfile.Profile()
    p.enable()
    for ev in copies[20:]:
        engine.scrub_in_place(ev)
    p.disable()
    return _top(p, "engine.scrub_in_place x 500", 30)


def recipe_storm(port: int) -> str:
    import tracemalloc

    from benchmarks._workload import adapter, make_exception
    from benchmarks.scenarios import dead_port

    a = adapter("ours")
    a.init(f"http://bench@127.0.0.1:{dead_port()}/1")
    a.prepare()
    for _ in range(50):
        a.capture_exception(make_exception())
    tracemalloc.start(8)
    peak_snapshot = None
    peak = 0
    for i in range(2500):  # the queue (1,000 by default) is full long before this
        a.capture_exception(make_exception())
        if i % 250 == 249:
            current, _ = tracemalloc.get_traced_memory()
            if current > peak:
                peak = current
                peak_snapshot = tracemalloc.take_snapshot()
    client = a.sdk.get_client()
    queued = client.queued() if client is not None else -1
    lines = [f"traced Python memory at its sampled peak: {peak / 2**20:.1f} MiB; queue length at the end: {queued}"]
    if peak_snapshot is not None:
        lines.append("top allocation sites at the peak (by size):")
        for stat in peak_snapshot.statistics("lineno")[:20]:
            frame = stat.traceback[0]
            where = os.path.relpath(frame.filename, ROOT) if frame.filename.startswith(ROOT) else frame.filename
            lines.append(f"  {stat.size / 2**20:7.2f} MiB {stat.count:8d} blocks  {where}:{frame.lineno}")
    return "\n".join(lines)


def recipe_import(port: int) -> str:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sdk_core"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us, cumulative = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        rows.append((cumulative, self_us, parts[2].rstrip()))
    rows.sort(reverse=True)
    out = ["python -X importtime -c 'import sdk_core' (µs, the largest cumulative first)", "  cumul    self  module"]
    out += [f"{c:7d} {s:7d} {name}" for c, s, name in rows[:25]]
    return "\n".join(out)


_RECIPES: dict[str, Callable[[int], str]] = {
    "capture": recipe_capture,
    "throughput": recipe_throughput,
    "breadcrumb": recipe_breadcrumb,
    "web_flask": lambda port: _recipe_web("flask", port),
    "web_django": lambda port: _recipe_web("django", port),
    "web_celery": lambda port: _recipe_web("celery", port),
    "scrub": recipe_scrub,
    "storm": recipe_storm,
    "import": recipe_import,
}


def profile_missed(keys: list[str], out_dir: str, log: Callable[[str], None]) -> dict[str, str]:
    """Run the recipe of every missed row once (recipes shared by rows run once)."""
    from benchmarks._receiver import Receiver

    recipes: dict[str, list[str]] = {}
    for key in keys:
        recipe = RECIPES.get(key)
        if recipe is not None:
            recipes.setdefault(recipe, []).append(key)
    if not recipes:
        return {}
    os.makedirs(out_dir, exist_ok=True)
    results: dict[str, str] = {}
    with Receiver() as receiver:
        for recipe, rows in recipes.items():
            out = os.path.join(out_dir, f"{recipe}.txt")
            log(f"profiling {recipe} (missed: {', '.join(rows)})")
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks._profiling", recipe, out, str(receiver.port)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            except subprocess.TimeoutExpired:
                results[", ".join(rows)] = "profiling timed out"
                continue
            if proc.returncode != 0 or not os.path.exists(out):
                results[", ".join(rows)] = f"profiling failed: {proc.stderr.strip()[-800:]}"
                continue
            with open(out, encoding="utf-8") as fh:
                results[", ".join(rows)] = fh.read()
    return results


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    recipe, out = args[0], args[1]
    port = int(args[2]) if len(args) > 2 else 9
    text = _RECIPES[recipe](port)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
