"""Recall and decoy survival of the default rules on the labelled corpus (tests/corpus)."""

from __future__ import annotations

from typing import Any

import pytest

import scrubbers
from tests.corpus.generate import generate, measure, report

MIN_EVENTS = 300


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    cases = generate(n_events=360, seed=4242)
    assert len(cases) >= MIN_EVENTS
    engine = scrubbers.compile_rules()

    def scrub(event: dict[str, Any]) -> dict[str, Any]:
        return scrubbers.scrub_event(event, engine.rules)

    res = measure(cases, scrub)
    print("\n" + report(res))  # shown with pytest -s; numbers for the closing note
    return res


class TestCorpus:
    def test_corpus_is_deterministic(self) -> None:
        """The same seed gives the same events and labels."""
        a, b = generate(20, seed=9), generate(20, seed=9)
        assert [c.event for c in a] == [c.event for c in b]
        assert [c.planted for c in a] == [c.planted for c in b]

    def test_every_category_is_planted(self, result: dict[str, Any]) -> None:
        """Each secret category appears often enough to measure, in many locations."""
        for cat, (_, total) in result["planted"].items():
            assert total >= 20, cat

    def test_recall_per_category_is_at_least_99_percent(self, result: dict[str, Any]) -> None:
        """No 8-character piece of a planted secret survives, per category, 99% of the time or better."""
        low = {c: ok / total for c, (ok, total) in result["planted"].items() if ok / total < 0.99}
        assert not low, (low, result["misses"])

    def test_decoys_survive_per_category(self, result: dict[str, Any]) -> None:
        """UUIDs, SHAs, digests, request ids, timestamps, versions, Luhn-invalid numbers and prose survive."""
        low = {c: ok / total for c, (ok, total) in result["decoys"].items() if ok / total < 0.99}
        assert not low, (low, result["misses"])
        for needed in ("uuid", "git-sha", "sha256", "request-id", "timestamp", "version", "luhn-invalid-number"):
            assert needed in result["decoys"]
