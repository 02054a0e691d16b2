"""Secrets recognised by what stands next to them: a context word, a command-line flag, a query name.

A high-entropy token alone is not enough (UUIDs, digests and request ids look the same), and
neither is a word alone; these rules need both. They run after every specific pattern, so a
recognised provider token next to a context word is reported as that provider's token.
"""

from __future__ import annotations

import re

from scrubbers.rules import PatternRule

__all__ = ["CONTEXT_TOKEN", "DEFAULT_CONTEXT_RULES", "WEAK_KEY_NAMES", "high_entropy", "password_like", "word_built"]

WEAK_KEY_NAMES = frozenset(("key", "sig", "code", "signing", "refresh", "access", "license"))
"""Last words of field names (``key``, ``X-Key``, ``sig``, ``code``, ``SLACK_SIGNING``, simplejwt's
``refresh``/``access``, ``license``) whose value is a credential only when it reads as a token."""

_TOKEN_CHARS = r"A-Za-z0-9_\-+/=.~"
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_HEX_RE = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_TAIL_RE = re.compile(r"[^\s'\"(<:=,]+$")
_FILE_RE = re.compile(
    r"\.(?:py|pyc|js|ts|json|txt|html?|log|ya?ml|cfg|ini|csv|xml|md|pem|crt|key|gz|zip|so|dll)$", re.I
)
_BIND_RE = re.compile(r"%(?:\([A-Za-z_]\w*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifxXeEgGa]|\?|\$\d+|:[A-Za-z_]\w*|\{\w*\}")
# camel-case humps, acronyms and numbers: "IMG20240601Final" -> IMG, 20240601, Final
_RUN_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_CLUSTER_RE = re.compile(r"[^aeiouy]{4}")
_PLAIN_WORDS = frozenset(("none", "null", "nil", "true", "false", "undefined", "redacted", "filtered", "required"))


def _tail(match: str) -> str:
    m = _TAIL_RE.search(match)
    return m.group() if m else match


def _pronounceable(run: str) -> bool:
    """A letter run that could be a word: a real vowel, not vowels alone, no four consonants in a row."""
    low = run.lower()
    vowels = sum(c in "aeiouy" for c in low)
    return any(c in "aeiou" for c in low) and len(low) <= vowels * 4 <= len(low) * 3 and not _CLUSTER_RE.search(low)


def _standalone(value: str, start: int, end: int) -> bool:
    return (start == 0 or not value[start - 1].isalnum()) and (end == len(value) or not value[end].isalnum())


