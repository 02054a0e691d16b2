"""Harmless values that look like secrets must survive; the secrets next to them must not.

Found by a red-team on realistic data: source lines of stack frames (assigned code, type
annotations, template references), state words after credential names, identifiers and paths
after context words, Python slices, retina asset names and promo codes. Every class has kept
look-alikes and still-filtered literals, in a log message and in a frame's source context line.
"""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

import scrubbers
from scrubbers.context import high_entropy, word_built

F = "[Filtered]"
ENGINE = scrubbers.compile_rules()


def _message(s: str) -> dict[str, Any]:
    return {"logentry": {"message": s}}


def _source(s: str) -> dict[str, Any]:
    frame = {"function": "f", "filename": "app/settings.py", "context_line": s, "pre_context": [s], "post_context": []}
    return {"exception": {"values": [{"type": "X", "value": "boom", "stacktrace": {"frames": [frame]}}]}}


def _scrubbed(s: str, place: str) -> str:
    if place == "message":
        ev = _message(s)
        ENGINE.scrub_in_place(ev)
        out = ev["logentry"]["message"]
    else:
        ev = _source(s)
        ENGINE.scrub_in_place(ev)
        out = ev["exception"]["values"][0]["stacktrace"]["frames"][0]["context_line"]
    assert isinstance(out, str)
    return out


PLACES = pytest.mark.parametrize("place", ["message", "source"])


def assert_kept(s: str, place: str) -> None:
    assert _scrubbed(s, place) == s


def assert_filtered(s: str, secret: str, place: str) -> None:
    out = _scrubbed(s, place)
    assert secret not in out, out
    assert F in out


@PLACES
class TestCodeIsNotALiteral:
    @pytest.mark.parametrize(
        "line",
        [
            "def login(username: str, password: str) -> bool:",
            "    password = os.environ['DB_PASSWORD']",
            '    password = os.environ.get("DB_PASSWORD", "")',
            "    api_key = settings.STRIPE_API_KEY",
            "    token = get_token(user)",
            "    client.login(user=user, password=password)",
            "    auth_token=self.auth_token,",
            "    secret: Optional[str] = None",
            "    token: str | None = None",
            "    api_key: SecretStr",
            "    secret_key: bytes = b''",
            "    password = form.cleaned_data['password']",
            "    headers: dict[str, str] = {}",
            "    token = request.headers.get('X-Token')",
            "DB_PASSWORD=${DB_PASSWORD}",
            "API_TOKEN=$API_TOKEN",
            'password: "{{ db_password }}"',
            'password = "${DB_PASSWORD}"',
            "password=%(password)s",
            "    const apiKey = process.env.API_KEY;",
            '    secret: str = os.environ["SECRET"]',
            "    password: str | None = None",
        ],
    )
    def test_kept(self, line: str, place: str) -> None:
        """Assigned code, annotations and template references are not secrets."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "secret"),
        [
            ('password = "hunter2"', "hunter2"),
            ("password=hunter2", "hunter2"),
            ("api_key = 'sk-Xq7Lm2Pz9Rt4Vw8Kc3Nb'", "sk-Xq7Lm2Pz9Rt4Vw8Kc3Nb"),
            ("password: Tr0ub4dor&3", "Tr0ub4dor&3"),
            ("token=abc.def.ghi", "abc.def.ghi"),
            ("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.Qm9wX2sLx7Vt", "eyJhbGciOiJIUzI1NiJ9"),
            ("password=Pa(ss)w0rd", "Pa(ss)w0rd"),
            ("password=Summer.Breeze", "Summer.Breeze"),
            ("password=$ecretPass1", "$ecretPass1"),
            ("password: sunshine", "sunshine"),
            ("token = 'get_token(user)'", "get_token(user)"),
            ("DB_PASSWORD=Kq9vLm2x", "Kq9vLm2x"),
            ('    password: str = "hunter2"', "hunter2"),
            ("    api_key: Optional[str] = 'sk-Xq7Lm2Pz9Rt4Vw8Kc3Nb'", "sk-Xq7Lm2Pz9Rt4Vw8Kc3Nb"),
            ('def connect(host: str, password: str | None = "Hunter12!x"):', "Hunter12!x"),
            ('    token = b"xK9qZ2mL7vB4nP8r"', "xK9qZ2mL7vB4nP8r"),
            ("SECRET_KEY = rb'Kq9vLm2x'", "Kq9vLm2x"),
        ],
    )
    def test_literals_still_filtered(self, line: str, secret: str, place: str) -> None:
        """A literal, quoted or not, is filtered whole, also as an annotated default (``password: str = 'x'``)."""
        assert_filtered(line, secret, place)


@PLACES
class TestStateWords:
    @pytest.mark.parametrize(
        "line",
        [
            "tests: pass=120 fail=3 skip=2",
            "PASS: test_login (tests.test_auth.LoginTests)",
            "pass: 120, fail: 3",
            "auth: required",
            "Authentication: disabled",
            "credentials: expired",
            "Session: started",
            "token: EOF",
            "Unexpected token: EOF",
            "api_key: missing",
        ],
    )
    def test_kept(self, line: str, place: str) -> None:
        """Test results and credential states are words, not credentials."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "secret"),
        [
            ("password: sunshine", "sunshine"),
            ("pass=Hunter2024!", "Hunter2024!"),
            ("PASS=Qz7kw9Lp", "Qz7kw9Lp"),
            ("session: 8f2kq9x7v3m1p0zt6yw4", "8f2kq9x7v3m1p0zt6yw4"),
            ("token: xKq9PzLmN2", "xKq9PzLmN2"),
            ("auth: Zx8vQ2mK", "Zx8vQ2mK"),
        ],
    )
    def test_credentials_still_filtered(self, line: str, secret: str, place: str) -> None:
        """Passwords may be words; other credentials that are not words are filtered."""
        assert_filtered(line, secret, place)


