"""What the OpenTelemetry hooks cost per capture: no OTel imported, OTel API only, OTel SDK configured.

Each mode runs in a fresh process (OTel's global providers cannot be reset). Prints a Markdown
table of the median cost of ``capture_exception`` (caller thread) per mode.

    .venv/bin/python -m benchmarks.bench_otel
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

MODES = ("no-otel", "api-only", "sdk")

_CHILD = r"""
import json, sys, time
mode = sys.argv[1]
if mode in ("api-only", "sdk"):
    from opentelemetry import metrics, trace
if mode == "sdk":
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
import sdk_core
from sdk_core.transport.memory import InMemoryTransport
sdk_core.init(transport=InMemoryTransport(), default_integrations=False, max_queue_size=100000)
err = None
try:
    raise ValueError("bench")
except ValueError as e:
    err = e
samples = []
for _ in range(3000):
    t0 = time.perf_counter_ns()
    sdk_core.capture_exception(err)
    samples.append(time.perf_counter_ns() - t0)
samples.sort()
sdk_core.close(5)
print(json.dumps({"p50_us": samples[len(samples) // 2] / 1000}))
"""


def run(rounds: int = 3) -> dict[str, float]:
    results: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(rounds):
        for mode in MODES:
            out = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True)
            results[mode].append(json.loads(out.stdout)["p50_us"])
    return {m: statistics.median(v) for m, v in results.items()}


def main() -> None:
    medians = run()
    base = medians["no-otel"]
    print("| mode | capture_exception p50 (us) | vs no OTel |")
    print("|---|---|---|")
    for mode in MODES:
        print(f"| {mode} | {medians[mode]:.1f} | {medians[mode] / base:.2f}x |")


if __name__ == "__main__":
    main()
