"""Provider credential patterns: vendor API keys and tokens with distinctive formats.

These are value rules with no personal data in them, so they apply whatever
``send_default_pii`` says. ``scrubbers.CREDENTIALS`` is this list, for a server-side second layer.
Formats follow each vendor's documentation (prefixes, lengths, checksums); tokens whose format
has no prefix (AWS secret keys, Datadog keys, Twilio auth tokens) are only caught next to a
telling name, because a bare 40-character base64 or 32-character hex string is too often a
digest or an id.
"""

from __future__ import annotations

from typing import Callable

from scrubbers import validators
from scrubbers.rules import PatternRule

__all__ = ["DEFAULT_CREDENTIAL_RULES"]

_END = r"(?![A-Za-z0-9_-])"  # token ends at a non-token character


# Every prefixed token is one run of [A-Za-z0-9_.-] at least 16 long: find those runs first.
TOKEN_RUN = "a" * 16 + "a*"


def _p(
    rule_id: str,
    pattern: str,
    description: str,
    validator: Callable[[str], bool] | None = None,
    *,
    prefilter: str = TOKEN_RUN,
    view: str = "token",
    window: tuple[int, int] = (0, 0),
) -> PatternRule:
    return PatternRule(
        id=rule_id,
        category="provider-credential",
        pattern=pattern,
        validator=validator,
        description=description,
        prefilter=prefilter,
        prefilter_view=view,
        window=window,
    )


# Context for prefix-less secrets: a name ending in the right words, then = or :, quotes optional.
def _named(name_re: str, value_re: str) -> str:
    return (
        r"(?<![A-Za-z0-9])(?i:" + name_re + r")[\"']?\s*(?:=>|:=|[=:,])\s*[\"']?(?P<secret>" + value_re + r")"
        r"(?![A-Za-z0-9/+=])"
    )


DEFAULT_CREDENTIAL_RULES: tuple[PatternRule, ...] = (
    _p(
        "slack-webhook-url",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{20,})",
        "Slack incoming webhook / workflow URLs (the path after hooks.slack.com/services/)",
        prefilter="hooks.slack.com",
        view="text",
        window=(0, 300),
    ),
    _p(
        "slack-token",
        r"(?<![\w-])(?:xox[abeoprs]|xoxe\.xox[bp])-[0-9A-Za-z-]{10,}" + _END,
        "Slack bot (xoxb-), user (xoxp-), legacy/config (xoxa/xoxe/xoxr/xoxs) tokens",
    ),
    _p(
        "slack-app-token",
        r"(?<![\w-])xapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-f0-9]{32,}" + _END,
        "Slack app-level tokens (xapp-1-...)",
    ),
    _p(
        "anthropic-api-key",
        r"(?<![\w-])sk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_-]{32,}" + _END,
        "Anthropic API and admin keys (sk-ant-api03-..., sk-ant-admin01-...)",
    ),
    _p(
        "openai-api-key",
        r"(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}" + _END,
        "OpenAI API keys (sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...)",
    ),
    _p(
        "stripe-secret-key",
        r"(?<![\w-])(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{16,247}" + _END,
        "Stripe secret (sk_live_) and restricted (rk_live_) keys, live and test",
    ),
    _p(
        "aws-access-key-id",
        r"(?<![\w-])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9])",
        "AWS access key ids (AKIA..., ASIA... temporary)",
    ),
    _p(
        "aws-secret-key",
        _named(
            r"aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key|secretaccesskey"
            r"|aws[_-]?secret|AWSSecretKey",
            r"[A-Za-z0-9/+]{40}",
        ),
        "AWS secret access keys next to their name (aws_secret_access_key = ..., SecretAccessKey: ...)",
        prefilter="key|secret",
        view="assignment",
    ),
    _p(
        "github-token",
        r"(?<![\w-])gh[pousr]_[A-Za-z0-9]{36}" + _END,
        "GitHub classic PAT (ghp_), OAuth (gho_), user/server-to-server (ghu_/ghs_), refresh (ghr_); "
        "CRC32 checksum checked",
        validators.github_token,
    ),
    _p(
        "github-fine-grained-token",
        r"(?<![\w-])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + _END,
        "GitHub fine-grained personal access tokens (github_pat_...)",
    ),
    _p(
        "gitlab-token",
        r"(?<![\w-])(?:gl(?:pat|dt|ptt|rt|soat|cbt|ft|imt|agent|oas|wt)-[A-Za-z0-9_.-]{20,}|GR1348941[A-Za-z0-9_-]{20,})"
        + _END,
        "GitLab personal/deploy/pipeline/runner/... tokens (glpat-, gldt-, glptt-, glrt-, GR1348941...)",
    ),
    _p(
        "google-api-key",
        r"(?<![\w-])AIza[0-9A-Za-z_-]{35}" + _END,
        "Google API keys (AIza...)",
    ),
    _p(
        "twilio-api-key",
        r"(?<![\w-])SK[0-9a-f]{32}(?![A-Za-z0-9])",
        "Twilio API key SIDs (SK + 32 hex)",
    ),
    _p(
        "twilio-auth-token",
        _named(r"twilio[\w.-]{0,20}(?:auth[_-]?)?token|twilio[_-]?secret", r"[0-9a-f]{32}"),
        "Twilio auth tokens next to their name (TWILIO_AUTH_TOKEN=...)",
        prefilter="token|secret",
        view="assignment",
    ),
    _p(
        "sendgrid-api-key",
        r"(?<![\w-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _END,
        "SendGrid API keys (SG.xxx.yyy)",
    ),
    _p(
        "mailgun-api-key",
        r"(?<![\w-])(?:key-[0-9a-f]{32}|pubkey-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})" + _END,
        "Mailgun API keys (key-..., pubkey-..., and the new 32-8-8 hex format)",
    ),
    _p(
        "npm-token",
        r"(?<![\w-])npm_[A-Za-z0-9]{36}" + _END,
        "npm access tokens (npm_...)",
    ),
    _p(
        "pypi-token",
        r"(?<![\w-])pypi-AgE[A-Za-z0-9_-]{50,}" + _END,
        "PyPI / TestPyPI upload tokens (pypi-AgE...)",
    ),
    _p(
        "datadog-api-key",
        _named(
            r"(?:datadog|dd)[_-]?(?:api|app|application|client)[_-]?key|dd-api-key|dd-application-key",
            r"[0-9a-f]{32}(?:[0-9a-f]{8})?",
        ),
        "Datadog API keys (32 hex) and application keys (40 hex) next to their name",
        prefilter="key",
        view="assignment",
    ),
    _p(
        "azure-storage-key",
        r"(?<![A-Za-z0-9])(?:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/=]{20,})",
        "Azure storage / Service Bus connection strings (AccountKey=..., SharedAccessKey=...)",
        prefilter="Key=",
        view="text",
        window=(20, 200),
    ),
)
