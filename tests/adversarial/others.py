"""Check 3 of 3: data written by other people, scored with the same "no 8-character piece" rule.

Two sources, both outside this team:

* **Faker** (PyPI ``faker``, MIT licence): labelled fake personal data from its providers
  (``email``, ``credit_card_number``, ``iban``, ``ssn``, ``ipv4_public``, ``password``), and
  harmless look-alikes as decoys (``user_agent``, ``uuid4``, ``sha1``, ``sha256``, ``md5``,
  ``iso8601``, ``file_path``, ``ean13``, ``isbn13``). Seeded, so runs are repeatable.
* **Vendor documentation samples**: the example credentials vendors print in their own docs
  (collected by hand; each entry names its source). No PyPI package we could install ships
  labelled secret samples: detect-secrets and similar scanners keep their test fixtures out of
  their wheels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

__all__ = ["VENDOR_SAMPLES", "Sample", "faker_samples", "vendor_samples"]


@dataclass(frozen=True)
class Sample:
    """One value from someone else's data, where it came from, and whether it must go."""

    source: str  # "faker:email", "vendor:aws-docs", ...
    value: str
    secret: bool  # True: must be scrubbed; False: a decoy that must survive
    render: Callable[[str], dict[str, Any]]  # how it is planted in an event


def _free_text(v: str) -> dict[str, Any]:
    return {"exception": {"values": [{"type": "ValueError", "value": f"could not process {v} for order 42"}]}}


def _log_arg(v: str) -> dict[str, Any]:
    return {"logentry": {"message": "unexpected value %s", "params": [v], "formatted": f"unexpected value {v}"}}


def _password_log(v: str) -> dict[str, Any]:
    return {
        "logentry": {
            "message": "login failed with password %s",
            "params": [v],
            "formatted": f"login failed with password {v}",
        }
    }


def _password_text(v: str) -> dict[str, Any]:
    return {"message": f"password {v} rejected by policy"}


def _dict_value(v: str) -> dict[str, Any]:
    return {"extra": {"field": v}}


_INTRINSIC = ("email", "credit_card_number", "iban", "ssn", "ipv4_public")
_DECOYS = ("user_agent", "uuid4", "sha1", "sha256", "md5", "iso8601", "file_path", "ean13", "isbn13")


def faker_samples(seed: int = 2024, per_provider: int = 40) -> Iterator[Sample]:
    """Faker values: PII kinds planted without context, passwords with context, decoys anywhere."""
    from faker import Faker

    fake = Faker(["en_US", "de_DE", "en_GB", "fr_FR"])
    Faker.seed(seed)
    us = fake["en_US"]
    for name in _INTRINSIC:
        for i in range(per_provider):
            gen = us if name == "ssn" else fake
            value = str(getattr(gen, name)())
            yield Sample(f"faker:{name}", value, True, (_free_text, _log_arg, _dict_value)[i % 3])
    for i in range(per_provider):
        yield Sample("faker:password", us.password(length=12), True, (_password_log, _password_text)[i % 2])
    for name in _DECOYS:
        for i in range(per_provider):
            value = str(getattr(us, name)())
            yield Sample(f"faker:{name}", value, False, (_free_text, _log_arg, _dict_value)[i % 3])


def _aws_secret(v: str) -> dict[str, Any]:
    return {"extra": {"config": f"aws_secret_access_key = {v}"}}


def _header(v: str) -> dict[str, Any]:
    return {"request": {"headers": {"Authorization": f"Bearer {v}"}}}


VENDOR_SAMPLES: tuple[tuple[str, str, Callable[[str], dict[str, Any]]], ...] = (
    # AWS IAM User Guide, "Managing access keys": the documented example key pair
    ("vendor:aws-docs", "AKIAIOSFODNN7EXAMPLE", _free_text),
    ("vendor:aws-docs", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", _aws_secret),
    # jwt.io's default example token (HS256, "John Doe")
    (
        "vendor:jwt-io",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        _log_arg,
    ),
    # Stripe API reference: the test-mode secret key shown in its curl examples
    ("vendor:stripe-docs", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", _free_text),
    # Slack API docs: the bot token in its OAuth response example
    ("vendor:slack-docs", "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", _log_arg),
    # GitHub REST API docs: the token in the "Authenticating" curl example
    ("vendor:github-docs", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", _header),
    # PostgreSQL docs, "Connection URIs": the example URI with a password
    ("vendor:postgres-docs", "postgresql://user:secret@localhost", _free_text),
)


def vendor_samples() -> Iterator[Sample]:
    """The hand-collected vendor documentation samples (all of them must be scrubbed)."""
    for source, value, render in VENDOR_SAMPLES:
        yield Sample(source, value, True, render)
