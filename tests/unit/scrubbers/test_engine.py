"""The engine: key rules, value rules per family, actions, allow-list, _meta, counts, odd input."""

from __future__ import annotations

import base64
import copy
import json
import zlib
from typing import Any

import pytest

import scrubbers
from scrubbers import Action, KeyRule, PathRule, PatternRule
from scrubbers import validators as v
from tests.corpus.generate import card, iban, luhn_invalid_16

F = "[Filtered]"


def scrub(event: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return scrubbers.scrub_event(event, **kw)


def text(s: str, **kw: Any) -> str:
    out = scrub({"message": s}, **kw)["message"]
    assert isinstance(out, str)
    return out


def _gh(body: str, prefix: str = "ghp") -> str:
    b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n, out = zlib.crc32(body.encode()), ""
    while n:
        n, r = divmod(n, 62)
        out = b62[r] + out
    return f"{prefix}_{body}{out.rjust(6, '0')}"


class TestKeyRules:
    @pytest.mark.parametrize(
        "key",
        [
            "password",
            "Password",
            "db_password",
            "newPassword2",
            "X-Api-Key",
            "api_key",
            "apiKey",
            "APIKEY",
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "client_secret",
            "SECRET_KEY",
            "access_token",
            "X-Auth-Token",
            "csrftoken",
            "X-CSRFToken",
            "sessionid",
            "PHPSESSID",
            "connect.sid",
            "private_key",
            "HTTP_AUTHORIZATION",
            "aws_secret_access_key",
            "AUTHTOKEN",
            "mysql_pwd",
        ],
    )
    def test_sensitive_names_are_filtered(self, key: str) -> None:
        """Sensitive names match after normalisation, wherever they are."""
        out = scrub({"extra": {"deep": [{key: "s3cr3t-value"}]}})
        assert out["extra"]["deep"][0][key] == F

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("password_attempts", 3),
            ("reset_password_view", "views.reset"),
            ("max_tokens", 256),
            ("token_type", "bearer"),
            ("author", "jane"),
            ("authority", "ca"),
            ("keyboard", "us"),
            ("session_count", 2),
            ("password_policy_url", "/help"),
        ],
    )
    def test_look_alike_names_survive(self, key: str, value: Any) -> None:
        """Counters and names that merely contain a sensitive word are kept."""
        assert scrub({"extra": {key: value}})["extra"][key] == value

    def test_non_string_values_are_replaced_whole(self) -> None:
        """A sensitive key's dict, list or number is replaced as a whole; None is kept."""
        out = scrub({"extra": {"password": {"a": 1}, "token": [1, 2], "secret": 42, "api_key": None}})
        assert out["extra"] == {"password": F, "token": F, "secret": F, "api_key": None}

    def test_header_pairs_list(self) -> None:
        """Headers given as [name, value] pairs are judged by the name."""
        out = scrub({"request": {"headers": [["Authorization", "Basic abc"], ["Accept", "*/*"]]}})
        assert out["request"]["headers"] == [["Authorization", F], ["Accept", "*/*"]]

    def test_cookie_values_path_rule(self) -> None:
        """All request cookie values are filtered; their names stay."""
        out = scrub({"request": {"cookies": {"theme": "dark", "tracking": "abc"}}})
        assert out["request"]["cookies"] == {"theme": F, "tracking": F}


