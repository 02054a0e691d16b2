"""Default value patterns for personal data and generic credentials found inside any string.

Only the matched span (or its ``secret`` group) is replaced, so the rest of a message stays
readable. Every pattern starts with a lookbehind that stops it matching in the middle of a
word, and checksummed formats go through a validator, so look-alikes survive.
"""

from __future__ import annotations

from scrubbers import validators
from scrubbers.credentials import TOKEN_RUN
from scrubbers.rules import PatternRule

__all__ = ["DEFAULT_PATTERN_RULES"]

_DB_SCHEMES = (
    r"postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|"
    r"cockroachdb|clickhouse|kafka|nats|couchdb|neo4j(?:\+s)?|bolt|memcached|cassandra|"
    r"elasticsearch|ldaps?|sqlalchemy|jdbc:[a-z]+|[a-z]+\+[a-z0-9]+"
)

# ``user:password@``, split at the last "@" before the host: people write an e-mail login unencoded
# (``postgres://ana@example.org:pw@db``) and passwords with an "@" in them (``app:p@ss@db``)
_USERINFO = r"(?:[^:/?#\s\"'<>]*:(?P<secret>[^/?#\s\"'<>]+)|"
# a database URL's password is written by hand more often than encoded: "/", "?" and "#" in it
# belong to it (its host has no "@" after it), so it runs to the last "@" before a space
_DB_USERINFO = r"(?:[^:/?#\s\"'<>]*:(?P<secret>[^\s\"'<>\x00]+)|"
_DB_USERINFO_BACK = r"[^\s@\"'<>\x00]{1,256}?//:[A-Za-z0-9+.:-]{0,20}[A-Za-z]"
# reversed "scheme://user:password" before the "@": where a userinfo URL starts
_USERINFO_BACK = r"[^\s/?#@\"'<>\x00]{1,256}//:[A-Za-z0-9+.:-]{0,20}[A-Za-z]"

PEM_PRIVATE_KEY = PatternRule(
    id="pem-private-key",
    category="credential",
    pattern=(
        r"-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,12000}?-----END[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:,-]*)"
    ),
    description="PEM private key blocks (RSA, EC, OPENSSH, PGP, encrypted), also when truncated",
    prefilter="-----BEGIN",
    window=(0, 13000),
)

JWT = PatternRule(
    id="jwt",
    category="credential",
    pattern=r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?![\w-])",
    description="JSON Web Tokens (header.payload.signature, base64url)",
    prefilter=TOKEN_RUN,
    prefilter_view="token",
    window=(0, 0),
)

BEARER = PatternRule(
    id="bearer-token",
    category="auth",
    pattern=r"(?<![\w-])(?i:bearer)\s+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)(?![\w~+/=-])",
    validator=validators.bearer_token,
    description="`Bearer <token>` credentials in free text (keeps the scheme word)",
    prefilter="bearer",
    prefilter_view="lower",
    anchored=True,
)

BASIC = PatternRule(
    id="basic-auth",
    category="auth",
    pattern=r"(?<![\w-])(?i:basic)\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![\w+/=])",
    validator=validators.basic_credentials,
    description="`Basic <base64(user:password)>` credentials in free text",
    prefilter="basic",
    prefilter_view="lower",
    anchored=True,
)

CONNECTION_STRING = PatternRule(
    id="connection-string",
    category="credential",
    pattern=(r"(?<![\w+.-])(?i:" + _DB_SCHEMES + r")://" + _DB_USERINFO + r"(?P<secret2>[^:/?#@\s\"'<>]{16,}))@"),
    description="passwords in database and broker URLs (postgres://user:PASSWORD@host, redis://:PASSWORD@)",
    prefilter="@",
    back=_DB_USERINFO_BACK,
)

