"""The engine's shortcuts must not change what gets scrubbed.

Covers: strings repeated within one event (scanned once, scrubbed everywhere), the per-character
dispatch of anchored token rules, the two-generation clean-string cache and the cheap
placeholder / Action lookups.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import scrubbers
import scrubbers.text as text_mod
from scrubbers import Action, PatternRule
from scrubbers.actions import REMARK_CODE, is_placeholder
from scrubbers.scan import first_chars, min_width

F = "[Filtered]"
AKIA = "AKIA" + "ABCDEFGHIJKLMNOP"  # synthetic, format-valid shape only


class TestRepeatedStrings:
    def test_every_occurrence_is_scrubbed_with_its_own_remark(self) -> None:
        """A string that occurs in many places is scanned once and replaced at each place."""
        s = "contact jane.doe@example.org now"
        ev: dict[str, Any] = {"message": s, "extra": {"a": s, "b": [s, "x", s]}, "tags": {"t": s}}
        counts = scrubbers.compile_rules().scrub_in_place(ev)
        assert counts["email"] == 5
        assert ev["message"] == ev["extra"]["a"] == ev["tags"]["t"] == f"contact {F} now"
        assert ev["extra"]["b"] == [f"contact {F} now", "x", f"contact {F} now"]
        meta = ev["_meta"]
        for node in (meta["message"], meta["extra"]["a"], meta["extra"]["b"]["0"], meta["extra"]["b"]["2"]):
            assert node[""]["rem"] == [["email", "s", 8, 8 + len(F)]]
            assert node[""]["len"] == len(s)

    def test_same_object_in_many_places(self) -> None:
        """The very same str object under several keys is replaced under each of them."""
        s = "token sk_live_" + "a1B2c3D4e5F6g7H8i9J0"
        ev: dict[str, Any] = {"extra": {"x": s, "y": s, "z": [s]}}
        scrubbers.compile_rules().scrub_in_place(ev)
        assert "sk_live_" not in repr(ev["extra"])


class TestAnchoredDispatch:
    def test_first_chars_of_default_token_rules(self) -> None:
        """Known first characters per rule; anything unclear is None (tried everywhere)."""
        by_id = {r.id: r for r in scrubbers.DEFAULT if isinstance(r, PatternRule)}
        assert first_chars(by_id["aws-access-key-id"]) == frozenset("A")
        assert first_chars(by_id["jwt"]) == frozenset("e")
        assert first_chars(by_id["stripe-secret-key"]) == frozenset("rs")
        assert first_chars(by_id["us-ssn"]) is None  # starts with \d: a category, not a set
        case_insensitive = PatternRule(id="ci", pattern=r"(?i)tok_[a-z0-9]{20}")
        assert first_chars(case_insensitive) is None

    def test_token_exactly_as_long_as_the_shortest_match_is_caught(self) -> None:
        """Token runs shorter than every candidate rule's shortest match are skipped, no others."""
        by_id = {r.id: r for r in scrubbers.DEFAULT if isinstance(r, PatternRule)}
        assert min_width(by_id["aws-access-key-id"]) == len(AKIA) == 20
        assert min_width(PatternRule(id="short", pattern=r"x{1,9}y?")) == 1
        for text in (AKIA, f"({AKIA})", f"k={AKIA}"):
            assert scrubbers.scrub_event({"message": text})["message"] == text.replace(AKIA, F)
        ev: dict[str, Any] = {"message": f"ids {AKIA[:19]} 1701742917.5349474 api.internal.example"}
        assert scrubbers.scrub_event(ev) == ev

    def test_rule_without_known_first_char_still_runs(self) -> None:
        """A custom anchored token rule led by a category is tried at every token run."""
        rule = PatternRule(
            id="order-secret",
            pattern=r"\w{4}ORDERSECRET\d{6}",
            prefilter="a" * 16 + "a*",
            prefilter_view="token",
            window=(0, 0),
        )
        engine = scrubbers.compile_rules([*scrubbers.DEFAULT, rule])
        ev: dict[str, Any] = {"message": f"a xyzwORDERSECRET123456 and {AKIA} end"}
        counts = engine.scrub_in_place(ev)
        assert counts == {"order-secret": 1, "aws-access-key-id": 1}
        assert ev["message"] == f"a {F} and {F} end"

    @pytest.mark.parametrize("lead", ["", "x ", "(", "\u00e9"])
    def test_token_after_any_leading_character(self, lead: str) -> None:
        """Whatever precedes a token run, its rules still see it (or reject it as before)."""
        out = scrubbers.scrub_event({"message": f"{lead}{AKIA}"})["message"]
        if lead == "\u00e9":  # a word character right before: not a token boundary, kept as before
            assert out == f"{lead}{AKIA}"
        else:
            assert out == f"{lead}{F}"


