"""Scoring shared by the tests and ``benchmarks/bench_recall.py``: recall and decoy survival."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any, Iterable

import scrubbers
from sdk_core.testing import assert_no_secrets
from tests.adversarial.generate import Case, leaked, survives
from tests.adversarial.others import Sample

__all__ = ["Score", "sample_kept", "sample_leaked", "score_cases", "score_samples"]


def _scrub(engine: scrubbers.Engine, event: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    engine.scrub_in_place(out)
    return out


def _secret_part(sample: Sample) -> str:
    if "://" in sample.value and "@" in sample.value:  # a connection string: only the password must go
        return sample.value.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    return sample.value


def sample_leaked(engine: scrubbers.Engine, sample: Sample) -> bool:
    """True when an 8-character piece of a secret sample survived scrubbing."""
    try:
        assert_no_secrets([_scrub(engine, sample.render(sample.value))], [_secret_part(sample)])
    except AssertionError:
        return True
    return False


def sample_kept(engine: scrubbers.Engine, sample: Sample) -> bool:
    """True when a decoy sample is still whole in the scrubbed event."""
    out = _scrub(engine, sample.render(sample.value))
    return sample.value in json.dumps(out, ensure_ascii=False) or sample.value in str(out)


class Score:
    """Caught/expected and survived/planted counters, by any label."""

    def __init__(self) -> None:
        self.caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.kept: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def secret(self, label: str, caught: bool) -> None:
        c = self.caught[label]
        c[0] += caught
        c[1] += 1

    def decoy(self, label: str, kept: bool) -> None:
        k = self.kept[label]
        k[0] += kept
        k[1] += 1


def score_cases(engine: scrubbers.Engine, cases: Iterable[Case]) -> tuple[Score, Score]:
    """Generator cases scored per placement class and per category (secret kind's category)."""
    by_placement, by_category = Score(), Score()
    for case in cases:
        out = _scrub(engine, case.event)
        if case.expected:
            caught = not leaked(case, out)
            by_placement.secret(case.placement, caught)
            by_category.secret(case.kind.category, caught)
        kept = survives(case.decoy, out)
        by_placement.decoy(case.placement, kept)
        by_category.decoy(case.kind.category, kept)
    return by_placement, by_category


def score_samples(engine: scrubbers.Engine, samples: Iterable[Sample]) -> Score:
    """Other people's samples scored per source."""
    score = Score()
    for s in samples:
        if s.secret:
            score.secret(s.source, not sample_leaked(engine, s))
        else:
            score.decoy(s.source, sample_kept(engine, s))
    return score