@PLACES
class TestNamesAfterContextWords:
    @pytest.mark.parametrize(
        "line",
        [
            "Missing key ShippingAddressLine2 in payload",
            "Unknown key PaymentMethodTypes2",
            "No implementation provided for interface IPaymentGateway2",
            "No implementation provided for interface PaymentGatewayV2Ada",
            "supplied value RequestTimeoutMs2000 out of range",
            "Fetching secret prod/PaymentService/DbCredentials2",
            "secret manager path projects/acme/secrets/StripeApiKey/versions/3",
            "partition key TenantId-000123-Orders not found",
            "S3 key exports/Tenant42/Report2024Q2Final",
            "Published with key OrderCreated2024",
            "Unsupported session type RedisSessionStore2",
            "api_key = settings.STRIPE_API_KEY_V2",
        ],
    )
    def test_kept(self, line: str, place: str) -> None:
        """Identifiers and paths built of words are not tokens."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "secret"),
        [
            ("token xX9kQ2mZ7vB4nL8pR3tY6wE1 expired", "xX9kQ2mZ7vB4nL8pR3tY6wE1"),
            ("retrying with key tK9f8sdf7s6d5f4s3d2f1q", "tK9f8sdf7s6d5f4s3d2f1q"),
            ("Fetching secret prod/Xk9Qz2Lm7Vb4Np8Rt3Yw", "Xk9Qz2Lm7Vb4Np8Rt3Yw"),
            ("session 4k9x2m7q8v1z3p6w0n5j2h8c7b4f1d9s expired", "4k9x2m7q8v1z3p6w0n5j2h8c7b4f1d9s"),
        ],
    )
    def test_tokens_still_filtered(self, line: str, secret: str, place: str) -> None:
        """Random tokens next to a context word are still filtered."""
        assert_filtered(line, secret, place)


def _random(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
            return s


@pytest.mark.parametrize(
    "alphabet",
    [
        string.ascii_letters + string.digits,
        string.ascii_letters + string.digits + "+/",
        string.ascii_letters + string.digits + "-_",
        string.ascii_lowercase + string.digits,
    ],
)
@pytest.mark.parametrize("length", [20, 24, 28, 32])
def test_random_tokens_are_not_word_built(alphabet: str, length: int) -> None:
    """No random token of 20+ characters reads as a name made of words (the shape check is tight)."""
    rng = random.Random(length * 1000 + len(alphabet))
    misses = [s for s in (_random(rng, alphabet, length) for _ in range(2000)) if word_built(s)]
    assert misses == []


def test_adversarial_token_shapes_stay_high_entropy() -> None:
    """The generator's mixed tokens and session ids stay tokens."""
    from tests.adversarial.generate import _mixed, _session

    rng = random.Random(7)
    assert all(high_entropy(_mixed(rng, 28)) for _ in range(2000))
    assert all(high_entropy(_session(rng)) for _ in range(2000))


