"""Key normalisation and the default sensitive-key rules.

``X-Api-Key``, ``x_api_key``, ``xApiKey`` and ``HTTP_X_API_KEY`` all normalise to tokens ending in
``api key``. A key is sensitive when a *suffix* of its tokens spells a sensitive name, so
``db_password`` and ``new_password2`` are sensitive, ``password_attempts`` (a counter) and
``reset_password_view`` (a view name) are not.

Two kinds of words keep a name that only *looks* sensitive clean: a longer ordinary word that
ends in a sensitive name (``possession`` is no ``session``), and a qualifier that names a public
or structural key or an ordinary pass (``public_key``, ``cache_key``, ``boarding_pass``).
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Sequence

from scrubbers.rules import Action, KeyRule

__all__ = ["DEFAULT_KEY_RULES", "KeyClassifier", "compact_suffixes", "key_tokens", "reversed_anchor"]

_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_DIGITS = re.compile(r"([A-Za-z])([0-9])|([0-9])([A-Za-z])")
_SEP = re.compile(r"[\W_]+")  # letters of every script stay in their word: contraseña, hasło, lösenord

# Qualifiers before a final ``key`` / ``pass`` that make the pair an ordinary thing, not a
# credential; the pair is fused into one word so it reads neither as ``pass`` nor as the weak ``key``.
# (``primary_key`` is not here: Azure's PrimaryKey is an account key; a database's "id" is no token anyway.)
_PLAIN_QUALIFIERS = {
    "key": frozenset(
        (
            "public",
            "publishable",
            "pub",
            "site",
            "cache",
            "object",
            "partition",
            "sort",
            "range",
            "row",
            "foreign",
            "idempotency",
            "dedup",
            "dedupe",
            "deduplication",
            "routing",
            "lookup",
            "index",
            "unique",
            "natural",
            "surrogate",
            "composite",
            "clustering",
            "shard",
            "translation",
            "i18n",
            "shortcut",
            "hot",
            "cursor",
            "sequence",
        )
    ),
    "pass": frozenset(
        (
            "boarding",
            "first",
            "second",
            "third",
            "final",
            "last",
            "next",
            "single",
            "multi",
            "two",
            "render",
            "shadow",
            "depth",
            "lighting",
            "blur",
            "bloom",
            "compute",
            "geometry",
            "post",
            "season",
            "day",
            "bus",
            "hall",
            "free",
            "backstage",
            "press",
            "ski",
            "transit",
        )
    ),
}
# Ordinary words ending in a sensitive name that is long enough to match glued on (AUTHTOKEN).
_WORD_ENDINGS = (
    "possession",
    "obsession",
    "concession",
    "accession",
    "succession",
    "procession",
    "recession",
    "secession",
    "intercession",
    "pallbearer",
    "torchbearer",
    "cupbearer",
    "standardbearer",
    "betoken",
    "countersignature",
    "resenha",
)


@functools.lru_cache(maxsize=8192)
def key_tokens(key: str) -> tuple[str, ...]:
    """Split a field name into lower-case word tokens; trailing number tokens are dropped.

    Cached: every ``compile_rules`` splits the same few hundred rule names, and the walk asks for
    the names it meets (bounded, and a pure function of the name)."""
    s = _ACRONYM.sub(r"\1 \2", key)
    s = _CAMEL.sub(r"\1 \2", s)
    s = _DIGITS.sub(lambda m: f"{m.group(1) or m.group(3)} {m.group(2) or m.group(4)}", s)
    toks = [t for t in _SEP.split(s.lower()) if t]
    while toks and toks[-1].isdigit():
        toks.pop()
    if len(toks) > 1 and toks[-1] in _PLAIN_QUALIFIERS and toks[-2] in _PLAIN_QUALIFIERS[toks[-1]]:
        toks[-2:] = [toks[-2] + toks[-1]]
    return tuple(toks)


def compact_suffixes(key: str) -> tuple[str, tuple[str, ...]]:
    """``(whole, suffixes)``: the joined tokens and every joined token suffix of ``key``."""
    toks = key_tokens(key)
    return "".join(toks), tuple("".join(toks[i:]) for i in range(len(toks)))


def _compact(name: str) -> str:
    return "".join(key_tokens(name))


class KeyClassifier:
    """Decide which key rule (if any) a field name falls under; cached per raw key."""

    ALLOW = object()  # sentinel: the key is allow-listed; its value must not be touched

    def __init__(self, rules: Sequence[KeyRule], allow_keys: Iterable[str] = ()) -> None:
        self._rules = [
            (
                rule,
                frozenset(_compact(n) for n in rule.names),
                frozenset(_compact(n) for n in rule.exact),
                # long names also match glued on without a word boundary: AUTHTOKEN, WEBHOOKSECRET
                tuple(c for c in (_compact(n) for n in rule.names) if len(c) >= 5),
            )
            for rule in rules
        ]
        self._allow = frozenset(_compact(k) for k in allow_keys)
        self._cache: dict[str, object] = {}

    def classify(self, key: str) -> object:
        """``KeyRule`` for a sensitive key, ``ALLOW`` for an allow-listed one, else ``None``."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        whole, suffixes = compact_suffixes(key)
        result: object = None
        if whole in self._allow or (not whole and key.lower() in self._allow):
            result = self.ALLOW
        else:
            for rule, names, exact, glued in self._rules:
                if (
                    whole in exact
                    or any(s in names for s in suffixes)
                    or (whole.endswith(glued) and not whole.endswith(_WORD_ENDINGS))
                ):
                    result = rule
                    break
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[key] = result
        return result


