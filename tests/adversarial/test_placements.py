"""Check 1 of 3: every secret kind planted in every placement class is caught; decoys survive."""

from __future__ import annotations

import copy
import logging
from typing import Any, Iterator

import pytest

import scrubbers
import sdk_core
from integrations.logging import LoggingIntegration
from sdk_core.testing import assert_no_secrets, capture_events
from tests.adversarial.generate import DECOYS, KINDS, PLACEMENTS, cases, leaked, survives

F = "[Filtered]"
ENGINE = scrubbers.compile_rules()
ALL = list(cases())


def _scrubbed(event: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    ENGINE.scrub_in_place(out)
    return out


class TestGenerator:
    def test_every_kind_is_planted_in_every_placement(self) -> None:
        """The grid is complete: a new placement class or kind multiplies across the other axis."""
        seen = {(c.placement, c.kind.id) for c in ALL}
        assert seen == {(p, k.id) for p in PLACEMENTS for k in KINDS}
        assert {c.decoy for c in ALL} == {d for _, d in DECOYS}


@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_no_planted_secret_survives(placement: str) -> None:
    """No 8-character piece of a secret survives where it is expected to be caught."""
    misses = [
        f"{c.kind.id} as {c.name!r}"
        for c in ALL
        if c.placement == placement and c.expected and leaked(c, _scrubbed(c.event))
    ]
    assert misses == []


@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_decoys_survive(placement: str) -> None:
    """UUIDs, digests, timestamps, versions, user agents, paths and counters planted alongside are kept."""
    lost = {c.decoy for c in ALL if c.placement == placement and not survives(c.decoy, _scrubbed(c.event))}
    assert lost == set()


def test_context_free_placements_leave_shapeless_values_alone() -> None:
    """The shape alone is never enough: a random password with no name or context word is kept."""
    kept = {c.placement for c in ALL if not c.expected and leaked(c, _scrubbed(c.event))}
    assert kept == {p for p, (has_context, _) in PLACEMENTS.items() if not has_context}


class TestLogArguments:
    @pytest.mark.parametrize(
        ("template", "params", "formatted"),
        [
            ("login failed with password %s", ["hunter2"], "login failed with password [Filtered]"),
            ("token=%s", ["tok-123"], "token=[Filtered]"),
            ("api_key=%s rejected", ["k-9"], "api_key=[Filtered] rejected"),
            ("Authorization: Bearer %s", ["abc"], "Authorization: Bearer [Filtered]"),
            ("session %s expired", ["s1x2"], "session [Filtered] expired"),
            ("client_secret=%(cs)s", {"cs": "shh-1"}, "client_secret=[Filtered]"),
            ("user %(password)s", {"password": "pw-77"}, "user [Filtered]"),
        ],
    )
    def test_argument_is_judged_by_its_placeholder_and_template_is_kept(
        self, template: str, params: Any, formatted: str
    ) -> None:
        """Params, formatted text and template stay consistent; the template is never rewritten."""
        raw = template % (params if isinstance(params, dict) else tuple(params))
        event = {"logentry": {"message": template, "params": params, "formatted": raw}}
        out = _scrubbed(event)["logentry"]
        assert out["message"] == template
        assert out["formatted"] == formatted
        values = list(out["params"].values()) if isinstance(out["params"], dict) else out["params"]
        assert values == [F]

    def test_innocent_arguments_and_repr_rendering_are_kept(self) -> None:
        """Only the sensitive argument changes, even when the formatted text used str() not repr()."""
        event = {
            "logentry": {
                "message": "user %s logged in with password %s from %s",
                "params": ["<User: ana>", "pw-1234", "web-3"],
                "formatted": "user ana logged in with password pw-1234 from web-3",
            }
        }
        out = _scrubbed(event)["logentry"]
        assert out["params"] == ["<User: ana>", F, "web-3"]
        assert out["formatted"] == "user ana logged in with password [Filtered] from web-3"

    @pytest.mark.parametrize(
        ("template", "params", "want_params", "want_formatted"),
        [
            # the name is an earlier argument: read the words before a placeholder as the message shows them
            ("%s=%s", ["DB_PASSWORD", "Vn3#kq!xx81"], ["DB_PASSWORD", F], "DB_PASSWORD=[Filtered]"),
            ("%s: %s", ["api_key", "9f8e7d6c5b4a3928"], ["api_key", F], "api_key: [Filtered]"),
            # the secret shows only in the rendered message (a URL assembled from arguments): what the
            # message scan redacts, the argument loses too
            ("%s:%s@%s", ["postgres://app", "pw-123456", "db/shop"], ["postgres://app", F, "db/shop"],
             "postgres://app:[Filtered]@db/shop"),
        ],
    )  # fmt: skip
    def test_arguments_stay_as_redacted_as_their_message(
        self, template: str, params: list[str], want_params: list[str], want_formatted: str
    ) -> None:
        event = {"logentry": {"message": template, "params": list(params), "formatted": template % tuple(params)}}
        out = _scrubbed(event)["logentry"]
        assert out["params"] == want_params
        assert out["formatted"] == want_formatted
        assert out["message"] == template


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.adversarial.app")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)


def test_real_logging_calls_through_the_pipeline(log: logging.Logger) -> None:
    """``sdk_core.init`` + real ``logging`` calls: event params, formatted text and breadcrumbs are clean."""
    pw, tok, key = "Hunter2-xyz", "Tk9Lm2Pq7Rs1Tv6Wx3Yz8Bc5", "Kq7Wz2Mx9Pv4Ln6Rb1Ty8Hs3"
    with capture_events(default_integrations=False, integrations=[LoggingIntegration()]) as events:
        log.info("retrying with key %s", key)
        log.warning("Authorization: Bearer %s", tok)
        log.error("login failed with password %s for %s", pw, "ana")
        sdk_core.flush(5.0)
    (event,) = events
    assert_no_secrets(events, [pw, tok, key])
    entry = event["logentry"]
    assert entry == {
        "message": "login failed with password %s for %s",
        "params": [F, "ana"],
        "formatted": "login failed with password [Filtered] for ana",
    }
    crumbs = event["breadcrumbs"]["values"]
    assert [c["message"] for c in crumbs] == ["retrying with key [Filtered]", "Authorization: Bearer [Filtered]"]
    assert crumbs[1]["data"]["logentry"]["message"] == "Authorization: Bearer %s"


class TestFalsePositives:
    @pytest.mark.parametrize(
        "text",
        [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0",
            "route 10.0.0.0/8 via 100.0.0.0",
            "cloning git@github.com:acme/shop.git failed",
            "request 550e8400-e29b-41d4-a716-446655440000 at 2024-05-01T10:22:33Z took 12 ms",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "password_attempts=3 in reset_password_view (app/views/reset_password.py:42)",
            "upgraded to 4.12.0-rc.1+a1b2c3d",
            "gcc -pthread -O2 -o app main.c",
            "password reset link sent",
        ],
    )
    def test_harmless_values_are_kept(self, text: str) -> None:
        assert ENGINE.scrub_text(text) == text

    def test_database_url_keeps_host_and_user(self) -> None:
        """Only the password of a connection string goes."""
        for url, want in [
            ("postgres://app:pw-77@db.internal:5432/shop", "postgres://app:[Filtered]@db.internal:5432/shop"),
            ("postgres://app:pw-77@db.internal/shop", "postgres://app:[Filtered]@db.internal/shop"),
            ("redis://:s3cret@cache.internal:6379/0", "redis://:[Filtered]@cache.internal:6379/0"),
        ]:
            assert ENGINE.scrub_text(url) == want

    @pytest.mark.parametrize(
        ("url", "without_pii", "with_pii"),
        [
            # an e-mail login written unencoded: the password goes, and the e-mail too unless PII is allowed
            (
                "postgres://ana@example.org:Pw-81x!@db.internal:5432/shop",
                "postgres://[Filtered]:[Filtered]@db.internal:5432/shop",
                "postgres://ana@example.org:[Filtered]@db.internal:5432/shop",
            ),
            (
                "mysql://ana.smith@corp.example.com:s3cret!@db.internal/app",
                "mysql://[Filtered]:[Filtered]@db.internal/app",
                "mysql://ana.smith@corp.example.com:[Filtered]@db.internal/app",
            ),
            # an "@" inside the password: the split is at the last "@", so no piece of it stays
            ("postgres://app:p@ssw0rd-123@db.internal/x", "postgres://app:[Filtered]@db.internal/x", None),
            ("https://bob:my@secretpw@example.com/", "https://bob:[Filtered]@example.com/", None),
        ],
    )
    def test_at_signs_in_the_userinfo(self, url: str, without_pii: str, with_pii: str | None) -> None:
        assert ENGINE.scrub_text(url) == without_pii
        pii = scrubbers.compile_rules(send_default_pii=True)
        assert pii.scrub_text(url) == (with_pii or without_pii)


def test_custom_rules_still_see_timestamps() -> None:
    """The built-in rules skip ISO timestamps as a speed-up; a custom rule about dates still sees them."""
    birthday = scrubbers.PatternRule(id="birth-date", pattern=r"\b1987-\d\d-\d\d", category="pii")
    engine = scrubbers.compile_rules([*scrubbers.DEFAULT, birthday])
    event: dict[str, Any] = {"extra": {"born": "1987-04-12T00:00:00Z"}}
    engine.scrub_in_place(event)
    assert event["extra"]["born"] == "[Filtered]T00:00:00Z"
    plain = _scrubbed({"extra": {"at": "2024-05-01T10:22:33.123Z"}})
    assert plain["extra"]["at"] == "2024-05-01T10:22:33.123Z"


def test_a_value_filtered_by_name_is_filtered_elsewhere_but_words_are_not() -> None:
    """A secret seen under a sensitive name is found again in a repr; a plain word under one is not."""
    event: dict[str, Any] = {
        "extra": {"token": "tok-7f3a9c1e5b2d", "credentials": "included"},
        "message": "call(17, 'tok-7f3a9c1e5b2d') with cookies included",
    }
    out = _scrubbed(event)
    assert out["message"] == "call(17, '[Filtered]') with cookies included"


def test_a_string_holding_a_known_secret_is_never_cached_as_clean() -> None:
    """The second identical event is scrubbed like the first (the repr is not remembered as clean)."""
    engine = scrubbers.compile_rules()
    for _ in range(2):
        event: dict[str, Any] = {"extra": {"token": "tok-7f3a9c1e5b2d", "args": "(17, 'tok-7f3a9c1e5b2d')"}}
        engine.scrub_in_place(event)
        assert event["extra"]["args"] == "(17, '[Filtered]')"
