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


# "U" is a lowercase UUID redrawn per variant (sometimes all digits, sometimes adjacent to digits or
# a context word); request and trace ids count as one shape in a template
UUID_TEMPLATES = (
    "processed order ###### in ## ms (request U)",
    "trace U span ################",
    "key U rotated",
    "token=U&next=/cart",
    "U@example.org wrote",
    "postgres://app:U@db.internal/shop",
    "Bearer U",
    "ids U,U;U",
    "#### U ####",
    "card 4111 1111 U 1111",
    "X-Request-Id: U",
    "U-suffix and prefix-U and U.json",
)


def _uuid(rng: random.Random) -> str:
    kind = rng.randrange(4)
    alphabet = "0123456789" if kind == 0 else "0123456789abcdef"
    h = "".join(rng.choice(alphabet) for _ in range(32))
    if kind == 1:
        h = "4111111111111111" + h[16:]  # a card number's digits at the front
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _variant(template: str, rng: random.Random) -> str:
    out = []
    for c in template:
        out.append(str(rng.randrange(10)) if c == "#" else _uuid(rng) if c == "U" else c)
    return "".join(out)


def test_templates_are_enabled_for_the_default_rules() -> None:
    assert scrubbers.compile_rules().text.templates is not None


@pytest.mark.parametrize("seed", range(6))
def test_a_warm_engine_scrubs_digit_variants_as_a_fresh_engine_does(seed: int) -> None:
    rng = random.Random(seed)
    warm = scrubbers.compile_rules()
    for round_ in range(40):
        texts = [_variant(t, rng) for t in TEMPLATES + UUID_TEMPLATES]
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


def test_standalone_lowercase_uuids_share_one_shape() -> None:
    """Only a whole token run that is a lowercase UUID is masked in a template."""
    from scrubbers.text import _mask_uuids

    u = b"4c22cab7-468f-4596-ac9a-360c5105122a"
    mark = b"\xff" * 36
    assert _mask_uuids(b"req " + u + b" done") == b"req " + mark + b" done"
    assert _mask_uuids(u + b"\x00" + u) == mark + b"\x00" + mark
    for kept in (b"x" + u, u + b"x", u.upper(), b"req-" + u, u[:-1] + b"g"):
        assert _mask_uuids(kept) == kept


def test_uuids_are_judged_by_their_context_not_their_template() -> None:
    """A UUID after a credential name is still filtered when a clean UUID line of the same shape came first."""
    engine = scrubbers.compile_rules()
    assert engine.text.uuid_blind
    clean: dict[str, Any] = {"message": "request 4c22cab7-468f-4596-ac9a-360c5105122a done"}
    engine.scrub_in_place(clean)
    assert clean["message"] == "request 4c22cab7-468f-4596-ac9a-360c5105122a done"
    secret: dict[str, Any] = {"message": "request 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a done", "extra": {"api_key": "x"}}
    secret["extra"]["api_key"] = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    engine.scrub_in_place(secret)
    assert secret["message"] == "request [Filtered] done"  # a copy of a value filtered by its name