def _k(
    rule_id: str,
    category: str,
    names: Iterable[str] = (),
    exact: Iterable[str] = (),
    *,
    pii: bool = False,
    action: Action = Action.FILTER,
    description: str,
) -> KeyRule:
    return KeyRule(
        id=rule_id,
        names=tuple(names),
        exact=tuple(exact),
        category=category,
        action=action,
        pii=pii,
        description=description,
    )


DEFAULT_KEY_RULES: tuple[KeyRule, ...] = (
    _k(
        "auth-header",
        "auth",
        ["authorization", "auth", "credentials", "credential", "creds", "x-auth", "authentication"],
        description="Authorization / Proxy-Authorization headers, auth and credentials fields",
    ),
    _k(
        "cookie-header",
        "session",
        ["cookie", "set-cookie"],
        description="Cookie and Set-Cookie headers",
    ),
    _k(
        "csrf-field",
        "session",
        ["csrf", "xsrf", "csrf_token", "xsrf_token", "csrfmiddlewaretoken", "csrftoken", "xsrftoken"],
        description="CSRF/XSRF tokens (csrftoken, X-CSRFToken, _xsrf, csrfmiddlewaretoken)",
    ),
    _k(
        "session-field",
        "session",
        ["session", "session_id", "sessionid", "session_key", "sessid", "phpsessid", "jsessionid"],
        exact=["connect.sid", "asp.net_sessionid", "sid"],
        description="session ids and session keys (sessionid, PHPSESSID, connect.sid, ...)",
    ),
    _k(
        "password-field",
        "password",
        [
            "password",
            "passwd",
            "pwd",
            "passphrase",
            "passcode",
            "password_hash",
            "pass_phrase",
            "pass",
            # the word for password in other languages (a field named in the app's own language)
            *("senha", "kennwort", "passwort", "contrasena", "contraseña", "motdepasse", "mot_de_passe"),
            *("haslo", "hasło", "heslo", "wachtwoord", "parola", "salasana", "lösenord", "losenord", "passord"),
            *("adgangskode", "jelszo", "jelszó", "sifre", "şifre", "пароль", "密码", "密碼", "パスワード", "비밀번호"),
        ],
        exact=["pw", "pin"],
        description=(
            "password fields (password, passwd, pwd, mysql_pwd, new_password1, login_pass, db_pass, ...; "
            "senha, kennwort, contraseña, hasło, ...); a field named just pin"
        ),
    ),
    _k(
        "secret-field",
        "secret",
        [
            "secret",
            "secrets",
            "secret_key",
            "secret_key_base",
            "secret_access_key",
            "client_secret",
            "shared_secret",
            # wallet seeds and 2FA fallbacks: each one is the account
            *("mnemonic", "seed_phrase", "recovery_phrase", "seed_words", "recovery_code", "recovery_codes"),
            *("backup_code", "backup_codes"),
        ],
        description=(
            "secret fields (secret, client_secret, SECRET_KEY, SECRET_KEY_BASE, aws_secret_access_key, ...), "
            "wallet seed phrases and 2FA recovery codes"
        ),
    ),
    _k(
        "private-key-field",
        "secret",
        ["private_key", "privatekey", "signing_key", "encryption_key", "master_key", "ssh_key", "pkey"],
        description="private and signing key fields",
    ),
    _k(
        "api-key-field",
        "credential",
        [
            "api_key",
            "apikey",
            "access_key",
            "auth_key",
            "app_key",
            "application_key",
            "subscription_key",
            "license_key",
            "client_key",
        ],
        description="API key fields (api_key, X-Api-Key, access_key, DD_APP_KEY, ...)",
    ),
    _k(
        "token-field",
        "credential",
        [
            "token",
            "jwt",
            "bearer",
            "otp",
            "totp",
            "otp_code",
            "totp_code",
            "mfa_code",
            "signature",
            "client_assertion",
            "code_verifier",
        ],
        exact=["sig"],
        description=(
            "token fields (token, access_token, refresh_token, X-Auth-Token, ...), OAuth client assertions "
            "and PKCE code verifiers"
        ),
    ),
    _k(
        "payment-card-field",
        "financial",
        ["cvv", "cvv2", "cvc", "cvc2", "card_number", "cardnumber", "card_no", "security_code", "card_verification"],
        exact=["pan", "ccn"],
        description="payment card fields (card_number, cvv, cvc, security_code)",
    ),
    _k(
        "bank-account-field",
        "financial",
        ["account_number", "bank_account", "bank_account_number", "routing_number", "iban", "acct_number"],
        description="bank account fields (account_number, routing_number, iban, bank_account)",
    ),
    _k(
        "national-id-field",
        "pii",
        [
            "ssn",
            "social_security_number",
            "social_security_no",
            "tax_id",
            "taxpayer_id",
            "national_id",
            "national_insurance_number",
            "passport_number",
            "passport_no",
            "drivers_license_number",
            "driver_license_number",
            "id_card_number",
        ],
        exact=["tin", "nino", "sin_number"],
        description="national identifiers (ssn, tax_id, national_id, passport_number, drivers_license_number, tin)",
    ),
    _k(
        "ip-address-field",
        "pii",
        [
            "ip_address",
            "ipaddress",
            "remote_addr",
            "x_forwarded_for",
            "forwarded_for",
            "x_real_ip",
            "client_ip",
            "true_client_ip",
            "cf_connecting_ip",
        ],
        exact=["ip", "forwarded"],
        pii=True,
        # Removed, not replaced: servers validate these as IP addresses and would flag "[Filtered]".
        action=Action.REMOVE,
        description="IP address fields (user.ip_address, REMOTE_ADDR, X-Forwarded-For); kept with send_default_pii",
    ),
)


_GENERIC_LAST_TOKENS = frozenset(("id", "key", "code", "hash", "phrase", "for", "addr", "address", "url", "ip"))


def reversed_anchor(name: str) -> str | None:
    """The last word(s) of ``name`` reversed, as the assignment scanner meets them right-to-left
    after the operator (two words when the last is generic: ``session_id``, ``api_key``)."""
    toks = key_tokens(name)
    if not toks:
        return None
    take = 2 if toks[-1] in _GENERIC_LAST_TOKENS and len(toks) > 1 else 1
    # "\x01" stands for an optional separator between tokens
    return "\x01".join(t[::-1] for t in reversed(toks[-take:]))