class TestValueRules:
    def test_only_the_matched_span_is_replaced(self) -> None:
        """The rest of the message stays readable."""
        assert text("mail bob.smith@example.org now") == f"mail {F} now"

    @pytest.mark.parametrize(
        "secret",
        [
            "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx",
            "xoxp-1234567890-1234567890-123456789012-0123456789abcdef0123456789abcdef",
            "xapp-1-A0123456789-1234567890123-" + "ab" * 32,
            "sk-proj-" + "aB3" * 20,
            "sk-ant-api03-" + "xY9_" * 23 + "xAA",
            "sk_live_" + "a1B2" * 6,
            "rk_live_" + "a1B2" * 6,
            "AKIAIOSFODNN7EXAMPLE",
            _gh("aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1"),
            "github_pat_" + "A1b2C3d4E5f6G7h8I9j0K1" + "_" + "a" * 58 + "9",
            "glpat-" + "aB3dE5gH7jK9mN1pQ3sT",
            "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "SK" + "0123456789abcdef" * 2,
            "SG." + "aB3dE5gH7jK9mN1pQ3sT5v" + "." + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9w",
            "key-" + "0123456789abcdef" * 2,
            "npm_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5",
            "pypi-AgEIcHlwaS5vcmc" + "aB3dE5gH7jK9" * 6,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ],
    )
    def test_provider_tokens_in_free_text(self, secret: str) -> None:
        """Vendor credentials are found in the middle of prose, quotes and JSON."""
        for template in ("token {} rejected", "'{}'", '{{"k": "{}"}}', "({})"):
            out = text(template.format(secret))
            assert secret[4:20] not in out, (template, out)
            assert F in out

    def test_credentials_list_alone_catches_provider_tokens(self) -> None:
        """The receiver's second layer uses CREDENTIALS on its own."""
        out = scrubbers.scrub_event({"message": "key AKIAIOSFODNN7EXAMPLE"}, scrubbers.CREDENTIALS)
        assert out["message"] == f"key {F}"

    @pytest.mark.parametrize(
        ("raw", "kept"),
        [
            ("Authorization: Bearer abcdef0123456789xyz", "Authorization: "),
            ("got bearer abcdef0123456789xyz", "got bearer "),
            ("Basic " + base64.b64encode(b"user:hunter22").decode(), "Basic "),
            ("postgres://app:hunter22@db:5432/x", "postgres://app:"),
            ("redis://:hunter22@cache:6379", "redis://:"),
            ("https://bob:hunter22@example.com/x", "https://bob:"),
            ('API_KEY = "abc123def456"', 'API_KEY = "'),
            ("username=bob&password=hunter22&next=/", "username=bob&password="),
            ('{"password": "hunter22", "user": "bob"}', '{"password": "'),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = "),
            (
                "AccountName=x;AccountKey=" + "A" * 86 + "==;EndpointSuffix=core.windows.net",
                "AccountName=x;AccountKey=",
            ),
            (
                "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "https://hooks.slack.com/services/",
            ),
        ],
    )
    def test_generic_credentials_keep_their_context(self, raw: str, kept: str) -> None:
        """Scheme words, user names and field names stay; the secret goes."""
        out = text(raw)
        assert out.startswith(kept)
        assert "hunter22" not in out and "wJalrXUtn" not in out and "XXXXXXXX" not in out and "AAAAAAAA" not in out

    def test_pem_private_key_block(self) -> None:
        """A PEM private key block is replaced whole, also with escaped newlines or truncated."""
        body = base64.b64encode(b"k" * 90).decode()
        for sep in ("\n", "\\n"):
            block = f"-----BEGIN RSA PRIVATE KEY-----{sep}{body}{sep}-----END RSA PRIVATE KEY-----"
            assert body[:16] not in text(f"key={block!r} loaded")
        assert body[:16] not in text(f"-----BEGIN PRIVATE KEY-----\n{body}")

    def test_pii_patterns(self) -> None:
        """Cards, IBANs, SSNs, IPv4 and IPv6 are caught."""
        import random

        rng = random.Random(3)
        for _ in range(30):
            c = card(rng)
            assert text(f"card {c} declined") == f"card {F} declined", c
            i = iban(rng)
            assert text(f"pay to {i}.") == f"pay to {F}.", i
        assert text("ssn 123-45-6789") == f"ssn {F}"
        assert text("from 203.0.113.7 and 2001:db8::8a2e:370:7334") == f"from {F} and {F}"

    @pytest.mark.parametrize(
        "decoy",
        [
            "123e4567-e89b-42d3-a456-426614174000",
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "req_01HFZX3K5V6W7Y8Z9ABCDEFGHJ",
            "2024-11-24T01:42:03.123456Z",
            "1700000000123",
            "1.2.3",
            "v4.12.0",
            "10.0.19041.1",
            "4111111111111112",
            "000-12-3456",
            "127.0.0.1",
            "12:30:45",
            "0x7f3b2c1d0e80",
            "reset_password_view",
            "password_attempts: 3",
            "The password reset flow sends a token by mail.",
            "disk-partition-identifier-for-the-volume",
            "basic authentication is disabled",
            "md5 d41d8cd98f00b204e9800998ecf8427e",
            "UPDATE users SET password_hash = %s WHERE id = ?",
            "SELECT 1 WHERE token = :token",
        ],
    )
    def test_decoys_survive(self, decoy: str) -> None:
        """Identifiers, digests, timestamps, versions and prose are not secrets."""
        assert text(f"x {decoy} y") == f"x {decoy} y"

    def test_keys_themselves_are_scanned(self) -> None:
        """A dict keyed by an e-mail address gets a scrubbed key; the value is kept."""
        out = scrub({"extra": {"visits": {"jane@example.org": 3}}})
        assert out["extra"]["visits"] == {F: 3}


