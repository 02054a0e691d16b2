"""Strings clean by their digit template (issue 13's speed work): a warm engine must scrub exactly
as a fresh one does, whatever digits a string of a remembered template holds.

The engine remembers the template (every digit turned into 0) of a string that scanned clean and
gave no prefilter a digit-dependent candidate; a later string of the same template skips the scan.
These tests feed a warm engine strings whose digits are redrawn, including digits that turn a
harmless number into a card, an IP address, an SSN or a token, and compare with a fresh engine.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import scrubbers

# Each template's "#" is a digit redrawn per variant. Several become secrets for some draws
# (a Luhn-valid card, a routable IP, a valid SSN) and stay harmless for others.
TEMPLATES = (
    "SELECT id FROM orders WHERE customer_id = %s LIMIT ##",
    "GET https://api.internal.example/v2/orders/#### took ## ms",
    "ref #### #### #### #### paid",
    "ref ################ paid",
    "from ##.#.#.### port ####",
    "client ###.###.###.## connected",
    "ssn ###-##-#### on file",
    "call 4###-####-####-#### now",
    "key ab#cd#ef#gh#ij#kl#mn#op rotated",
    "session ###########abcdefXYZ expired",
    "user###@example.org signed in",
    "order ###### for customer #####: pending -> shipped",
    "<Order: ###### pending>",
    "DE## #### #### #### #### ##",
    "password ab##cd## accepted",
    "retry #/# in ### ms (request 4c##cab#-4#8f-4#96-ac9a-36#c51#5122a)",
    "token=#####abcdef#####",
    "v#.##.# released at 2024-0#-1#T1#:##:##Z",
)


def _variant(template: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in template)


def test_templates_are_enabled_for_the_default_rules() -> None:
    assert scrubbers.compile_rules().text.templates is not None


@pytest.mark.parametrize("seed", range(6))
def test_a_warm_engine_scrubs_digit_variants_as_a_fresh_engine_does(seed: int) -> None:
    rng = random.Random(seed)
    warm = scrubbers.compile_rules()
    for round_ in range(40):
        texts = [_variant(t, rng) for t in TEMPLATES]
        event: dict[str, Any] = {"extra": {f"s{i}": t for i, t in enumerate(texts)}, "message": " | ".join(texts[:3])}
        fresh_event: dict[str, Any] = {"extra": dict(event["extra"]), "message": event["message"]}
        warm.scrub_in_place(event)
        scrubbers.compile_rules().scrub_in_place(fresh_event)
        assert event == fresh_event, f"round {round_}"
    assert warm.text.templates  # something was remembered, so the shortcut was exercised


def test_a_card_after_a_clean_number_of_the_same_shape_is_caught() -> None:
    engine = scrubbers.compile_rules()
    for digits in ("1234 5678 9012 3456", "4111 1111 1111 1111"):
        event: dict[str, Any] = {"message": f"ref {digits} paid"}
        engine.scrub_in_place(event)
    assert event["message"] == "ref [Filtered] paid"


def test_the_same_template_skips_the_scan() -> None:
    """The shortcut is taken: the second string of a clean template is not scanned."""
    engine = scrubbers.compile_rules()
    calls: list[str] = []
    scan = engine.text.scanner.scan

    def counting(text: str, act: Any = None) -> Any:
        calls.append(text)
        return scan(text, act)

    engine.text.scanner.scan = counting  # type: ignore[method-assign]
    engine.scrub_in_place({"message": "SELECT id FROM orders WHERE customer_id = %s LIMIT 17"})
    engine.scrub_in_place({"message": "SELECT id FROM orders WHERE customer_id = %s LIMIT 42"})
    assert [c for c in calls if "LIMIT" in c] == ["SELECT id FROM orders WHERE customer_id = %s LIMIT 17"]


@pytest.mark.parametrize(
    ("pattern", "blind"),
    [("abc", True), (r"\d+", True), (r"\w+", True), ("[0-9A-Fa-f]{4}", True), ("[^0-9]", True), ("ATATT3", False),
     ("[2-7]{16}", False), ("x1|y", False)],
)  # fmt: skip
def test_digit_blind_patterns(pattern: str, blind: bool) -> None:
    """Only prefilters whose matches cannot move with the digits let a template stand for its strings."""
    from scrubbers.regexinfo import digit_blind

    assert digit_blind(pattern) is blind


def test_custom_value_rules_turn_templates_off() -> None:
    """A custom rule may care about digits (a ticket number): every string is scanned then."""
    ticket = scrubbers.PatternRule(id="ticket-id", pattern=r"TCK-4\d{7}", category="pii")
    engine = scrubbers.compile_rules([*scrubbers.DEFAULT, ticket])
    assert engine.text.templates is None
    for digits in ("31234567", "41234567"):
        event: dict[str, Any] = {"message": f"see TCK-{digits} today"}
        engine.scrub_in_place(event)
    assert event["message"] == "see [Filtered] today"
