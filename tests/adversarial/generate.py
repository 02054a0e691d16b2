"""Adversarial events organised by *placement class*, not by rule: every secret kind in every place.

A placement class is a way a value reaches an event that the rules' authors did not write for
it (a log argument, a name/value pair, a percent-encoded query, a JSON document inside a
string, an argv list in an error message, ...). Each case plants one secret of one kind in one
placement, next to a decoy (a UUID, a digest, a version, a user agent, ...) planted the same way
under an innocent name. A new placement class is one function here and multiplies across all
kinds; a new kind multiplies across all placements.

Scoring is the rule of ``sdk_core.testing.assert_no_secrets``: no 8-character piece of the
secret may survive anywhere in the scrubbed event; a decoy survives when it is still there whole.
Kinds without an intrinsic shape (a password, a random token) are only expected to be caught in
placements that carry a context (a name, a flag, a context word): the shape alone is never enough.
"""

from __future__ import annotations

import json
import random
import string
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import quote

from sdk_core.testing import assert_no_secrets

__all__ = ["DECOYS", "KINDS", "PLACEMENTS", "Case", "cases", "leaked", "survives"]

_ALNUM = string.ascii_letters + string.digits
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _mixed(rng: random.Random, n: int) -> str:
    while True:
        s = "".join(rng.choice(_ALNUM) for _ in range(n))
        if any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s):
            return s


def _password(rng: random.Random, symbols: str = "!#$%&*-_") -> str:
    word = rng.choice(["hunter", "quiet", "maple", "orbit", "velvet", "copper"])
    return f"{word.capitalize()}{rng.randint(10, 9999)}{rng.choice(symbols)}{rng.choice(['x', 'Qz', 'kw'])}"


def _session(rng: random.Random) -> str:
    while True:
        s = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        if sum(c.isdigit() for c in s) >= 8:
            return s


def _github(rng: random.Random) -> str:
    body = _mixed(rng, 30)
    n = zlib.crc32(body.encode())
    check = ""
    while n:
        n, r = divmod(n, 62)
        check = _B62[r] + check
    return "ghp_" + body + check.rjust(6, "0")


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _iban(rng: random.Random) -> str:
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    num = int("".join(str(int(c, 36)) for c in bban + "DE00"))
    return f"DE{98 - num % 97:02d}{bban}"


def _ssn(rng: random.Random) -> str:
    return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def _jwt(rng: random.Random) -> str:
    return "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1" + _mixed(rng, 12) + "In0." + _mixed(rng, 43)


@dataclass(frozen=True)
class Kind:
    """One kind of secret: how to make one, the names it travels under, and its words."""

    id: str
    category: str
    make: Callable[[random.Random], str]
    names: tuple[str, ...]  # field names (and query names) it is found under
    flag: str  # command-line flag
    word: str  # context word in free text
    intrinsic: bool  # recognisable by its shape alone (a checksum, a prefix, a format)
    secret: Callable[[str], str] = lambda v: v  # the part that must not survive
    keep: Callable[[str], str] = lambda v: ""  # a part of the planted value that must survive


KINDS: tuple[Kind, ...] = (
    Kind("password", "password", _password, ("password", "login_pass", "db_pass", "pwd", "passwd"), "password",
         "password", False),
    Kind("token", "credential", lambda r: _mixed(r, 28), ("access_token", "api_key", "key", "sig", "code", "token"),
         "token", "token", False),
    Kind("session-id", "session", _session, ("sessionid", "session_id", "PHPSESSID"), "session-token", "session",
         False),
    Kind("aws-access-key", "provider-credential", lambda r: "AKIA" + "".join(r.choice(_B32) for _ in range(16)),
         ("access_key",), "access-key", "key", True),
    Kind("github-token", "provider-credential", _github, ("github_token",), "token", "token", True),
    Kind("stripe-key", "provider-credential", lambda r: "sk_live_" + _mixed(r, 24), ("stripe_key",), "api-key", "key",
         True),
    Kind("slack-token", "provider-credential", lambda r: f"xoxb-{r.randint(10**10, 10**11)}-{_mixed(r, 24)}",
         ("slack_token",), "token", "token", True),
    Kind("google-api-key", "provider-credential", lambda r: "AIza" + _mixed(r, 35), ("key", "google_key"), "api-key",
         "key", True),
    Kind("jwt", "credential", _jwt, ("id_token", "jwt"), "token", "token", True),
    Kind("db-url", "credential",
         # URL userinfo may hold "!*-_$" as they are; "#%&/@" would have to be percent-encoded
         lambda r: f"postgres://app:{_password(r, '!*-_$')}@db{r.randint(1, 9)}.internal:5432/shop",
         ("database_url",), "db-url", "url", True,
         secret=lambda v: v.split(":", 2)[2].split("@")[0], keep=lambda v: v.split("@")[1]),
    Kind("email", "pii", lambda r: f"{r.choice(['ana', 'li', 'jo'])}.{r.choice(['silva', 'kim'])}{r.randint(1, 999)}"
         f"@{r.choice(['example.org', 'mail.example.com'])}", ("email", "owner_email"), "email", "email", True),
    Kind("credit-card", "financial", _luhn_card, ("card_number", "pan"), "card", "card", True),
    Kind("iban", "financial", _iban, ("iban",), "iban", "iban", True),
    Kind("us-ssn", "pii", _ssn, ("ssn",), "ssn", "ssn", True),
    Kind("ipv4", "pii", lambda r: f"{r.choice([23, 45, 81, 151, 198])}.{r.randint(1, 254)}.{r.randint(1, 254)}."
         f"{r.randint(1, 254)}", ("client_ip",), "ip", "from", True),
)  # fmt: skip

