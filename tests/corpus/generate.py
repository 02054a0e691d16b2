"""Deterministic labelled corpus for the scrubbers: events with planted secrets and decoys.

    python -m tests.corpus.generate [--events 360] [--seed 4242]   # prints the recall report

Every planted value is format-valid and synthetic (made from a seeded RNG here, never a real
credential, and none is written to disk). Each event carries its labels: ``planted`` (category,
the secret part that must vanish) and ``decoys`` (category, a value that must survive).
Planted values go to every location the scrubber must cover: request url, query string,
headers, cookies, bodies (dict, JSON string, form string), exception values, logentry, frame
locals and source context lines, breadcrumbs, extra, contexts, tags, user, spans, deep nesting.

A planted value counts as leaked if ANY 8-character piece of its secret part survives anywhere
in the serialised scrubbed event.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import string
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
URLSAFE = ALNUM + "_-"


@dataclass
class Item:
    category: str
    value: str  # planted: the secret part that must vanish; decoy: the text that must survive
    location: str


@dataclass
class Case:
    event: Dict[str, Any]
    planted: List[Item] = field(default_factory=list)
    decoys: List[Item] = field(default_factory=list)


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _with_digit(rng: random.Random, alphabet: str, n: int) -> str:
    s = list(_r(rng, alphabet, n))
    s[rng.randrange(n)] = rng.choice(string.digits)
    s[rng.randrange(n)] = rng.choice(string.ascii_uppercase)
    s[rng.randrange(n)] = rng.choice(string.ascii_lowercase)
    return "".join(s)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------- checksummed formats


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    kind = rng.choice(["visa", "mc", "mc2", "amex", "discover", "visa"])
    if kind == "amex":
        num = luhn_complete(rng, rng.choice(["34", "37"]), 15)
        sep = rng.choice(["", " ", "-"])
        return f"{num[:4]}{sep}{num[4:10]}{sep}{num[10:]}" if sep else num
    prefix = {"visa": "4", "mc": str(rng.randint(51, 55)), "mc2": str(rng.randint(2221, 2720)), "discover": "6011"}[
        kind
    ]
    num = luhn_complete(rng, prefix, 16)
    sep = rng.choice(["", " ", "-", " "])
    return sep.join(num[i : i + 4] for i in range(0, 16, 4)) if sep else num


def luhn_invalid_16(rng: random.Random) -> str:
    num = luhn_complete(rng, rng.choice(["4", "5", "1", "9"]), 16)
    bad = str((int(num[-1]) + rng.randint(1, 9)) % 10)
    return num[:-1] + bad


def iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", lambda: _r(rng, string.digits, 18)),
            ("GB", lambda: _r(rng, string.ascii_uppercase, 4) + _r(rng, string.digits, 14)),
            ("FR", lambda: _r(rng, string.digits, 10) + _r(rng, string.digits + string.ascii_uppercase, 11) + "47"),
            ("NL", lambda: _r(rng, string.ascii_uppercase, 4) + _r(rng, string.digits, 10)),
            ("ES", lambda: _r(rng, string.digits, 20)),
        ]
    )
    b = bban()
    num = int("".join(str(int(c, 36)) for c in b + country + "00"))
    full = f"{country}{98 - num % 97:02d}{b}"
    if rng.random() < 0.5:
        return " ".join(full[i : i + 4] for i in range(0, len(full), 4))
    return full


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def github(rng: random.Random) -> str:
    body = _with_digit(rng, ALNUM, 30)
    return f"{rng.choice(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{body}{_base62(zlib.crc32(body.encode()), 6)}"


# ---------------------------------------------------------------- planted categories
# Each maker returns (secret part, text containing it, optional (key, value) field form).

Maker = Callable[[random.Random], Tuple[str, str, Optional[Tuple[str, str]]]]


def _token_text(rng: random.Random, tok: str) -> str:
    return rng.choice(
        [
            "request rejected for credential {t}",
            "using {t} to call the API",
            "ValueError: bad key '{t}'",
            "config={{'client': '{t}', 'retries': 3}}",
            "{t}",
            "Authorization failed (key={t}) after 3 retries",
            "curl -H 'X-Key: {t}' https://api.example.net/v1",
        ]
    ).format(t=tok)


def _provider(gen: Callable[[random.Random], str], secret_of: Callable[[str], str] = lambda t: t) -> Maker:
    def make(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
        tok = gen(rng)
        return secret_of(tok), _token_text(rng, tok), None

    return make


def _field(names: List[str], value: Callable[[random.Random], str]) -> Maker:
    def make(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
        name = rng.choice(names)
        val = value(rng)
        text = rng.choice(
            [
                "{k}={v}",
                '{{"{k}": "{v}", "page": 2}}',
                "{k}: {v}",
                "{K} = '{v}'",
                "login failed: {k}={v}&next=/home",
                "<Settings {k}='{v}' debug=False>",
            ]
        ).format(k=name, K=name.upper(), v=val)
        return val, text, (name, val)

    return make


def _pw(rng: random.Random) -> str:
    return _r(rng, ALNUM + "!#%^*", rng.randint(10, 16))


def _email(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    addr = f"{_r(rng, string.ascii_lowercase, 6)}.{_r(rng, string.ascii_lowercase + string.digits, 5)}@" + (
        f"{_r(rng, string.ascii_lowercase, 7)}.{rng.choice(['com', 'org', 'io', 'de', 'co.uk'])}"
    )
    text = rng.choice(["contact {e} for access", "{e}", "user <{e}> not found", "sent mail to {e}, bcc admin"])
    return addr, text.format(e=addr), ("email", addr)


def _ipv4(rng: random.Random) -> str:
    first = rng.choice([a for a in range(11, 224) if a not in (127,)])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ip(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    if rng.random() < 0.3:
        groups = [f"{rng.getrandbits(16):x}" for _ in range(8)]
        addr = (
            ":".join(["2001", "db8", *groups[2:]])
            if rng.random() < 0.5
            else f"2a02:{groups[1]}:{groups[2]}::{groups[3]}"
        )
    else:
        addr = _ipv4(rng)
    text = rng.choice(["connection from {a} refused", "client {a}", "{a}", "peer={a}:443 reset"])
    return addr, text.format(a=addr), ("ip_address", addr)


def _pem(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body_lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(3, 8))]
    sep = rng.choice(["\n", "\\n"])
    block = f"-----BEGIN {kind}-----{sep}" + sep.join(body_lines) + f"{sep}-----END {kind}-----"
    return "".join(body_lines), rng.choice(["key = '''{b}'''", "{b}", "loaded {b} from disk"]).format(b=block), None


def _jwt(rng: random.Random) -> str:
    head = _b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    body = _b64url(json.dumps({"sub": str(rng.randint(1, 10**6)), "iat": rng.randint(1, 2 * 10**9)}).encode())
    return f"{head}.{body}.{_b64url(rng.randbytes(32))}"


def _bearer(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    tok = _with_digit(rng, ALNUM, rng.randint(24, 48)) if rng.random() < 0.6 else _jwt(rng)
    text = rng.choice(["Authorization: Bearer {t}", "sent header bearer {t}", "Bearer {t}"]).format(t=tok)
    return tok, text, None


def _basic(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    raw = f"{_r(rng, string.ascii_lowercase, 6)}:{_pw(rng)}".encode()
    tok = base64.b64encode(raw).decode()
    return tok, rng.choice(["Basic {t}", "auth header was 'Basic {t}'"]).format(t=tok), None


def _userinfo(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    pw = _with_digit(rng, ALNUM, rng.randint(10, 16))
    url = f"https://{_r(rng, string.ascii_lowercase, 5)}:{pw}@{_r(rng, string.ascii_lowercase, 6)}.example.net/x"
    return pw, rng.choice(["GET {u} failed", "{u}", "proxy={u}"]).format(u=url), None


def _connection(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    pw = _with_digit(rng, ALNUM, rng.randint(10, 16))
    user = _r(rng, string.ascii_lowercase, 5)
    url = rng.choice(
        [
            f"postgresql://{user}:{pw}@db.internal:5432/app",
            f"mysql://{user}:{pw}@10.0.0.5/shop",
            f"redis://:{pw}@cache:6379/0",
            f"mongodb+srv://{user}:{pw}@cluster0.mongodb.net/test",
            f"amqp://{user}:{pw}@rabbit//",
            f"postgres+psycopg2://{user}:{pw}@localhost/db",
        ]
    )
    return pw, rng.choice(["could not connect to {u}", "DATABASE_URL {u}", "{u}"]).format(u=url), None


def _aws_secret(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    sec = _with_digit(rng, ALNUM + "/+", 40)
    text = rng.choice(
        [
            "aws_secret_access_key = {s}",
            "AWS_SECRET_ACCESS_KEY={s}",
            '"SecretAccessKey": "{s}"',
            "secret_access_key: {s}",
        ]
    ).format(s=sec)
    return sec, text, ("aws_secret_access_key", sec)


def _datadog(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    key = _r(rng, HEX, rng.choice([32, 40]))
    text = rng.choice(["DD_API_KEY={k}", "datadog_app_key: {k}", "dd-api-key: {k}"]).format(k=key)
    return key, text, ("DD_API_KEY", key)


def _twilio(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    if rng.random() < 0.5:
        tok = "SK" + _r(rng, HEX, 32)
        return tok, _token_text(rng, tok), None
    tok = _r(rng, HEX, 32)
    return tok, f"TWILIO_AUTH_TOKEN={tok}", ("twilio_auth_token", tok)


def _azure(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    key = base64.b64encode(rng.randbytes(64)).decode()
    account = _r(rng, string.ascii_lowercase, 8)
    conn = f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
    return key, rng.choice(["{c}", "storage: {c}"]).format(c=conn), None


def _slack_webhook(rng: random.Random) -> Tuple[str, str, Optional[Tuple[str, str]]]:
    upper = string.ascii_uppercase + string.digits
    path = f"T{_r(rng, upper, 9)}/B{_r(rng, upper, 9)}/{_r(rng, ALNUM, 24)}"
    url = f"https://hooks.slack.com/services/{path}"
    return path, rng.choice(["POST {u} -> 404", "{u}"]).format(u=url), None


CATEGORIES: Dict[str, Maker] = {
    # field names (structured and name=value in text)
    "password": _field(["password", "passwd", "db_password", "newPassword2", "PASSWORD", "mysql_pwd"], _pw),
    "secret-field": _field(
        ["client_secret", "SECRET_KEY", "secret", "webhookSecret"], lambda r: _with_digit(r, ALNUM, 24)
    ),
    "api-key-field": _field(
        ["api_key", "X-Api-Key", "apiKey", "access_key", "x-api-key"], lambda r: _with_digit(r, ALNUM, 28)
    ),
    "token-field": _field(
        ["token", "access_token", "refresh_token", "X-Auth-Token", "authToken"], lambda r: _with_digit(r, ALNUM, 32)
    ),
    "session": _field(["sessionid", "session_id", "PHPSESSID", "session"], lambda r: _r(r, HEX, 32)),
    "csrf": _field(["csrftoken", "X-CSRFToken", "csrf_token", "_xsrf"], lambda r: _with_digit(r, ALNUM, 32)),
    "authorization": _field(
        ["Authorization", "Proxy-Authorization", "authorization"], lambda r: _with_digit(r, ALNUM, 30)
    ),
    "cookie-header": _field(["Cookie", "Set-Cookie"], lambda r: _with_digit(r, ALNUM, 26)),
    "private-key-field": _field(["private_key", "signing_key", "privateKey"], lambda r: _with_digit(r, ALNUM, 40)),
    # personal data and financial
    "email": _email,
    "ip-address": _ip,
    "credit-card": lambda r: (lambda c: (c, _token_text(r, c).replace("credential", "card"), ("card_number", c)))(
        card(r)
    ),
    "iban": lambda r: (lambda i: (i, rng_text(r, "IBAN {v} on file", i), ("iban", i)))(iban(r)),
    "us-ssn": lambda r: (lambda s: (s, rng_text(r, "applicant SSN {v}", s), ("ssn", s)))(ssn(r)),
    # generic credentials
    "bearer": _bearer,
    "basic": _basic,
    "url-userinfo": _userinfo,
    "connection-string": _connection,
    "jwt": _provider(_jwt),
    "pem-private-key": _pem,
    # provider credentials
    "slack-bot-token": _provider(
        lambda r: f"xoxb-{_r(r, string.digits, 11)}-{_r(r, string.digits, 12)}-{_r(r, ALNUM, 24)}"
    ),
    "slack-user-token": _provider(
        lambda r: (
            f"xoxp-{_r(r, string.digits, 10)}-{_r(r, string.digits, 10)}-{_r(r, string.digits, 12)}-{_r(r, HEX, 32)}"
        )
    ),
    "slack-app-token": _provider(
        lambda r: (
            f"xapp-1-A{_r(r, string.ascii_uppercase + string.digits, 10)}-{_r(r, string.digits, 13)}-{_r(r, HEX, 64)}"
        )
    ),
    "slack-webhook": _slack_webhook,
    "openai": _provider(
        lambda r: (
            r.choice(["sk-proj-", "sk-", "sk-svcacct-"])
            + _with_digit(r, URLSAFE if r.random() < 0.5 else ALNUM, r.choice([48, 64, 120]))
        )
    ),
    "anthropic": _provider(lambda r: f"sk-ant-api03-{_with_digit(r, URLSAFE, 93)}AA"),
    "stripe": _provider(
        lambda r: f"{r.choice(['sk_live_', 'rk_live_'])}{_with_digit(r, ALNUM, r.choice([24, 34, 99]))}"
    ),
    "aws-access-key-id": _provider(lambda r: r.choice(["AKIA", "ASIA"]) + _r(r, string.ascii_uppercase + "234567", 16)),
    "aws-secret-key": _aws_secret,
    "github": _provider(github),
    "github-fine-grained": _provider(lambda r: f"github_pat_{_with_digit(r, ALNUM, 22)}_{_with_digit(r, ALNUM, 59)}"),
    "gitlab": _provider(lambda r: f"glpat-{_with_digit(r, URLSAFE, 20)}"),
    "google-api-key": _provider(lambda r: f"AIza{_with_digit(r, URLSAFE, 35)}"),
    "twilio": _twilio,
    "sendgrid": _provider(lambda r: f"SG.{_with_digit(r, URLSAFE, 22)}.{_with_digit(r, URLSAFE, 43)}"),
    "mailgun": _provider(lambda r: f"key-{_r(r, HEX, 32)}"),
    "npm": _provider(lambda r: f"npm_{_with_digit(r, ALNUM, 36)}"),
    "pypi": _provider(lambda r: f"pypi-AgEIcHlwaS5vcmc{_with_digit(r, URLSAFE, 70)}"),
    "datadog": _datadog,
    "azure-storage": _azure,
}


def rng_text(rng: random.Random, template: str, value: str) -> str:
    return rng.choice([template, "{v}", "value {v} rejected"]).format(v=value)


# ---------------------------------------------------------------- decoys (must survive)


def _decoy_values(rng: random.Random) -> List[Tuple[str, str]]:
    sha = hashlib.sha256(rng.randbytes(16)).hexdigest()
    ulid = _r(rng, "0123456789ABCDEFGHJKMNPQRSTVWXYZ", 26)
    ts = rng.randint(1_600_000_000, 1_800_000_000)
    return [
        ("uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))),
        ("git-sha", hashlib.sha1(rng.randbytes(8)).hexdigest()),
        ("sha256", sha),
        ("request-id", rng.choice([f"req_{_r(rng, ALNUM, 20)}", ulid, f"{_r(rng, HEX, 16)}-{rng.randint(1, 99)}"])),
        (
            "timestamp",
            rng.choice(
                [
                    (
                        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}Z"
                    ),
                    str(ts),
                    str(ts * 1000 + rng.randint(0, 999)),
                    f"{ts}.{rng.randint(0, 999999):06d}",
                ]
            ),
        ),
        (
            "version",
            rng.choice(
                [
                    f"{rng.randint(0, 20)}.{rng.randint(0, 40)}.{rng.randint(0, 99)}",
                    f"v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                    f"{rng.randint(1, 4)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}rc{rng.randint(1, 3)}",
                    f"10.0.{rng.randint(17000, 22999)}.{rng.randint(1, 999)}",
                ]
            ),
        ),
        ("luhn-invalid-number", luhn_invalid_16(rng)),
        (
            "prose",
            rng.choice(
                [
                    "The password reset flow sends a token by mail; the session ends after 30 minutes.",
                    "Secret santa draw finished for team orders",
                    "Use the basic plan for small shops and the bearer of the card pays on delivery.",
                    "Token bucket refilled: 42 tokens available, next refill in 5 seconds",
                ]
            ),
        ),
        ("function-name", rng.choice(["reset_password_view", "validate_token_format", "session_timeout_handler"])),
    ]


# ---------------------------------------------------------------- event skeleton and locations


def _skeleton(rng: random.Random, i: int) -> Dict[str, Any]:
    frames = []
    for f in range(5):
        frames.append(
            {
                "filename": f"app/mod{f}.py",
                "function": f"handler_{f}",
                "lineno": 10 + f,
                "context_line": "    result = service.run(order_id)",
                "pre_context": ["def handler(request):", "    order_id = request.GET['id']"],
                "post_context": ["    return result", ""],
                "vars": {"order_id": str(rng.randint(1, 99999)), "retries": "3", "password_attempts": 3},
                "in_app": True,
            }
        )
    return {
        "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "platform": "python",
        "level": "error",
        "message": None,
        "logentry": {"message": "processing order %s", "formatted": "processing order 17", "params": ["17"]},
        "exception": {"values": [{"type": "ValueError", "value": "boom", "stacktrace": {"frames": frames}}]},
        "request": {
            "url": "https://shop.example.com/api/orders",
            "method": "POST",
            "query_string": "page=2",
            "headers": {"Accept": "application/json", "User-Agent": "pytest"},
            "cookies": {"theme": "dark"},
            "data": {"note": "hi"},
        },
        "breadcrumbs": {"values": [{"message": f"step {b}", "category": "app", "data": {"n": b}} for b in range(3)]},
        "user": {"id": str(i)},
        "tags": {"region": "eu"},
        "contexts": {"app": {"name": "shop"}},
        "extra": {"index": i},
        "spans": [{"op": "db", "description": "SELECT 1", "data": {"db.system": "postgresql"}}],
    }


def _frame(ev: Dict[str, Any], rng: random.Random) -> Dict[str, Any]:
    frames: List[Dict[str, Any]] = ev["exception"]["values"][0]["stacktrace"]["frames"]
    return frames[rng.randrange(len(frames))]


def _append_text(container: Dict[str, Any], key: str, text: str) -> None:
    old = container.get(key)
    container[key] = f"{old}; {text}" if isinstance(old, str) and old else text


TextLoc = Callable[[Dict[str, Any], random.Random, str], None]
FieldLoc = Callable[[Dict[str, Any], random.Random, str, str], None]


def _data_dict(ev: Dict[str, Any]) -> Dict[str, Any]:
    data = ev["request"]["data"]
    if not isinstance(data, dict):
        data = {"raw": data}
        ev["request"]["data"] = data
    return data


def _set_body(ev: Dict[str, Any], text: str) -> None:
    data = ev["request"]["data"]
    if isinstance(data, str):
        ev["request"]["data"] = data + "&" + text
    elif data == {"note": "hi"}:
        ev["request"]["data"] = text
    else:
        data[f"raw_{len(data)}"] = text


def _put(container: Dict[str, Any], key: str, value: Any) -> None:
    n = 2
    name = key
    while name in container:
        name = f"{key}_{n}"
        n += 1
    container[name] = value


TEXT_LOCATIONS: Dict[str, TextLoc] = {
    "exception.value": lambda ev, r, t: _append_text(ev["exception"]["values"][0], "value", t),
    "logentry.message": lambda ev, r, t: _append_text(ev["logentry"], "message", t),
    "logentry.formatted": lambda ev, r, t: _append_text(ev["logentry"], "formatted", t),
    "logentry.params": lambda ev, r, t: ev["logentry"]["params"].append(t),
    "frame.vars.repr": lambda ev, r, t: _put(_frame(ev, r)["vars"], "local", repr(t)),
    "frame.context_line": lambda ev, r, t: _append_text(_frame(ev, r), "context_line", t),
    "frame.pre_context": lambda ev, r, t: _frame(ev, r)["pre_context"].append(t),
    "frame.post_context": lambda ev, r, t: _frame(ev, r)["post_context"].insert(0, t),
    "breadcrumb.message": lambda ev, r, t: ev["breadcrumbs"]["values"].append({"message": t, "category": "log"}),
    "breadcrumb.data": lambda ev, r, t: _put(ev["breadcrumbs"]["values"][0]["data"], "detail", t),
    "request.url": lambda ev, r, t: _append_text(ev["request"], "url", "?q=" + t),
    "request.query_string": lambda ev, r, t: _append_text(ev["request"], "query_string", "note=" + t),
    "request.header.value": lambda ev, r, t: _put(ev["request"]["headers"], "X-Debug-Info", t),
    "request.data.string": lambda ev, r, t: _set_body(ev, json.dumps({"comment": t})),
    "request.data.nested": lambda ev, r, t: _put(_data_dict(ev), "items", [{"text": t}]),
    "extra": lambda ev, r, t: _put(ev["extra"], "detail", t),
    "contexts": lambda ev, r, t: _put(ev["contexts"]["app"], "startup_note", t),
    "tags": lambda ev, r, t: _put(ev["tags"], "debug", t),
    "user": lambda ev, r, t: _put(ev["user"], "note", t),
    "spans.description": lambda ev, r, t: _append_text(ev["spans"][0], "description", t),
    "deep.nesting": lambda ev, r, t: _put(ev["extra"], "deep", {"a": [{"b": {"c": [[{"d": {"e": t}}]]}}]}),
    "message": lambda ev, r, t: _append_text(ev, "message", t),
}

FIELD_LOCATIONS: Dict[str, FieldLoc] = {
    "request.headers": lambda ev, r, k, v: _put(ev["request"]["headers"], k, v),
    "request.cookies": lambda ev, r, k, v: _put(ev["request"]["cookies"], k, v),
    "request.data.dict": lambda ev, r, k, v: _put(_data_dict(ev), k, v),
    "request.data.form": lambda ev, r, k, v: _set_body(ev, f"username=bob&{k}={v}&next=%2F"),
    "request.data.json": lambda ev, r, k, v: _set_body(ev, json.dumps({"user": "bob", k: v})),
    "request.query_string": lambda ev, r, k, v: _append_text(ev["request"], "query_string", f"{k}={v}"),
    "frame.vars": lambda ev, r, k, v: _put(_frame(ev, r)["vars"], k, repr(v)),
    "frame.context_line": lambda ev, r, k, v: _append_text(_frame(ev, r), "context_line", f'{k.upper()} = "{v}"'),
    "breadcrumb.data": lambda ev, r, k, v: _put(ev["breadcrumbs"]["values"][1]["data"], k, v),
    "extra": lambda ev, r, k, v: _put(ev["extra"], k, v),
    "contexts": lambda ev, r, k, v: _put(ev["contexts"], "auth", {k: v}),
    "tags": lambda ev, r, k, v: _put(ev["tags"], k, v),
    "user": lambda ev, r, k, v: _put(ev["user"], k, v),
    "spans.data": lambda ev, r, k, v: _put(ev["spans"][0]["data"], k, v),
    "deep.nesting": lambda ev, r, k, v: _put(ev["extra"], "cfg", {"env": [{"prod": {k: v}}]}),
}


def generate(n_events: int = 360, seed: int = 4242) -> List[Case]:
    """``n_events`` labelled cases; the same seed always gives the same corpus."""
    rng = random.Random(seed)
    cats = list(CATEGORIES)
    text_locs = list(TEXT_LOCATIONS)
    field_locs = list(FIELD_LOCATIONS)
    cases = []
    k = 0
    for i in range(n_events):
        ev = _skeleton(rng, i)
        case = Case(ev)
        used_text: set[str] = set()
        used_field: set[str] = set()
        for _ in range(4):
            cat = cats[k % len(cats)]
            k += 1
            secret, text, kv = CATEGORIES[cat](rng)
            if kv is not None and rng.random() < 0.5:
                loc = field_locs[(k // len(cats) + rng.randrange(3)) % len(field_locs)]
                if loc in used_field:
                    loc = rng.choice([x for x in field_locs if x not in used_field])
                used_field.add(loc)
                name, value = kv
                if cat == "email" and loc == "user" and "email" not in ev["user"]:
                    name = "email"
                FIELD_LOCATIONS[loc](ev, rng, name, value)
            else:
                loc = text_locs[(k // len(cats) + rng.randrange(5)) % len(text_locs)]
                if loc in used_text:
                    loc = rng.choice([x for x in text_locs if x not in used_text])
                used_text.add(loc)
                TEXT_LOCATIONS[loc](ev, rng, text)
            case.planted.append(Item(cat, secret, loc))
        for dcat, value in _decoy_values(rng):
            loc = rng.choice(text_locs)
            TEXT_LOCATIONS[loc](ev, rng, value if rng.random() < 0.5 else f"ref {value} ok")
            case.decoys.append(Item(dcat, value, loc))
        # structural decoys: names that look sensitive but are not
        ev["extra"]["reset_password_view"] = "views.auth.reset_password_view"
        case.decoys.append(Item("sensitive-looking-key", "views.auth.reset_password_view", "extra"))
        ev["extra"]["max_tokens"] = 256 + i
        case.decoys.append(Item("counter", f'"max_tokens": {256 + i}', "extra"))
        case.decoys.append(Item("counter", '"password_attempts": 3', "frame.vars"))
        cases.append(case)
    return cases


def leaked(secret: str, blob: str) -> bool:
    """True if any 8-character piece of ``secret`` appears in ``blob``."""
    if len(secret) <= 8:
        return secret in blob
    return any(secret[i : i + 8] in blob for i in range(len(secret) - 7))


def measure(cases: List[Case], scrub: Callable[[Dict[str, Any]], Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Recall per planted category and survival per decoy category."""
    planted: Dict[str, List[int]] = {}
    decoys: Dict[str, List[int]] = {}
    misses: List[Tuple[str, str]] = []
    for case in cases:
        blob = json.dumps(scrub(case.event), ensure_ascii=False)
        escaped = json.dumps(scrub(case.event))
        for item in case.planted:
            ok = not leaked(item.value, blob) and not leaked(json.dumps(item.value)[1:-1], escaped)
            stat = planted.setdefault(item.category, [0, 0])
            stat[0] += ok
            stat[1] += 1
            if not ok:
                misses.append((item.category, item.location))
        for item in case.decoys:
            ok = item.value in blob or json.dumps(item.value)[1:-1] in escaped
            stat = decoys.setdefault(item.category, [0, 0])
            stat[0] += ok
            stat[1] += 1
            if not ok:
                misses.append(("decoy:" + item.category, item.location))
    return {"planted": planted, "decoys": decoys, "misses": misses}  # type: ignore[dict-item]


def report(result: Dict[str, Any]) -> str:
    lines = ["| planted category | caught | recall |", "|---|---:|---:|"]
    for cat, (ok, total) in sorted(result["planted"].items()):
        lines.append(f"| {cat} | {ok}/{total} | {ok / total:.1%} |")
    lines += ["", "| decoy category | survived | survival |", "|---|---:|---:|"]
    for cat, (ok, total) in sorted(result["decoys"].items()):
        lines.append(f"| {cat} | {ok}/{total} | {ok / total:.1%} |")
    if result["misses"]:
        lines += ["", "misses (category, location): " + ", ".join(f"{c}@{loc}" for c, loc in result["misses"])]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure scrubber recall on the labelled corpus.")
    parser.add_argument("--events", type=int, default=360)
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    import scrubbers

    engine = scrubbers.compile_rules()

    def scrub(ev: Dict[str, Any]) -> Dict[str, Any]:
        return scrubbers.scrub_event(ev, engine.rules)

    print(report(measure(generate(args.events, args.seed), scrub)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
