"""What each Action does to a value or a span: filter, mask, hash (keyed HMAC) or remove."""

from __future__ import annotations

import hashlib
import hmac
import re

from scrubbers.rules import Action

__all__ = ["FILTERED", "REMARK_CODE", "is_placeholder", "mask", "pseudonym", "replacement"]

FILTERED = "[Filtered]"
_FILTER, _MASK, _HASH, _REMOVE = Action.FILTER, Action.MASK, Action.HASH, Action.REMOVE

# Relay's remark types: s = substituted, m = masked, p = pseudonymised, x = removed.
REMARK_CODE = {Action.FILTER: "s", Action.MASK: "m", Action.HASH: "p", Action.REMOVE: "x"}

_HMAC_RE = re.compile(r"\[hmac:[0-9a-f]{16}\]")
_MASK_RE = re.compile(r"\*+[^*]{0,4}")


def is_placeholder(value: str) -> bool:
    """True for our own replacements, so scrubbing twice changes nothing."""
    if value[:1] not in ("[", "*"):  # every placeholder starts with one of these
        return False
    return value == FILTERED or _HMAC_RE.fullmatch(value) is not None or _MASK_RE.fullmatch(value) is not None


def mask(value: str) -> str:
    """Star all but the last few characters: 4 kept for 16+ chars, 2 for 8+, none below."""
    n = len(value)
    keep = 4 if n >= 16 else 2 if n >= 8 else 0
    return "*" * (n - keep) + value[n - keep :] if keep else "*" * max(n, 1)


def pseudonym(key: bytes, value: str) -> str:
    """A stable pseudonym: the first 16 hex digits of HMAC-SHA256(key, value)."""
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"[hmac:{digest[:16]}]"


def replacement(action: Action, value: str, hash_key: bytes | None) -> str:
    """The text that replaces ``value`` (a whole string or a matched span) under ``action``."""
    if action is _FILTER:
        return FILTERED
    if action is _MASK:
        return mask(value)
    if action is _HASH and hash_key is not None:
        return pseudonym(hash_key, value)
    if action is _REMOVE:
        return ""
    return FILTERED