DECOYS: tuple[tuple[str, str], ...] = (
    ("request_id", "550e8400-e29b-41d4-a716-446655440000"),
    ("commit", "3f786850e387550fdab836ed7e6dc881de23001b"),
    ("digest", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("started_at", "2024-05-01T10:22:33.123456+00:00"),
    ("version", "4.12.0-rc.1+a1b2c3d"),
    ("user_agent", _UA),
    ("path", "/srv/app/models/user_2024.py"),
    ("repo", "git@github.com:acme/shop.git"),
    ("counter", "password_attempts=3"),
    ("view", "reset_password_view"),
    ("trace", "req_8f14e45fceea167a5a36dedd4bea2543"),
)  # fmt: skip


def _header_name(name: str) -> str:
    return "X-" + "-".join(p.capitalize() for p in name.split("_"))


def _log(template: str, params: Any) -> dict[str, Any]:
    formatted = template % (params if isinstance(params, dict) else tuple(params))
    return {"logentry": {"message": template, "params": params, "formatted": formatted}}


def _log_crumb(template: str, params: Any) -> dict[str, Any]:
    formatted = template % (params if isinstance(params, dict) else tuple(params))
    crumb = {"type": "log", "message": formatted, "data": {"logentry": {"message": template, "params": params}}}
    return {"breadcrumbs": {"values": [crumb]}}


Placement = Callable[[Kind, str, str], dict[str, Any]]
# placement(kind, name, value) -> event fragment; ``name`` is the field name (a decoy's innocent one)

PLACEMENTS: dict[str, tuple[bool, Placement]] = {
    # name -> (carries context, how to plant)
    "dict-key": (True, lambda k, n, v: {"extra": {n: v}}),
    "request-header": (True, lambda k, n, v: {"request": {"headers": {_header_name(n): v}}}),
    "frame-local": (True, lambda k, n, v: {"exception": {"values": [{"stacktrace": {"frames": [{"vars": {
        n: repr(v)}}]}}]}}),
    "log-param-after-word": (True, lambda k, n, v: _log(f"login failed with {n.replace('_', ' ')} %s", [v])),
    "log-param-after-assign": (True, lambda k, n, v: _log(f"retrying, {n}=%s", [v])),
    "log-param-named": (True, lambda k, n, v: _log(f"lookup %({n})s failed", {n: v})),
    "log-breadcrumb-param": (True, lambda k, n, v: _log_crumb(f"connect {n}=%s", [v])),
    "pair-name-value": (True, lambda k, n, v: {"extra": {"env": [{"name": n.upper(), "value": v}]}}),
    "pair-Key-Value": (True, lambda k, n, v: {"extra": {"tags": [{"Key": n, "Value": v}]}}),
    "pair-key-value": (True, lambda k, n, v: {"extra": {"setting": {"key": n, "value": v}}}),
    "pair-list": (True, lambda k, n, v: {"request": {"headers": [[_header_name(n), v]]}}),
    "pair-tuple": (True, lambda k, n, v: {"extra": {"params": [(n, v)]}}),
    "query-encoded": (True, lambda k, n, v: {"request": {
        "query_string": f"page=2&{n}={quote(v, safe='')}&next=%2Fcart"}}),
    "url-in-breadcrumb": (True, lambda k, n, v: {"breadcrumbs": {"values": [{"type": "http", "data": {
        "url": f"https://api.shop.test/v1/items?{n}={quote(v, safe='')}&sort=asc"}}]}}),
    "form-body-string": (True, lambda k, n, v: {"request": {"data": f"next=%2Fhome&{n}={quote(v, safe='')}"}}),
    "json-in-string": (True, lambda k, n, v: {"extra": {"body": json.dumps({"user": {n: v, "lang": "en"}})}}),
    "repr-in-string": (True, lambda k, n, v: {"extra": {"payload": repr({n: v, "retries": 3})}}),
    "cli-flag-equals": (True, lambda k, n, v: {"message": f"Command 'deploy --{k.flag}={v} --yes' failed"}),
    "cli-flag-space": (True, lambda k, n, v: {"message": f"running: tool sync --{k.flag} {v} --dry-run"}),
    "cli-argv-repr": (True, lambda k, n, v: {"exception": {"values": [{"type": "CalledProcessError", "value":
        f"Command '['tool', '--{k.flag}', '{v}', 'sync']' returned non-zero exit status 1."}]}}),
    "env-assignment": (True, lambda k, n, v: {"message": f"{n.upper()}={v} ./migrate.sh exited with 2"}),
    "free-text-context": (True, lambda k, n, v: {"exception": {"values": [{"value": f"{k.word} {v} expired"}]}}),
    "free-text-got": (True, lambda k, n, v: {"message": f"{k.word} mismatch: got '{v}'"}),
    "log-param-no-context": (False, lambda k, n, v: _log("step %s failed after %d tries", [v, 3])),
    "innocent-key": (False, lambda k, n, v: {"extra": {"note": f"customer wrote: {v}"}}),
    "list-item": (False, lambda k, n, v: {"extra": {"items": ["a", v, "b"]}}),
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One planted secret (and one decoy) in one placement."""

    placement: str
    kind: Kind
    name: str
    value: str
    decoy: str
    event: dict[str, Any]

    @property
    def expected(self) -> bool:
        """Whether the scrubber must catch it: intrinsic shapes anywhere, the rest only with context."""
        return self.kind.intrinsic or PLACEMENTS[self.placement][0]


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    for k, v in b.items():
        if k in a and isinstance(a[k], dict) and isinstance(v, dict):
            _merge(a[k], v)
        elif k in a and isinstance(a[k], list) and isinstance(v, list):
            a[k] = a[k] + v
        elif k in a and k == "message":
            a[k] = a[k] + " | " + v
        elif k in a and isinstance(v, str):
            a[k + "_2"] = v
        elif k in a and k == "logentry":
            a.setdefault("extra", {})["decoy_log"] = v
        else:
            a[k] = v
    return a


def cases(seed: int = 1337, per_pair: int = 3) -> Iterator[Case]:
    """Every kind in every placement, ``per_pair`` times with fresh values, names and decoys."""
    rng = random.Random(seed)
    i = 0
    for placement, (_, plant) in PLACEMENTS.items():
        for kind in KINDS:
            for j in range(per_pair):
                name = kind.names[j % len(kind.names)]
                value = kind.make(rng)
                decoy_name, decoy = DECOYS[i % len(DECOYS)]
                i += 1
                # the decoy travels the same way under innocent words
                innocent = Kind("decoy", "decoy", kind.make, (decoy_name,), decoy_name.replace("_", "-"),
                                decoy_name.replace("_", " "), False)  # fmt: skip
                event = {"event_id": "0" * 32, "platform": "python"}
                _merge(event, plant(kind, name, value))
                _merge(event, plant(innocent, decoy_name, decoy))
                yield Case(placement, kind, name, value, decoy, event)


def leaked(case: Case, scrubbed: dict[str, Any]) -> bool:
    """True when an 8-character piece of the secret survived anywhere (``assert_no_secrets``)."""
    try:
        assert_no_secrets([scrubbed], [case.kind.secret(case.value)])
    except AssertionError:
        return True
    keep = case.kind.keep(case.value)
    return bool(keep) and not survives(keep, scrubbed)


def survives(text: str, scrubbed: dict[str, Any]) -> bool:
    """True when ``text`` (or its percent-encoded form) is still whole somewhere in the event."""
    blob = json.dumps({k: v for k, v in scrubbed.items() if k != "_meta"}, ensure_ascii=False)
    return any(form in blob or json.dumps(form)[1:-1] in blob for form in {text, quote(text, safe="")})