class TestValidators:
    def test_luhn(self) -> None:
        """Luhn accepts valid card numbers only."""
        assert v.luhn("4111111111111111") and not v.luhn("4111111111111112")
        assert v.card_number("4111 1111 1111 1111") and not v.card_number("4111 1111 1111-1111")
        assert not v.card_number("1234567812345670")  # Luhn-valid, no issuer
        import random

        assert not v.card_number(luhn_invalid_16(random.Random(1)))

    def test_iban_mod97(self) -> None:
        """IBAN needs the country length and the mod-97 check."""
        assert v.iban("DE89 3704 0044 0532 0130 00") and v.iban("GB82WEST12345698765432")
        assert not v.iban("DE89 3704 0044 0532 0130 01") and not v.iban("DE89370400440532013")

    def test_ssn_rules(self) -> None:
        """SSN area, group and serial rules."""
        assert v.us_ssn("123-45-6789")
        for bad in ("000-45-6789", "666-45-6789", "912-45-6789", "123-00-6789", "123-45-0000", "123-45 6789"):
            assert not v.us_ssn(bad)

    def test_github_checksum(self) -> None:
        """The CRC32/base62 checksum of new GitHub tokens is verified."""
        tok = _gh("aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1")
        assert v.github_checksum_ok(tok)
        assert not v.github_checksum_ok(tok[:-1] + ("A" if tok[-1] != "A" else "B"))

    def test_basic_and_bearer(self) -> None:
        """Basic needs user:password inside; bearer needs a token-like value."""
        assert v.basic_credentials("Basic " + base64.b64encode(b"a:b").decode())
        assert not v.basic_credentials("Basic authentication")
        assert v.bearer_token("Bearer abc123def456") and not v.bearer_token("Bearer token")


class TestActions:
    def _rule(self, action: Action) -> list[Any]:
        return [KeyRule(id="ssn-field", names=("ssn",), action=action), *scrubbers.DEFAULT]

    def test_mask_keeps_the_tail(self) -> None:
        """MASK stars all but the last characters, for whole values and spans."""
        out = scrub({"extra": {"ssn": "123-45-6789-0000"}}, rules=self._rule(Action.MASK))
        assert out["extra"]["ssn"] == "************0000"
        assert out["_meta"]["extra"]["ssn"][""]["rem"] == [["ssn-field", "m"]]
        masked = PatternRule(id="order-code", pattern=r"ORD-\d{12}", action=Action.MASK, category="pii")
        assert text("o ORD-123456789012 x", rules=[masked]) == "o ************9012 x"

    def test_hash_is_stable_per_key_and_differs_across_keys(self) -> None:
        """HASH gives the same pseudonym for the same value and key, another for another key."""
        ev = {"extra": {"ssn": "123-45-6789"}}
        a1 = scrub(ev, rules=self._rule(Action.HASH), hash_key=b"k1")["extra"]["ssn"]
        a2 = scrub(ev, rules=self._rule(Action.HASH), hash_key=b"k1")["extra"]["ssn"]
        b = scrub(ev, rules=self._rule(Action.HASH), hash_key=b"k2")["extra"]["ssn"]
        assert a1 == a2 != b and a1.startswith("[hmac:") and "6789" not in a1

    def test_remove_drops_the_key(self) -> None:
        """REMOVE deletes the entry and records an 'x' remark."""
        out = scrub({"extra": {"ssn": "123-45-6789", "other": 1}}, rules=self._rule(Action.REMOVE))
        assert out["extra"] == {"other": 1}
        assert out["_meta"]["extra"]["ssn"][""]["rem"] == [["ssn-field", "x"]]


class TestOptions:
    def test_allow_keys_are_never_touched(self) -> None:
        """Allow-listed names keep their value, even one a value rule would catch."""
        ev = {"extra": {"order_token": "abc", "contact": {"support_email": "help@example.org"}}}
        out = scrub(ev, allow_keys=["order_token", "support-email"])
        assert out["extra"] == ev["extra"]

    def test_send_default_pii_keeps_ip_and_email_but_not_secrets(self) -> None:
        """With send_default_pii the user's IP and e-mail stay; passwords and cards still go."""
        ev = {
            "user": {"ip_address": "203.0.113.7", "email": "jane@example.org"},
            "message": "card 4111 1111 1111 1111 from 203.0.113.7",
            "extra": {"password": "x"},
        }
        out = scrub(ev, send_default_pii=True)
        assert out["user"] == ev["user"]
        assert out["message"] == f"card {F} from 203.0.113.7"
        assert out["extra"]["password"] == F
        strict = scrub(ev)
        assert strict["user"] == {"email": F}  # the IP field is removed: servers validate it as an address

    def test_without_ip_address_keeps_ips(self) -> None:
        """Trimming a rule turns it off."""
        rules = scrubbers.DEFAULT.without("ip-address")
        assert text("from 203.0.113.7", rules=rules) == "from 203.0.113.7"