URL_USERINFO = PatternRule(
    id="url-userinfo",
    category="credential",
    pattern=(r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://" + _USERINFO + r"(?P<secret2>[^:/?#@\s\"'<>]{20,}))@"),
    description="credentials in URL userinfo (https://user:PASSWORD@host, https://TOKEN@host)",
    prefilter="@",
    back=_USERINFO_BACK,
)

EMAIL = PatternRule(
    id="email",
    category="pii",
    pattern=(
        r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
        # not a retina asset (logo@2x.png, sprite@1.5x.webp): a scale factor, then a file extension
        r"(?!\d+(?:\.\d+)?x\.(?i:png|jpe?g|gif|webp|svg|avif|bmp|ico|tiff?|heic)(?![\w-]))"
        # not followed by ":port" or ":path": that is a URL's userinfo@host or git@host:org/repo
        # (nor cut short before the rest of its host name: ana@corp.example.com:pw@db)
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?!\w|:[\w/~]|\.[A-Za-z])"
    ),
    pii=True,
    description="e-mail addresses; kept with send_default_pii",
    prefilter="@",
    back=r"[A-Za-z0-9._%+-]{1,64}",
)

CREDIT_CARD = PatternRule(
    id="credit-card",
    category="financial",
    pattern=(
        r"(?<![\w.-])[1-6]"
        r"(?:\d{11,18}|\d{3}(?:[ -]\d{4}){2}(?:[ -]\d{1,4}){1,2}|\d{3}[ -]\d{6}[ -]\d{4,5})"
        r"(?![\w-]|\.\d)"
    ),
    validator=validators.card_number,
    description="payment card numbers (Visa, Mastercard, Amex, Discover, JCB, ...), Luhn-checked",
    prefilter=r"0000(?:0{8}|-0000-0000|-000000-0000)",
    prefilter_view="shape",
    window=(4, 24),
)

IBAN = PatternRule(
    id="iban",
    category="financial",
    pattern=r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w-])",
    validator=validators.iban,
    description="IBANs (plain or grouped by 4), mod-97 checked against the country length",
    prefilter="AA00",
    prefilter_view="shape",
    window=(0, 40),
)

US_SSN = PatternRule(
    id="us-ssn",
    category="pii",
    pattern=r"(?<![\w.-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-]|\.\d)",
    validator=validators.us_ssn,
    description="US social security numbers (123-45-6789), area/group/serial rules applied",
    prefilter="000-00-0000",
    prefilter_view="shape",
    window=(0, 0),
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

IPV4 = PatternRule(
    id="ip-address",
    category="pii",
    pattern=(
        # not after a product token's "/" (Chrome/124.0.0.0 is a version)
        r"(?<![\w.:])(?<![A-Za-z]/)(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
        r"(?![\w]|\.\d)"
    ),
    validator=validators.ipv4,
    pii=True,
    description="IPv4 addresses (loopback, x.0.0.0, versions like Chrome/124.0.0.0 kept); kept with send_default_pii",
    prefilter=r"0\.0{1,3}\.0{1,3}\.0",
    prefilter_view="shape",
    window=(3, 4),
)

IPV6 = PatternRule(
    id="ipv6-address",
    category="pii",
    pattern=(
        r"(?<![\w:.])(?:"
        # an IPv4 tail: ::ffff:203.0.113.7 (IPv4-mapped, dual-stack logs), 64:ff9b::198.51.100.2
        r"(?:[0-9A-Fa-f]{0,4}:){2,6}" + _OCTET + r"(?:\." + _OCTET + r"){3}(?!\w|\.\d)"
        r"|(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})"
        r"(?:%[0-9A-Za-z]+)?(?!\w))"
    ),
    validator=validators.ipv6,
    pii=True,
    description=(
        "IPv6 addresses, validated (loopback/unspecified and slices like items[0::2] kept; IPv4-mapped ones "
        "judged by their IPv4); kept with send_default_pii"
    ),
    prefilter=r":(?::|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:)",
    window=(40, 45),
)

# Order matters: earlier rules win when two match at the same place.
DEFAULT_PATTERN_RULES: tuple[PatternRule, ...] = (
    PEM_PRIVATE_KEY,
    JWT,
    CONNECTION_STRING,
    URL_USERINFO,
    BEARER,
    BASIC,
    EMAIL,
    CREDIT_CARD,
    IBAN,
    US_SSN,
    IPV4,
    IPV6,
)
