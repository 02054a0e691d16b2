"""Check 3 of 3: Faker's labelled fake PII and vendor documentation samples, scored by the same rule."""

from __future__ import annotations

import pytest

import scrubbers
from tests.adversarial.others import Sample, faker_samples, vendor_samples
from tests.adversarial.score import sample_kept, sample_leaked

pytest.importorskip("faker")

ENGINE = scrubbers.compile_rules()


def _by_source(samples: list[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.source, []).append(s)
    return out


FAKER = _by_source(list(faker_samples()))


@pytest.mark.parametrize("source", sorted(k for k, v in FAKER.items() if v[0].secret))
def test_faker_personal_data_is_scrubbed(source: str) -> None:
    """Every Faker e-mail, card, IBAN, SSN, public IPv4 (no context) and password (with context) goes."""
    leaks = [s.value for s in FAKER[source] if sample_leaked(ENGINE, s)]
    assert leaks == []


@pytest.mark.parametrize("source", sorted(k for k, v in FAKER.items() if not v[0].secret))
def test_faker_lookalikes_survive(source: str) -> None:
    """Faker's user agents, UUIDs, digests, timestamps, paths, EANs and ISBNs are kept whole."""
    lost = [s.value for s in FAKER[source] if not sample_kept(ENGINE, s)]
    assert lost == []


@pytest.mark.parametrize("sample", list(vendor_samples()), ids=lambda s: s.source)
def test_vendor_documentation_samples_are_scrubbed(sample: Sample) -> None:
    """The example credentials vendors print in their docs are caught where they are planted."""
    assert not sample_leaked(ENGINE, sample)