class TestMetaAndCounts:
    def test_meta_shape_for_whole_and_partial(self) -> None:
        """_meta mirrors the path, list indices as strings, ranges in the new string, len of the old one."""
        ev = {
            "request": {"headers": {"Authorization": "Bearer abcdef0123456789xyz"}},
            "exception": {"values": [{"value": "mail jane@example.org please"}]},
        }
        engine = scrubbers.compile_rules()
        counts = engine.scrub_in_place(ev)
        assert counts == {"auth-header": 1, "email": 1}
        assert ev["_meta"]["request"]["headers"]["Authorization"] == {"": {"rem": [["auth-header", "s"]], "len": 26}}
        rem = ev["_meta"]["exception"]["values"]["0"]["value"][""]
        assert rem == {"rem": [["email", "s", 5, 15]], "len": 28}
        assert ev["exception"]["values"][0]["value"][5:15] == F
        assert "jane" not in json.dumps(ev["_meta"])

    def test_existing_meta_is_kept_and_not_scrubbed(self) -> None:
        """Remarks from earlier stages stay, and _meta itself is not walked."""
        ev: dict[str, Any] = {"message": "x", "_meta": {"message": {"": {"rem": [["!limit", "s"]], "len": 9}}}}
        scrubbers.compile_rules().scrub_in_place(ev)
        assert ev["_meta"] == {"message": {"": {"rem": [["!limit", "s"]], "len": 9}}}

    def test_scrub_event_leaves_the_input_untouched(self) -> None:
        """scrub_event returns a copy."""
        ev = {"extra": {"password": "x"}, "message": "jane@example.org"}
        before = copy.deepcopy(ev)
        scrub(ev)
        assert ev == before


class TestOddInput:
    @pytest.mark.parametrize(
        "event",
        [
            {},
            {1: "jane@example.org", None: [b"password=hunter22"], (1, 2): {"password": 3}},
            {"extra": {"a": b"\xff\xfe token=abc123def"}},
            {"extra": {"t": ("jane@example.org", {"x"})}},
            {"extra": {"f": float("nan"), "o": object()}},
            {"message": "İstanbul password=hunter22 \u0130\u0130"},
        ],
    )
    def test_never_raises(self, event: dict[Any, Any]) -> None:
        """Odd keys and values are handled without an exception."""
        counts = scrubbers.compile_rules().scrub_in_place(event)
        assert isinstance(counts, dict)
        assert "scrubber-error" not in counts
        assert "hunter22" not in repr(event) and "jane@" not in repr(event)

    def test_non_dict_event_is_ignored(self) -> None:
        """Anything but a dict gives no counts."""
        assert scrubbers.compile_rules().scrub_in_place(["not", "an", "event"]) == {}

    def test_deep_nesting_is_cut(self) -> None:
        """Nesting beyond the depth limit is dropped (fail closed), not recursed into forever."""
        ev: dict[str, Any] = {"extra": {}}
        node = ev["extra"]
        for _ in range(200):
            node["n"] = {}
            node = node["n"]
        node["password"] = "x"
        counts = scrubbers.compile_rules().scrub_in_place(ev)
        assert counts.get("max-depth") == 1
        assert '"password"' not in json.dumps(ev)

    def test_internal_error_fails_closed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If the engine hits a bug, every string is filtered and the error is counted."""
        engine = scrubbers.compile_rules()

        def boom(*a: Any, **k: Any) -> Any:
            raise RuntimeError("bug")

        monkeypatch.setattr(engine.text, "scan_many", boom)
        ev = {"event_id": "abc", "message": "jane@example.org", "extra": {"n": 1, "s": "text"}}
        counts = engine.scrub_in_place(ev)
        assert counts["scrubber-error"] == 1
        assert ev == {"event_id": "abc", "message": F, "extra": {"n": 1, "s": F}}


class TestPathRules:
    def test_selector_with_globs(self) -> None:
        """** matches any depth, * one key or index."""
        rule = PathRule(id="all-locals", selector="**.vars.*")
        ev = {"exception": {"values": [{"stacktrace": {"frames": [{"vars": {"a": "1", "b": {"c": 2}}}]}}]}}
        out = scrub(ev, rules=[rule])
        assert out["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {"a": F, "b": F}
