"""The rule model: rule values, RuleList composition, compile-time validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

import scrubbers
from scrubbers import Action, FunctionRule, KeyRule, PathRule, PatternRule, RuleList


class TestPublicSurface:
    def test_all_is_exact_and_sorted(self) -> None:
        """The package exports exactly its documented names."""
        assert scrubbers.__all__ == [
            "CREDENTIALS",
            "DEFAULT",
            "Action",
            "Engine",
            "FunctionRule",
            "KeyRule",
            "PathRule",
            "PatternRule",
            "Rule",
            "RuleList",
            "compile_rules",
            "rule",
            "scrub_event",
        ]
        for name in scrubbers.__all__:
            assert hasattr(scrubbers, name)

    def test_default_is_an_ordered_inspectable_rulelist(self) -> None:
        """DEFAULT is a tuple subclass with stable kebab-case ids and every rule documented."""
        assert isinstance(scrubbers.DEFAULT, tuple)
        assert isinstance(scrubbers.DEFAULT, RuleList)
        ids = scrubbers.DEFAULT.ids
        assert len(ids) == len(set(ids))
        for rule in scrubbers.DEFAULT:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
            assert rule.category and isinstance(rule.action, Action)
        for needed in (
            "password-field",
            "email",
            "credit-card",
            "iban",
            "us-ssn",
            "ip-address",
            "jwt",
            "aws-access-key-id",
            "github-token",
            "slack-token",
            "openai-api-key",
            "pem-private-key",
        ):
            assert needed in ids

    def test_credentials_holds_provider_rules_only(self) -> None:
        """CREDENTIALS is the provider-credential value rules, all of them in DEFAULT too."""
        assert scrubbers.CREDENTIALS
        assert all(isinstance(r, PatternRule) and r.category == "provider-credential" for r in scrubbers.CREDENTIALS)
        assert set(scrubbers.CREDENTIALS.ids) <= set(scrubbers.DEFAULT.ids)

    def test_rules_md_matches_default(self) -> None:
        """scrubbers/RULES.md contains the generated table for DEFAULT."""
        from pathlib import Path

        from scrubbers.__main__ import rules_table

        text = (Path(scrubbers.__file__).parent / "RULES.md").read_text(encoding="utf-8")
        assert rules_table(scrubbers.DEFAULT) in text


class TestRuleList:
    def test_without_removes_and_keeps_order(self) -> None:
        """without() drops the ids and keeps the rest in order."""
        trimmed = scrubbers.DEFAULT.without("ip-address", "email")
        assert isinstance(trimmed, RuleList)
        assert "ip-address" not in trimmed.ids and "email" not in trimmed.ids
        assert [i for i in scrubbers.DEFAULT.ids if i not in ("ip-address", "email")] == list(trimmed.ids)

    def test_without_unknown_id_is_a_value_error(self) -> None:
        """An unknown id names itself in the error."""
        with pytest.raises(ValueError, match="no-such-rule"):
            scrubbers.DEFAULT.without("no-such-rule")

    def test_extend_add_and_plain_list_all_work(self) -> None:
        """extend(), + and [*DEFAULT, rule] give equivalent, usable rule lists."""
        extra = PatternRule(id="employee-id", pattern=r"EMP-\d{6}", category="pii")
        a = scrubbers.DEFAULT.extend(extra)
        b = scrubbers.DEFAULT + [extra]  # noqa: RUF005 - RuleList.__add__ is what is tested
        c = [*scrubbers.DEFAULT, extra]
        assert a == b and isinstance(b, RuleList)
        assert a.ids[-1] == "employee-id"
        for rules in (a, b, c):
            out = scrubbers.scrub_event({"message": "badge EMP-123456 used"}, rules)
            assert out["message"] == "badge [Filtered] used"

    def test_slice_and_get(self) -> None:
        """Slicing keeps the type; get() finds a rule by id."""
        assert isinstance(scrubbers.DEFAULT[:3], RuleList)
        assert scrubbers.DEFAULT.get("email").id == "email"
        with pytest.raises(KeyError):
            scrubbers.DEFAULT.get("nope")


class TestValidation:
    def test_bad_regex_names_the_rule(self) -> None:
        """A regex that does not compile fails at construction, naming the rule id."""
        with pytest.raises(ValueError, match=r"my-rule.*invalid regular expression"):
            PatternRule(id="my-rule", pattern="(unclosed")

    def test_unknown_action_names_the_rule_and_choices(self) -> None:
        """An unknown action string is a ValueError listing the valid ones."""
        with pytest.raises(ValueError, match=r"my-rule.*'explode'.*filter"):
            KeyRule(id="my-rule", names=("x",), action="explode")  # type: ignore[arg-type]

    def test_action_strings_are_accepted(self) -> None:
        """Actions may be given by value."""
        assert KeyRule(id="k", names=("x",), action="mask").action is Action.MASK  # type: ignore[arg-type]

    def test_duplicate_id_fails_at_compile(self) -> None:
        """Two rules with one id cannot be compiled together."""
        with pytest.raises(ValueError, match="duplicate rule id 'email'"):
            scrubbers.compile_rules([*scrubbers.DEFAULT, PatternRule(id="email", pattern="x@y")])

    @pytest.mark.parametrize(
        ("make", "exc", "match"),
        [
            (lambda: KeyRule(id="Bad Id", names=("x",)), ValueError, "kebab-case"),
            (lambda: KeyRule(id=3, names=("x",)), TypeError, "id must be a str"),  # type: ignore[arg-type]
            (lambda: KeyRule(id="k", names="password"), TypeError, "names must be a tuple"),  # type: ignore[arg-type]
            (lambda: KeyRule(id="k"), ValueError, "at least one name"),
            (lambda: PatternRule(id="p", pattern="a*"), ValueError, "empty string"),
            (lambda: PatternRule(id="p", pattern=r"(a)\1"), ValueError, "back-references"),
            (lambda: PatternRule(id="p", pattern="a", validator=3), TypeError, "validator"),  # type: ignore[arg-type]
            (lambda: PatternRule(id="p", pattern="a", prefilter_view="nope"), ValueError, "prefilter_view"),
            (lambda: PathRule(id="s", selector="request..x"), ValueError, "empty segment"),
            (lambda: PathRule(id="s", selector="**"), ValueError, "whole event"),
            (lambda: FunctionRule(id="f", func=3), TypeError, "callable"),  # type: ignore[arg-type]
        ],
    )
    def test_misconfigured_rules_fail_clearly(self, make: Any, exc: type[Exception], match: str) -> None:
        """Wrong types and values raise TypeError/ValueError naming the field."""
        with pytest.raises(exc, match=match):
            make()

    def test_compile_rejects_wrong_option_types(self) -> None:
        """compile_rules checks its own arguments too."""
        with pytest.raises(TypeError, match="rules must be an iterable"):
            scrubbers.compile_rules("password")
        with pytest.raises(TypeError, match="expected a rule"):
            scrubbers.compile_rules([42])
        with pytest.raises(TypeError, match="allow_keys must be an iterable of str"):
            scrubbers.compile_rules(allow_keys="password")
        with pytest.raises(TypeError, match="send_default_pii"):
            scrubbers.compile_rules(send_default_pii="yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="hash_key"):
            scrubbers.compile_rules(hash_key=123)  # type: ignore[arg-type]

    def test_hash_action_needs_a_key(self) -> None:
        """A HASH rule without hash_key fails at compile time, naming the rule."""
        rule = KeyRule(id="hashed-user", names=("user_ref",), action=Action.HASH)
        with pytest.raises(ValueError, match=r"hashed-user.*hash_key"):
            scrubbers.compile_rules([rule])
        scrubbers.compile_rules([rule], hash_key=b"k")


class TestCustomRules:
    def test_plain_function_rule_via_decorator(self) -> None:
        """@scrubbers.rule turns def f(path, value) into a rule with a kebab-case id."""

        @scrubbers.rule
        def employee_badge(path: tuple[Any, ...], value: str) -> str | None:
            return value.replace("BADGE", "[badge]") if "BADGE" in value else None

        assert employee_badge.id == "employee-badge"
        engine = scrubbers.compile_rules([*scrubbers.DEFAULT, employee_badge])
        event: dict[str, Any] = {"extra": {"note": "BADGE 7"}}
        counts = engine.scrub_in_place(event)
        assert event["extra"]["note"] == "[badge] 7"
        assert counts["employee-badge"] == 1
        assert event["_meta"]["extra"]["note"][""]["rem"] == [["employee-badge", "s"]]

    def test_function_returning_true_applies_the_action(self) -> None:
        """Returning True applies the rule's action to the whole value; the path is given."""
        seen: list[tuple[Any, ...]] = []

        def internal_host(path: tuple[Any, ...], value: str) -> bool:
            seen.append(path)
            return value.endswith(".corp.internal")

        rule = scrubbers.rule(internal_host, id="internal-host", action="mask")
        out = scrubbers.scrub_event({"tags": {"host": "db7.corp.internal"}}, [rule])
        assert out["tags"]["host"].endswith("rnal") and "db7" not in out["tags"]["host"]
        assert ("tags", "host") in seen

    def test_small_class_rule(self) -> None:
        """A callable object with an id attribute is accepted in a plain list."""

        class TicketIds:
            id = "ticket-id"
            category = "pii"

            def __call__(self, path: tuple[Any, ...], value: str) -> str | None:
                return re.sub(r"TCK-\d+", "TCK-?", value) if "TCK-" in value else None

        out = scrubbers.scrub_event({"message": "see TCK-991"}, [*scrubbers.DEFAULT, TicketIds()])
        assert out["message"] == "see TCK-?"

    def test_a_raising_custom_rule_fails_closed(self) -> None:
        """A custom rule that raises filters the value instead of breaking the scrub."""

        def broken(path: tuple[Any, ...], value: str) -> None:
            raise RuntimeError("bug")

        out = scrubbers.scrub_event({"message": "hello"}, [scrubbers.rule(broken)])
        assert out["message"] == "[Filtered]"