def word_built(value: str) -> bool:
    """An identifier or path made of words (``ShippingAddressLine2``, ``prod/PaymentService/Db2``).

    Random tokens switch character class every one or two characters and have letter runs no
    one could pronounce; names are a few long pronounceable humps, a lower-case run only where
    a part starts, and at most a short acronym or unit (``Id``, ``V2``, ``IMG``) per two words.
    An upper-case word counts only standing alone (``STRIPE_API_KEY``): base32 runs are glued.
    """
    runs = list(_RUN_RE.finditer(value))
    if not runs or len(runs) * 3 > sum(m.end() - m.start() for m in runs):
        return False
    word_letters = letters = words = short = 0
    for m in runs:
        run = m.group()
        if run.isdigit():
            continue
        if run[0].islower() and m.start() and value[m.start() - 1].isalnum():
            return False  # "kjvAug": a lower-case run glued to a digit or capital run
        letters += len(run)
        if len(run) <= 2 or (run.isupper() and not _standalone(value, m.start(), m.end())):
            short += 1  # "Id", "V2", or an acronym glued to more: "IMG2024"
        elif _pronounceable(run):
            word_letters += len(run)
            words += 1
        else:
            return False
    return words > 0 and short <= max(1, words // 2) and word_letters * 5 >= letters * 3


def high_entropy(value: str) -> bool:
    """A token that reads as random: long, mixed character classes, not a UUID, file, word or name.

    Hex strings of 20+ characters count (API tokens are often hex); the rules using this only
    apply it next to a context word, so a digest standing alone is never touched.
    """
    v = value.strip("'\"").rstrip(".")
    n = len(v)
    if n < 16 or n > 512 or _UUID_RE.fullmatch(v) or _FILE_RE.search(v):
        return False
    has_digit = any(c.isdigit() for c in v)
    has_lower = any(c.islower() for c in v)
    has_upper = any(c.isupper() for c in v)
    if not has_digit and not (has_lower and has_upper and any(c in "+/=_-" for c in v)):
        return False
    if len(set(v)) < 8:
        return False
    if _HEX_RE.fullmatch(v):
        return n >= 20
    if word_built(v):
        return False
    if has_lower and has_upper:
        return True
    # one case plus digits: base32/base36 ids; reject snake_case or dotted words with a number
    digits = sum(c.isdigit() for c in v)
    return n >= 20 and digits * 5 >= n and "_" not in v and "." not in v


def password_like(value: str) -> bool:
    """A value after the word *password* that is not an ordinary word, number or placeholder."""
    v = value.strip("'\"")
    if len(v) < 6 or v.lower() in _PLAIN_WORDS or _BIND_RE.fullmatch(v) or v.startswith(("[", "<", "{", "%(")):
        return False
    has_alpha = any(c.isalpha() for c in v)
    has_digit = any(c.isdigit() for c in v)
    has_symbol = any(not c.isalnum() for c in v)
    mixed = any(c.isupper() for c in v[1:]) and any(c.islower() for c in v)
    return has_alpha and (has_digit or has_symbol or mixed)


def _secret_of(rule: PatternRule, match: str) -> str:
    m = rule.compiled.match(match)
    return m.group("secret") if m is not None and m.group("secret") else _tail(match)


def _validate_token(match: str) -> bool:
    return high_entropy(_secret_of(CONTEXT_TOKEN, match))


def _validate_password(match: str) -> bool:
    return password_like(_secret_of(CONTEXT_PASSWORD, match))


def _validate_glued(match: str) -> bool:
    return password_like(match[2:].strip("'\""))


def _validate_command_line(match: str) -> bool:
    m = COMMAND_LINE.compiled.match(match)
    if m is None:
        return True
    if m.group("secret2") is not None:  # -u a:b is a uid:gid, not a login, when both are ids or one name twice
        user, second = m.group("user").strip("'\""), m.group("secret2")
        return not (user == second or (user.isdigit() and second.isdigit()))
    value = m.group("secret") or ""
    return not (value.isdigit() and len(value) <= 2)  # ffmpeg -pass 2


def _validate_auth_scheme(match: str) -> bool:
    m = AUTH_SCHEME.compiled.match(match)
    token = m.group("secret") if m is not None else ""
    return any(c.isdigit() for c in token) or (any(c.isupper() for c in token) and any(c.islower() for c in token))


def _validate_query(match: str) -> bool:
    """A token-shaped value: long, or switching character class often; not a word plus a number.

    Promo and coupon codes (``code=WELCOME10``, ``code=SUMMER2024``) are words; OAuth codes,
    signatures and keys are long random strings.
    """
    name, value = match.split("=", 1)
    if _BIND_RE.fullmatch(value) or value.lower() in _PLAIN_WORDS or word_built(value):
        return False
    n = len(value)
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    name = name.lower()
    if name in _LOOSE_QUERY_NAMES:  # a 32-hex OpenWeather appid counts; ticket=TCK-2024-042 does not
        return n >= 16 and has_digit and has_alpha
    if n < 6:
        return False
    return n >= 20 or len(_RUN_RE.findall(value)) >= 4 or (n >= 12 and has_digit and has_alpha)


# Between the context word and the token: "=", ":", or up to three short words ("mismatch: got").
_FILLER = r"['\"]?(?:[ \t]*[:=][ \t]*|[ \t]+)(?:[a-z]{1,12}[:,]?[ \t]+){0,3}['\"(<]?"
_TOKEN = r"(?P<secret>[" + _TOKEN_CHARS + r"]{15,511}[A-Za-z0-9_\-+/=~])(?![A-Za-z0-9_\-+/=~]|\.[A-Za-z0-9])"

CONTEXT_TOKEN = PatternRule(
    id="context-token",
    category="credential",
    pattern=(r"(?<![A-Za-z])(?i:keys?|tokens?|secrets?|session(?:[ _-]?id)?|supplied|provided)" + _FILLER + _TOKEN),
    validator=_validate_token,
    description=(
        "a high-entropy token right after a context word in free text (`token X expired`, "
        "`csrf token mismatch: got X`, `retrying with key X`, `supplied 'X'`); never the shape alone"
    ),
    prefilter=r"key|token|secret|session|supplied|provided",
    prefilter_view="lower",
    anchored=True,
)

CONTEXT_PASSWORD = PatternRule(
    id="context-password",
    category="password",
    pattern=(
        r"(?<![A-Za-z_])(?i:password|passwd|passphrase|pwd|pw)"
        r"(?:[ \t]*[:=][ \t]*|[ \t]+)"
        # filler: "is:", "was", "reset to", "for alice:", "for user 42 to"
        r"(?:(?:is|was|of|to|set|got|given|supplied|provided|value|mismatch|invalid|rejected|now|changed|reset"
        r"|updated|for[ \t]+(?:user[ \t]+|account[ \t]+)?[^\s'\"]{1,64}?)[:=]?[ \t]+){0,3}"
        r"['\"]?(?P<secret>[^\s'\"]{5,127}[^\s'\",;.)\]}])"
    ),
    validator=_validate_password,
    description=(
        "a password-like value right after the word password in free text (`login failed with password X`, "
        "`your new password is: X`, `temporary password for alice: X`, `pw X expires`)"
    ),
    prefilter=r"pass|pw",
    prefilter_view="lower",
    anchored=True,
)

# --password=x, --password x, --db-token x, and argv reprs: '--password', 'x'
_SEP = r"(?:=|[ \t]+|['\"],[ \t]*['\"])"
COMMAND_LINE = PatternRule(
    id="command-line-secret",
    category="credential",
    pattern=(
        r"(?<![\w-])(?:--?(?:[A-Za-z0-9]+[-_])*(?i:password|passwd|pass|pwd|token|secret|api[-_]?key|access[-_]?key"
        r"|auth|credentials?|bearer)" + _SEP + r"['\"]?(?![-\[*])(?P<secret>[^\s'\",\]]{1,256})"
        r"|(?:-u|--user)" + _SEP + r"?['\"]?(?P<user>[^\s:'\"@/-][^\s:'\"@/]*)"
        r":(?![\[*])(?P<secret2>[^\s'\",\]@]{1,256}))"
    ),
    validator=_validate_command_line,
    description=(
        "secrets on command lines (`--password=x`, `--password x`, `--token x`, `--oauth2-bearer x`, "
        "`-u user:pass`; not `-u 1000:1000` or `-u www-data:www-data`, which name a uid:gid)"
    ),
    prefilter=r"-[-up]",  # shared with glued-password-flag: one pass for both
    anchored=True,
)

# A short flag that means "password" only for its program (`-a` is redis-cli's, `-w` ldapsearch's, `-P` zip's):
# the program, up to ten arguments of the same command, then the flag. Also in argv reprs: 'sshpass', '-p', 'x'.
_ARG_SEP = r"['\"]?,?[ \t]+['\"]?"
_ARG_SEP_REV = r"['\"]?[ \t]+,?['\"]?"  # _ARG_SEP read backwards
_ARGS = r"(?:" + _ARG_SEP + r"[^\s'\"|;&<>]+){0,10}?"
_POSITIONAL = _ARG_SEP + r"[^\s'\"|;&<>\[-]\S*"
_PROGRAM_FLAGS = (  # (program, the arguments that may come before the flag, the flag and what precedes the value)
    # sshpass's own options come before the command it runs (whose -p is ssh's port)
    (r"sshpass", r"(?:" + _ARG_SEP + r"(?:-[fdP]" + _ARG_SEP + r"[^\s'\"]+|-[A-Za-z]+)){0,4}?", r"-p" + _ARG_SEP),
    (r"docker" + _ARG_SEP + r"login", _ARGS, r"-p" + _ARG_SEP),
    (r"redis-cli", _ARGS, r"-a" + _ARG_SEP),
    (r"ldap[a-z]+", _ARGS, r"-w" + _ARG_SEP),
    (r"(?:un)?zip", _ARGS, r"-P" + _ARG_SEP),
    (r"openssl", _ARGS, r"(?:-k" + _ARG_SEP + r"|-pass(?:in|out)" + _ARG_SEP + r"pass:)"),
    (r"(?:smb|rpc)client", _ARGS, r"(?:-U|--user)(?:=|" + _ARG_SEP + r")[^\s%'\"]+%"),
    # htpasswd -b file user password; htpasswd -nb user password (no file)
    (r"htpasswd", _ARGS, r"-[A-Za-mo-z]*b[A-Za-mo-z]*(?:" + _ARG_SEP + r"-[A-Za-mo-z]+)*" + _POSITIONAL * 2 + _ARG_SEP),
    (
        r"htpasswd",
        _ARGS,
        r"-[A-Za-z]*(?:b[A-Za-z]*n|n[A-Za-z]*b)[A-Za-z]*(?:" + _ARG_SEP + r"-[A-Za-z]+)*" + _POSITIONAL + _ARG_SEP,
    ),
)
PROGRAM_PASSWORD_FLAG = PatternRule(
    id="program-password-flag",
    category="password",
    pattern=(
        r"(?<![\w.-])(?:" + "|".join(prog + gap + _ARG_SEP + flag for prog, gap, flag in _PROGRAM_FLAGS) + r")"
        r"(?![-\[*])(?P<secret>[^\s'\",\]|;&<>]{1,256})"
    ),
    description=(
        "a password after a short flag that means password for its program only: `sshpass -p`, `docker login -p`, "
        "`redis-cli -a`, `ldapsearch -w`, `zip -P`, `openssl -k`, `smbclient -U user%x`, `htpasswd -b file user x` "
        "(so `ls -a`, `grep -w`, `cp -P` are untouched)"
    ),
    # found from the flag (one literal-led pass): the program is then looked for just before it
    prefilter=r"-(?:[pawPkU]|pass(?:in|out)|[A-Za-z]{0,3}b[A-Za-z]{0,3})['\"]?,?[ \t]",
    back=(
        _ARG_SEP_REV
        + r"(?:[^\s'\"|;&<>]+"
        + _ARG_SEP_REV
        + r"){0,10}?(?:ssaphss|nigol"
        + _ARG_SEP_REV
        + r"rekcod|ilc-sider|[a-z]+padl|piz(?:nu)?|lssnepo|tneilc(?:bms|cpr)|dwssapth)(?![\w.-])"
    ),
)

GLUED_PASSWORD_FLAG = PatternRule(
    id="glued-password-flag",
    category="password",
    pattern=(
        r"(?<![\w-])-p(?:'(?P<secret2>[^'\n]{4,128})'|\"(?P<secret3>[^\"\n]{4,128})\""
        r"|(?![\s'\"\[*])(?![a-z]+=)(?P<secret>[^\s'\",\]]{4,128}))"
    ),
    validator=_validate_glued,
    description=(
        "a password glued to its flag (mysql `-pS3cret`, `-p'S3cret'`); `-pthread`-like words and long options "
        "(`-parallelism=20`) are kept"
    ),
    prefilter=r"-[-up]",
    anchored=True,
)

# Query names that carry a credential only sometimes (`?refresh=1`, `?ticket=4711`, `?appid=730`): their value
# must read as a random token. key=, sig= and code= (and invite_code=) take any value that is not a word.
_LOOSE_QUERY_NAMES = frozenset(("appid", "ticket", "magic", "license", "refresh"))

QUERY_CREDENTIAL = PatternRule(
    id="query-credential",
    category="credential",
    pattern=(
        r"(?<![^?&;\s\x00'\"])(?i:key|code|invite_code|(?:[a-z0-9]+_)?sig|appid|ticket|magic|license|refresh)"
        r"=(?P<secret>[^&#\s'\"<>\x00]{1,2048})"
    ),
    validator=_validate_query,
    description=(
        "credential-carrying query parameters (`?key=` Google API keys, `sig=`/`signature=` signed URLs, "
        "OAuth `code=`, invite codes; OpenWeather `appid=`, CAS `ticket=`, `magic=`, `license=`, `refresh=` "
        "when token-shaped)"
    ),
    # found by the assignment scanner's pass over every "name=" (no pass of its own);
    # access_token=, id_token= and signature= are token-field names, found by the key rules
    prefilter="key|sig|code|appid|ticket|magic|license|refresh",
    prefilter_view="assignment",
)

# The value parser knows Bearer/Basic/Token/...; any other scheme word (Okta `SSWS`, Discord `Bot`, `Splunk`,
# `GenieKey`, `Klaviyo-API-Key`, `Zoho-oauthtoken`, `OAuth`, `MAC`) is followed by the credential itself.
AUTH_SCHEME = PatternRule(
    id="authorization-scheme",
    category="auth",
    pattern=(
        r"(?i:authorization)['\"]?[ \t]*[:=][ \t]*['\"]?"
        r"[A-Za-z][A-Za-z0-9._-]{0,40}[ \t]+(?:[a-z_]{1,30}=\\?[\"']?)?(?P<secret>[A-Za-z0-9._~+/=:-]{8,2048})"
    ),
    validator=_validate_auth_scheme,
    description=(
        "an Authorization value under any scheme word (`Authorization: SSWS x`, `Bot x`, `Splunk x`, "
        "`MAC id=\"x\"`)"
    ),
    prefilter="authorization",
    prefilter_view="lower",
    anchored=True,
)

DEFAULT_CONTEXT_RULES: tuple[PatternRule, ...] = (
    QUERY_CREDENTIAL,
    COMMAND_LINE,
    PROGRAM_PASSWORD_FLAG,
    GLUED_PASSWORD_FLAG,
    CONTEXT_PASSWORD,
    AUTH_SCHEME,
    CONTEXT_TOKEN,
)
