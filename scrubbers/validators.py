"""Checks that confirm a pattern match is the real thing, keeping decoys alive.

Each validator takes the whole matched text and returns ``True`` to confirm it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import zlib

__all__ = [
    "basic_credentials",
    "bearer_token",
    "card_number",
    "github_token",
    "iban",
    "ipv4",
    "ipv6",
    "luhn",
    "us_ssn",
]

_NON_DIGIT = re.compile(r"\D")


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_MAESTRO_12 = frozenset(("5018", "5020", "5038", "6304", "6390", "6759", "6761", "6762", "6763"))


def _card_brand_ok(d: str) -> bool:
    n = len(d)
    p2 = int(d[:2])
    p4 = int(d[:4])
    p6 = int(d[:6])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if d.startswith("6011") or d.startswith("65") or 644 <= int(d[:3]) <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if p2 == 35:  # JCB (3528-3589 issued; the rest of 35xx is reserved for it)
        return 16 <= n <= 19
    if d[:4] in ("2131", "1800"):  # JCB, 15-digit
        return n == 15
    if p2 in (36, 38, 39) or 300 <= int(d[:3]) <= 305 or p4 == 3095:  # Diners Club
        return 14 <= n <= 19
    if p2 == 62 or p2 == 81:  # UnionPay
        return 16 <= n <= 19
    if p2 in (50, 56, 57, 58) or d[:2] in ("67", "63"):  # Maestro
        # 12-digit Maestro numbers only for the ranges that issue them: a 12-digit id is common
        return 13 <= n <= 19 or (n == 12 and d[:4] in _MAESTRO_12)
    return False


def card_number(text: str) -> bool:
    """A payment card: 12-19 digits, consistent separators, a known issuer prefix and Luhn."""
    seps = {c for c in text if not c.isdigit()}
    if len(seps) > 1:
        return False
    digits = _NON_DIGIT.sub("", text)
    if not 12 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    if seps:
        groups = re.split(r"\D", text)
        if any(len(g) < 3 for g in groups[:-1]) or len(groups) > 6:
            return False
    return _card_brand_ok(digits) and luhn(digits)


# ISO 13616 lengths (SWIFT IBAN registry), enough to reject most look-alikes.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban(text: str) -> bool:
    """An IBAN: known country, the registry length for it, and the ISO 7064 mod-97 check."""
    s = text.replace(" ", "").replace("-", "").upper()
    if _IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    try:
        num = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return num % 97 == 1


def us_ssn(text: str) -> bool:
    """A US SSN: area not 000/666/9xx, group not 00, serial not 0000, same separator twice."""
    if len(text) != 11 or text[3] != text[6]:
        return False
    area, group, serial = text[:3], text[4:6], text[7:]
    if not (area.isdigit() and group.isdigit() and serial.isdigit()):
        return False
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return len(set(area + group + serial)) > 1


def ipv4(text: str) -> bool:
    """A routable-looking IPv4 address (0.0.0.0, x.0.0.0, loopback and netmasks are kept)."""
    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    # x.0.0.0 is a network or a version number, never a host
    return not (addr.is_loopback or addr.is_unspecified or text.startswith("255.") or text.endswith(".0.0.0"))


def ipv6(text: str) -> bool:
    """An IPv6 address (``::`` and ``::1`` are kept; an IPv4-mapped one is judged by its IPv4).

    Two short groups (``0::2``, ``10::``) are a Python slice, not an address: a real one has a
    group of three or more hex digits (``fe80::1``) or three groups (``2001:db8::1``).
    """
    if text.count(":") < 2:
        return False
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    if "." in text:
        return ipv4(text.rsplit(":", 1)[1])
    groups = [g for g in text.split("%", 1)[0].split(":") if g]
    if len(groups) < 3 and all(len(g) < 3 for g in groups):
        return False
    return not (addr.is_loopback or addr.is_unspecified)


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n: int, width: int) -> str:
    """Encode ``n`` in base62 (0-9A-Za-z), left-padded with ``0`` to ``width`` characters."""
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def github_checksum_ok(token: str) -> bool:
    """GitHub's new-format tokens end in 6 base62 chars: CRC32 of the 30 random chars before them."""
    body = token.split("_", 1)[-1]
    if len(body) != 36:
        return False
    return base62(zlib.crc32(body[:30].encode()), 6) == body[30:]


def github_token(text: str) -> bool:
    """``gh?_`` tokens: accept when the CRC32 checksum holds, or when it looks random enough.

    The checksum is what keeps look-alikes out; tokens from older or unusual issuers whose
    checksum we cannot verify are still caught when their body mixes upper, lower and digits.
    """
    if github_checksum_ok(text):
        return True
    body = text.split("_", 1)[-1]
    return any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body)


def bearer_token(text: str) -> bool:
    """A bearer credential: ``Bearer <token>`` where the token is not an ordinary word."""
    parts = text.split(None, 1)
    if len(parts) != 2:
        return False
    tok = parts[1]
    if tok.startswith("[") or set(tok) <= {"*"}:
        return False
    has_digit = any(c.isdigit() for c in tok)
    return (has_digit and len(tok) >= 8) or len(tok) >= 20 or "." in tok.strip(".")


def basic_credentials(text: str) -> bool:
    """``Basic <base64(user:password)>``: the payload must decode to something with a colon."""
    parts = text.split(None, 1)
    if len(parts) != 2:
        return False
    tok = parts[1]
    try:
        raw = base64.b64decode(tok + "=" * (-len(tok) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw
