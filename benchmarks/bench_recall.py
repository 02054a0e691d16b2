"""Scrubber recall and decoy survival: per placement class, per category, and on other people's data.

    .venv/bin/python benchmarks/bench_recall.py

Recall: the share of planted secrets of which no 8-character piece survives (the rule of
``sdk_core.testing.assert_no_secrets``), counted only where a secret is expected to be caught
(a shape-less password in a context-free place is not). Decoy survival: the share of harmless
look-alikes (UUIDs, digests, versions, user agents, paths, counters) still whole afterwards.
Sources: ``tests/adversarial/generate.py`` (every secret kind in every placement class) and
``tests/adversarial/others.py`` (Faker's labelled PII, vendor documentation samples).
Prints Markdown tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scrubbers
from tests.adversarial.generate import cases
from tests.adversarial.others import faker_samples, vendor_samples
from tests.adversarial.score import Score, score_cases, score_samples


def _pct(pair: list[int]) -> str:
    return f"{100 * pair[0] / pair[1]:.1f} % ({pair[0]}/{pair[1]})" if pair[1] else "n/a"


def _table(title: str, score: Score) -> None:
    print(f"\n| {title} | recall | decoy survival |")
    print("|---|---:|---:|")
    labels = list(dict.fromkeys([*score.caught, *score.kept]))
    total_c, total_k = [0, 0], [0, 0]
    for label in labels:
        c, k = score.caught.get(label, [0, 0]), score.kept.get(label, [0, 0])
        total_c = [total_c[0] + c[0], total_c[1] + c[1]]
        total_k = [total_k[0] + k[0], total_k[1] + k[1]]
        print(f"| {label} | {_pct(c)} | {_pct(k)} |")
    print(f"| **all** | **{_pct(total_c)}** | **{_pct(total_k)}** |")


def main() -> int:
    engine = scrubbers.compile_rules()
    by_placement, by_category = score_cases(engine, cases())
    _table("placement class", by_placement)
    _table("category", by_category)
    try:
        others = score_samples(engine, [*faker_samples(), *vendor_samples()])
    except ImportError:  # faker is a test extra
        print("\n(faker not installed: other people's data skipped)")
        return 0
    _table("other people's data (source)", others)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