class TestCleanCache:
    def test_recurring_strings_survive_a_full_cache(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past the cache bound, strings seen again are kept; new secrets are still caught."""
        monkeypatch.setattr(text_mod, "CACHE_MAX_ENTRIES", 20)
        engine = scrubbers.compile_rules()
        recurring = [f"    line {i} of some source file" for i in range(10)]
        for n in range(30):
            ev: dict[str, Any] = {"extra": {"src": list(recurring), "fresh": [f"value {n} {j}" for j in range(15)]}}
            engine.scrub_in_place(ev)
            assert ev["extra"]["src"] == recurring
        assert set(recurring) <= set(engine.text.clean) | set(engine.text.clean_old)
        ev = {"extra": {"src": list(recurring), "leak": f"key {AKIA}"}}
        counts = engine.scrub_in_place(ev)
        assert counts == {"aws-access-key-id": 1}
        assert ev["extra"]["leak"] == f"key {F}"

    def test_hits_are_never_cached_as_clean(self) -> None:
        """A string with a finding is scrubbed every time it is seen."""
        engine = scrubbers.compile_rules()
        for _ in range(3):
            ev: dict[str, Any] = {"message": f"id {AKIA}"}
            assert engine.scrub_in_place(ev) == {"aws-access-key-id": 1}
            assert ev["message"] == f"id {F}"


class TestDirtyCache:
    def test_recurring_secret_is_scrubbed_from_cached_hits(self) -> None:
        """A string with a finding, seen again, is scrubbed the same way with the same remarks."""
        engine = scrubbers.compile_rules()
        line = f"    client = Client(key='{AKIA}', region='eu')"
        results = []
        for _ in range(3):
            ev: dict[str, Any] = {"extra": {"src": [line, "x = 1"]}, "message": f"failed: {AKIA}"}
            counts = engine.scrub_in_place(ev)
            results.append((counts, ev))
        assert all(r == results[0] for r in results[1:])
        assert AKIA not in repr(results[0][1])

    def test_cache_keeps_digests_not_secrets(self) -> None:
        """What the engine remembers about strings with a finding never holds the secret itself."""
        engine = scrubbers.compile_rules()
        for _ in range(2):  # remembered from its second sighting on
            engine.scrub_in_place({"message": f"id {AKIA}", "extra": {"a": f"id {AKIA}!"}})
        assert len(engine.text.dirty) == 2
        text = engine.text
        remembered = repr(text.dirty) + repr(text.dirty_once) + repr(text.clean) + repr(text.rescanned)
        assert AKIA not in remembered and AKIA[4:12] not in remembered

    def test_a_forged_hash_entry_is_not_trusted(self) -> None:
        """Cached hits are used only when the keyed digest matches, not on a bare hash match."""
        engine = scrubbers.compile_rules()
        text = f"id {AKIA}"
        engine.text.dirty[hash(text)] = (b"not the digest", [])
        ev: dict[str, Any] = {"message": text}
        assert engine.scrub_in_place(ev) == {"aws-access-key-id": 1}
        assert ev["message"] == f"id {F}"

    @pytest.mark.parametrize("text", ['APIKEY:" "', 'token: ""', "password='  ' retry"])
    def test_blank_assigned_value_is_left_alone(self, text: str) -> None:
        """``name: " "`` holds nothing to hide; it must not trip the engine (found by the fuzz test)."""
        ev: dict[str, Any] = {"message": text}
        counts = scrubbers.compile_rules().scrub_in_place(ev)
        assert "scrubber-error" not in counts
        assert ev["message"] == text


class TestCheapLookups:
    def test_action_hash_is_consistent(self) -> None:
        """Actions are usable as dict keys however they are obtained."""
        assert REMARK_CODE[Action("mask")] == "m"
        assert REMARK_CODE[copy.deepcopy(Action.HASH)] == "p"
        assert {Action.FILTER: 1}[Action.coerce("filter", "r")] == 1

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("", False),
            ("[Filtered]", True),
            ("[hmac:0123456789abcdef]", True),
            ("****abcd", True),
            ("*", True),
            ("[x]", False),
            ("abc", False),
            ("**abcde", False),
        ],
    )
    def test_is_placeholder(self, value: str, expected: bool) -> None:
        assert is_placeholder(value) is expected


class TestIdempotence:
    @pytest.mark.parametrize("send_default_pii", [False, True])
    def test_pair_inside_a_pair_with_a_secret_in_its_name(self, send_default_pii: bool) -> None:
        """Scrubbing twice changes nothing (Hypothesis found this one): a ``[name, value]`` pair
        whose name held a secret and whose value is itself a ``["PASSWORD", ...]`` pair."""
        engine = scrubbers.compile_rules(send_default_pii=send_default_pii)
        once: dict[str, Any] = {"extra": [None, ["PASSWORD=A", ["PASSWORD", "hunter2"]]]}
        engine.scrub_in_place(once)
        assert once["extra"] == [None, [f"PASSWORD={F}", ["PASSWORD", F]]]
        twice = copy.deepcopy(once)
        engine.scrub_in_place(twice)
        assert twice["extra"] == once["extra"]


class TestFastWalkMatchesGeneralWalk:
    """The default engine walks plain dicts and lists with specialised loops; an engine with a
    function rule takes the general path for every value. Both must scrub alike."""

    @staticmethod
    def _inert(path: tuple[Any, ...], value: str) -> None:
        return None

    def test_adversarial_events_scrub_the_same_on_both_paths(self) -> None:
        from tests.adversarial.generate import cases

        fast = scrubbers.compile_rules()
        general = scrubbers.compile_rules([*scrubbers.DEFAULT, scrubbers.rule(self._inert, id="inert")])
        assert general.state.funcs and not fast.state.funcs
        n = 0
        for case in cases(seed=99, per_pair=1):
            a, b = copy.deepcopy(case.event), copy.deepcopy(case.event)
            assert fast.scrub_in_place(a) == general.scrub_in_place(b)
            assert a == b, case.placement
            n += 1
        assert n > 300

    def test_a_recurring_event_scrubs_the_same_when_its_strings_are_cached(self) -> None:
        """Second time round most strings come from the clean cache, on the fast path only."""
        from tests.adversarial.generate import cases

        fast = scrubbers.compile_rules()
        general = scrubbers.compile_rules([*scrubbers.DEFAULT, scrubbers.rule(self._inert, id="inert")])
        events = [c.event for c in cases(seed=5, per_pair=1)][:120]
        for _ in range(2):
            for ev in events:
                a, b = copy.deepcopy(ev), copy.deepcopy(ev)
                fast.scrub_in_place(a)
                general.scrub_in_place(b)
                assert a == b

    @pytest.mark.parametrize(
        "value", ["12345678901", "123456789012", "2024-05-01T10:00:00Z", "abc_def", "4111111111111111"]
    )
    def test_short_numbers_and_timestamps_are_skipped_only_when_nothing_can_hide_in_them(self, value: str) -> None:
        ev: dict[str, Any] = {"extra": {"v": value, "l": [value]}}
        fast = scrubbers.compile_rules()
        fast.scrub_in_place(ev)
        card = value == "4111111111111111"
        assert (ev["extra"]["v"] == F) is card
        assert (ev["extra"]["l"][0] == F) is card


def test_a_scrub_leaves_no_reference_cycles_behind() -> None:
    """Each walk is freed by reference counting the moment it ends: nothing for the garbage
    collector to find (a cycle kept every walk's strings and containers alive until a collection)."""
    import gc

    engine = scrubbers.compile_rules()
    event: dict[str, Any] = {
        "message": "login for ana@example.org",
        "extra": {"password": "hunter2!", "items": [{"a": "x" * 40}, ["Authorization", "Bearer abcdefgh12345678"]]},
        "breadcrumbs": {
            "values": [{"message": "GET /", "data": {"logentry": {"message": "token=%s", "params": ["t0k3n-1234567"]}}}]
        },
    }
    engine.scrub_in_place(copy.deepcopy(event))  # compile lazily-built parts first
    gc.collect()
    gc.disable()
    try:
        engine.scrub_in_place(event)
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert event["extra"]["password"] == F