@PLACES
class TestPythonSlicesAndIpv6:
    @pytest.mark.parametrize(
        "line", ["evens = items[0::2]", "rev = data[10::-1]", "arr[1::3] = 0", "x = a[::2]", "t = m[1::]"]
    )
    def test_slices_kept(self, line: str, place: str) -> None:
        """A slice with two short numbers is not an IPv6 address."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "addr"),
        [
            ("peer fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
            ("from 2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
            ("link-local fe80::1 up", "fe80::1"),
            ("from 2001:db8::1 ok", "2001:db8::1"),
            ("client ::ffff:203.0.113.77 connected", "203.0.113.77"),
            ("peer [::ffff:198.51.100.23]:443 reset", "198.51.100.23"),
            ("via 64:ff9b::198.51.100.2", "198.51.100.2"),
        ],
    )
    def test_addresses_filtered(self, line: str, addr: str, place: str) -> None:
        """Real IPv6 addresses, and IPv4-mapped ones with their IPv4, are filtered."""
        assert_filtered(line, addr, place)

    @pytest.mark.parametrize("line", ["bind ::1", "listen [::]:8080", "from ::ffff:127.0.0.1"])
    def test_loopback_kept(self, line: str, place: str) -> None:
        """Loopback and unspecified addresses, mapped or not, are kept as before."""
        assert_kept(line, place)


@PLACES
class TestRetinaAssets:
    @pytest.mark.parametrize(
        "line",
        [
            "static/img/logo@2x.png",
            "Loaded assets: icons/sprite@2x.webp, icons/sprite@3x.webp",
            "hero@1.5x.jpg missing",
            "GET /static/avatar@2x.JPEG 404",
        ],
    )
    def test_kept(self, line: str, place: str) -> None:
        """A scale factor and a file extension after the @ is an asset name, not an e-mail domain."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "addr"),
        [("mail ana.silva42@example.org", "ana.silva42@example.org"), ("to jo@2x.com now", "jo@2x.com")],
    )
    def test_emails_filtered(self, line: str, addr: str, place: str) -> None:
        """E-mail addresses, even at a domain that starts like a scale factor, are filtered."""
        assert_filtered(line, addr, place)


@PLACES
class TestQueryCodes:
    @pytest.mark.parametrize(
        "line",
        [
            "https://shop.example.com/cart?code=WELCOME10",
            "checkout?code=SUMMER2024",
            "redeem?code=PROMO-SUMMER-2024&qty=1",
            "lookup?key=shipping_address",
        ],
    )
    def test_promo_codes_kept(self, line: str, place: str) -> None:
        """A word with a number is a promo code, not an OAuth code."""
        assert_kept(line, place)

    @pytest.mark.parametrize(
        ("line", "secret"),
        [
            ("/callback?code=e72e16c7e42f292c6912&state=xyz", "e72e16c7e42f292c6912"),
            ("/callback?code=4/0AeaYSHBq7Xk2mZ9vL3&scope=email", "4/0AeaYSHBq7Xk2mZ9vL3"),
            ("/img?sig=Sg7Hk2Lm9Pq4Rs1Tv8Wx5Yz3", "Sg7Hk2Lm9Pq4Rs1Tv8Wx5Yz3"),
            ("/cb?code=a8Fk29q", "a8Fk29q"),
        ],
    )
    def test_token_codes_filtered(self, line: str, secret: str, place: str) -> None:
        """OAuth codes, signatures and keys are token-shaped and filtered."""
        assert_filtered(line, secret, place)


@pytest.mark.parametrize("text", ["?token=abc&x=1", "auth=secret", "session=open"])
def test_an_assigned_word_is_still_the_value(text: str) -> None:
    """A state word counts only in prose (``token: EOF``); after ``=`` it is what the name holds."""
    assert "[Filtered]" in scrubbers.compile_rules().scrub_text(text)
