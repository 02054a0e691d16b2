"""Provider credential patterns: vendor API keys and tokens with distinctive formats.

These are value rules with no personal data in them, so they apply whatever
``send_default_pii`` says. ``scrubbers.CREDENTIALS`` is this list, for a server-side second layer.
Formats follow each vendor's documentation (prefixes, lengths, checksums); tokens whose format
has no prefix (AWS secret keys, Datadog keys, Twilio auth tokens) are only caught next to a
telling name, because a bare 40-character base64 or 32-character hex string is too often a
digest or an id.
"""

from __future__ import annotations

import re
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


def _mixed(prefix: str, least: int = 2, each: int = 1, cased: bool | None = None) -> Callable[[str], bool]:
    """A token body (after ``prefix``) that looks random: ``least`` of upper/lower/digit, ``each`` times.

    A body that may hold ``_``, ``-`` or ``.`` must have both cases (``cased`` decides when given):
    a snake_case or kebab-case identifier has none upper-case, a random base64url token has both.
    """
    head = re.compile(prefix)

    def check(text: str) -> bool:
        m = head.match(text)
        body = text[m.end() :] if m else text
        upper = sum(c.isupper() for c in body)
        lower = sum(c.islower() for c in body)
        digit = sum(c.isdigit() for c in body)
        need_case = any(c in body for c in "_-.") if cased is None else cased
        if need_case and not (upper and lower):
            return False
        return (upper >= each) + (lower >= each) + (digit >= each) >= least

    return check


# Context for prefix-less secrets: a name ending in the right words, then = or :, quotes optional.
def _named(name_re: str, value_re: str) -> str:
    return (
        r"(?<![A-Za-z0-9])(?i:" + name_re + r")[\"']?\s*(?:=>|:=|[=:,])\s*[\"']?(?P<secret>" + value_re + r")"
        r"(?![A-Za-z0-9/+=])"
    )


# Tokens whose body holds characters that end a token run (+ / = and symbols), or whose secret sits
# in a URL: one shared set of literals over the text (one str.find each, so few), then the windows
# around them. Tokens that only start after such a character (sha256~, <bot id>:AA) are token rules
# anchored at their body with a fixed-width lookbehind instead: no extra pass.
_LITERALS = "glc_|whsec_|sntrys_|ATATT|django-insecure-"
# Slack, Discord and Teams webhook URLs all have "hook" in them: one str.find serves the three
_HOOK = "hook"


def _t(rule_id: str, pattern: str, description: str, validator: Callable[[str], bool] | None = None) -> PatternRule:
    return _p(rule_id, pattern, description, validator, prefilter=_LITERALS, view="text", window=(20, 500))


_TEXT_RULES: tuple[PatternRule, ...] = (
    _t(
        "grafana-cloud-token",
        r"(?<![\w-])glc_[A-Za-z0-9+/]{32,400}={0,2}(?![\w+/=-])",
        "Grafana Cloud access policy tokens (glc_ + base64)",
        _mixed("glc_", cased=True),
    ),
    _t(
        "stripe-webhook-secret",
        r"(?<![\w-])whsec_[A-Za-z0-9+/]{32,}={0,2}(?![\w+/=-])",
        "Stripe webhook signing secrets (whsec_)",
        _mixed("whsec_"),
    ),
    _t(
        "sentry-org-token",
        r"(?<![\w-])sntrys_eyJpYXQiO[A-Za-z0-9+/]{10,200}(?:LCJyZWdpb25fdXJs|InJlZ2lvbl91cmwi|cmVnaW9uX3VybCI6)"
        r"[A-Za-z0-9+/]{10,200}={0,2}_[A-Za-z0-9+/]{43}(?![\w+/=-])",
        "Sentry organization auth tokens (sntrys_eyJpYXQiO...)",
    ),
    _t(
        "atlassian-api-token",
        r"(?<![\w-])ATATT3[A-Za-z0-9_=-]{186}(?![\w=-])",
        "Atlassian API tokens (ATATT3...)",
        _mixed("ATATT3"),
    ),
    _t(
        "django-secret-key",
        r"(?<![\w-])django-insecure-[a-z0-9!@#$%^&*(=+)_-]{50}",
        "Django SECRET_KEY values from startproject (django-insecure- + 50)",
        _mixed("django-insecure-", cased=False),
    ),
    _p(
        "discord-webhook-url",
        r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/(?P<secret>[A-Za-z0-9_-]{60,70})(?![\w-])",
        "Discord webhook URLs (the token after discord.com/api/webhooks/<id>/)",
        prefilter=_HOOK,
        view="text",
        window=(30, 300),
    ),
    _p(
        "microsoft-teams-webhook-url",
        r"/IncomingWebhook/(?P<secret>[A-Fa-f0-9]{32}(?:/[A-Za-z0-9_-]+)*)",
        "Microsoft Teams / Office 365 incoming webhooks (the path after .../webhookb2/...@.../IncomingWebhook/)",
        prefilter=_HOOK,
        view="text",
        window=(30, 300),
    ),
)


DEFAULT_CREDENTIAL_RULES: tuple[PatternRule, ...] = (
    _p(
        "slack-webhook-url",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{20,})",
        "Slack incoming webhook / workflow URLs (the path after hooks.slack.com/services/)",
        prefilter=_HOOK,
        view="text",
        window=(30, 300),
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
    *(
        # Prefixed vendor tokens (shapes from each vendor's docs and gitleaks' config/gitleaks.toml)
        _p(
            "shopify-token",
            r"(?<![\w-])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}" + _END,
            "Shopify access, shared-secret, custom-app and private-app tokens (shpat_, shpss_, shpca_, shppa_)",
        ),
        _p(
            "hashicorp-vault-token",
            r"(?<![\w-])(?:hvs\.[\w-]{90,120}|hvb\.[\w-]{138,300})" + _END,
            "HashiCorp Vault service (hvs.) and batch (hvb.) tokens",
            _mixed(r"hv[sb]\."),
        ),
        _p(
            "digitalocean-token",
            r"(?<![\w-])do[opr]_v1_[a-f0-9]{64}" + _END,
            "DigitalOcean personal access (dop_v1_), OAuth (doo_v1_) and refresh (dor_v1_) tokens",
        ),
        _p(
            "huggingface-token",
            r"(?<![\w-])(?:hf_|api_org_)[A-Za-z]{34}" + _END,
            "Hugging Face user (hf_) and organisation (api_org_) tokens; both cases at least 6 times",
            _mixed("hf_|api_org_", each=6),
        ),
        _p(
            "sentry-user-token",
            r"(?<![\w-])sntryu_[a-f0-9]{64}" + _END,
            "Sentry user auth tokens (sntryu_)",
        ),
        _p(
            "grafana-service-account-token",
            r"(?<![\w-])glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}" + _END,
            "Grafana service account tokens (glsa_)",
        ),
        _p(
            "new-relic-key",
            r"(?<![\w-])(?:NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9-]{32}|NRJS-[a-f0-9]{19})" + _END,
            "New Relic user API keys (NRAK-), insert keys (NRII-) and browser tokens (NRJS-)",
        ),
        _p(
            "doppler-token",
            r"(?<![\w-])dp\.(?:pt|ct|sa|scim|audit|st(?:\.[a-z0-9_-]{1,60})?)\.[A-Za-z0-9]{43}" + _END,
            "Doppler personal, CLI, service, service-account, SCIM and audit tokens (dp.pt., dp.st., ...)",
            _mixed(r"dp\.[a-z]+\.(?:[a-z0-9_-]+\.)?"),
        ),
        _p(
            "linear-api-key",
            r"(?<![\w-])lin_(?:api|oauth)_[A-Za-z0-9]{40}" + _END,
            "Linear API keys (lin_api_) and OAuth tokens (lin_oauth_)",
            _mixed("lin_[a-z]+_"),
        ),
        _p(
            "postman-api-key",
            r"(?<![\w-])PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}" + _END,
            "Postman API keys (PMAK-)",
        ),
        _p(
            "databricks-token",
            r"(?<![\w-])dapi[a-f0-9]{32}(?:-\d)?" + _END,
            "Databricks personal access tokens (dapi + 32 hex)",
            _mixed("dapi"),
        ),
        _p(
            "square-token",
            r"(?<![\w-])(?:(?:EAAA|sq0atp-)[\w-]{22,60}|sq0csp-[\w-]{43})" + _END,
            "Square access tokens (EAAA..., sq0atp-) and application secrets (sq0csp-)",
            _mixed("EAAA|sq0atp-|sq0csp-", cased=True),
        ),
        _p(
            "pulumi-token",
            r"(?<![\w-])pul-[a-f0-9]{40}" + _END,
            "Pulumi access tokens (pul-)",
        ),
        _p(
            "age-secret-key",
            r"(?<![\w-])AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" + _END,
            "age encryption secret keys (AGE-SECRET-KEY-1..., bech32)",
        ),
        _p(
            "facebook-access-token",
            r"(?<![\w-])EAA[MC][A-Za-z0-9]{100,}" + _END,
            "Facebook / Meta Graph API access tokens (EAAM..., EAAC...)",
            _mixed("EAA[MC]"),
        ),
        _p(
            "groq-api-key",
            r"(?<![\w-])gsk_[A-Za-z0-9]{52}" + _END,
            "Groq API keys (gsk_)",
            _mixed("gsk_"),
        ),
        _p(
            "replicate-api-token",
            r"(?<![\w-])r8_[A-Za-z0-9]{37}" + _END,
            "Replicate API tokens (r8_)",
            _mixed("r8_"),
        ),
        _p(
            "perplexity-api-key",
            r"(?<![\w-])pplx-[A-Za-z0-9]{48}" + _END,
            "Perplexity API keys (pplx-)",
            _mixed("pplx-"),
        ),
        _p(
            "notion-token",
            r"(?<![\w-])(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})" + _END,
            "Notion integration tokens (ntn_, legacy secret_ + 43)",
            _mixed("ntn_|secret_", cased=True),
        ),
        _p(
            "heroku-api-key",
            r"(?<![\w-])HRKU-AA[0-9a-zA-Z_-]{58}" + _END,
            "Heroku API keys (HRKU-AA...)",
            _mixed("HRKU-AA"),
        ),
        _p(
            "brevo-api-key",
            r"(?<![\w-])x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}" + _END,
            "Brevo / Sendinblue API and SMTP keys (xkeysib-, xsmtpsib-)",
        ),
        _p(
            "shippo-api-token",
            r"(?<![\w-])shippo_(?:live|test)_[a-fA-F0-9]{40}" + _END,
            "Shippo API tokens (shippo_live_, shippo_test_)",
        ),
        _p(
            "rubygems-api-token",
            r"(?<![\w-])rubygems_[a-f0-9]{48}" + _END,
            "RubyGems API keys (rubygems_)",
        ),
        _p(
            "prefect-api-key",
            r"(?<![\w-])pnu_[A-Za-z0-9]{36}" + _END,
            "Prefect Cloud API keys (pnu_)",
            _mixed("pnu_"),
        ),
        _p(
            "readme-api-token",
            r"(?<![\w-])rdme_[a-z0-9]{70}" + _END,
            "ReadMe API keys (rdme_)",
            _mixed("rdme_"),
        ),
        _p(
            "dynatrace-api-token",
            r"(?<![\w-])dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}" + _END,
            "Dynatrace API tokens (dt0c01.)",
        ),
        _p(
            "easypost-api-key",
            r"(?<![\w-])EZ[AT]K[A-Za-z0-9]{54}" + _END,
            "EasyPost production (EZAK) and test (EZTK) API keys",
            _mixed("EZ[AT]K"),
        ),
        _p(
            "flyio-token",
            r"(?<![\w-])fo1_[\w-]{43}" + _END,
            "Fly.io OAuth access tokens (fo1_)",
            _mixed("fo1_"),
        ),
        _p(
            "duffel-api-token",
            r"(?<![\w-])duffel_(?:test|live)_[\w-]{43}" + _END,
            "Duffel API tokens (duffel_live_, duffel_test_)",
            _mixed("duffel_[a-z]+_"),
        ),
        _p(
            "artifactory-api-key",
            r"(?<![\w-])AKCp[A-Za-z0-9]{69}" + _END,
            "JFrog Artifactory API keys (AKCp)",
            _mixed("AKCp"),
        ),
        _p(
            "alibaba-access-key-id",
            r"(?<![\w-])LTAI[A-Za-z0-9]{20}" + _END,
            "Alibaba Cloud AccessKey ids (LTAI)",
            _mixed("LTAI"),
        ),
        _p(
            "infracost-api-token",
            r"(?<![\w-])ico-[A-Za-z0-9]{32}" + _END,
            "Infracost API tokens (ico-)",
            _mixed("ico-"),
        ),
        _p(
            "scalingo-api-token",
            r"(?<![\w-])tk-us-[\w-]{48}" + _END,
            "Scalingo API tokens (tk-us-)",
            _mixed("tk-us-"),
        ),
        _p(
            "sourcegraph-token",
            r"(?<![\w-])sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}" + _END,
            "Sourcegraph access tokens (sgp_)",
        ),
        _p(
            "stripe-client-secret",
            r"(?<![\w-])(?:pi|seti)_[A-Za-z0-9]{24}_secret_[A-Za-z0-9]{25}" + _END,
            "Stripe PaymentIntent / SetupIntent client secrets (pi_..._secret_...)",
        ),
        _p(
            "google-oauth-client-secret",
            r"(?<![\w-])GOCSPX-[A-Za-z0-9_-]{28}" + _END,
            "Google OAuth client secrets (GOCSPX-)",
            _mixed("GOCSPX-"),
        ),
        _p(
            "google-oauth-access-token",
            r"(?<![\w-])ya29\.[A-Za-z0-9_-]{20,}" + _END,
            "Google OAuth access tokens (ya29.)",
            _mixed(r"ya29\.", cased=True),
        ),
        _p(
            "supabase-token",
            r"(?<![\w-])sbp_[a-f0-9]{40}" + _END,
            "Supabase personal access tokens (sbp_)",
        ),
        _p(
            "figma-token",
            r"(?<![\w-])figd_[A-Za-z0-9_-]{40,}" + _END,
            "Figma personal access tokens (figd_)",
            _mixed("figd_"),
        ),
        _p(
            "terraform-cloud-token",
            r"(?<![\w.-])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{60,70}" + _END,
            "Terraform Cloud / Enterprise API tokens (<14>.atlasv1.<60-70>)",
            _mixed(r"[A-Za-z0-9]{14}\.atlasv1\.", cased=False),
        ),
        _p(
            "planetscale-token",
            r"(?<![\w-])pscale_(?:tkn|pw|oauth)_[\w.-]{32,64}" + _END,
            "PlanetScale API tokens, passwords and OAuth tokens (pscale_tkn_, pscale_pw_, pscale_oauth_)",
            _mixed("pscale_[a-z]+_"),
        ),
        _p(
            "openshift-user-token",
            r"(?<=sha256~)[\w-]{43}" + _END,
            "OpenShift user OAuth tokens (the 43 characters after sha256~)",
            _mixed(""),
        ),
        _p(
            "telegram-bot-token",
            r"(?<=[0-9]{5}:)AA[A-Za-z0-9_-]{33}" + _END,
            "Telegram bot tokens (the secret after <bot id>:), also inside api.telegram.org/bot<token>/ URLs",
            _mixed("AA"),
        ),
        _p(
            "mailchimp-api-key",
            r"(?<![\w-])[a-f0-9]{32}-us[0-9]{1,2}" + _END,
            "Mailchimp API keys (32 hex + -us<datacenter>; only with that suffix)",
        ),
        # after gitleaks' xai, airtable, harness, cloudflare origin-ca, frameio, discord and dropbox rules
        _p(
            "xai-api-key",
            r"(?<![\w-])xai-[A-Za-z0-9]{80}" + _END,
            "xAI API keys (xai- + 80)",
            _mixed("xai-"),
        ),
        _p(
            "airtable-token",
            r"(?<![\w-])pat[A-Za-z0-9]{14}\.[a-f0-9]{64}" + _END,
            "Airtable personal access tokens (pat<14>.<64 hex>)",
        ),
        _p(
            "harness-token",
            r"(?<![\w-])(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[0-9a-f]{24}\.[A-Za-z0-9]{20}" + _END,
            "Harness personal and service account tokens (pat./sat.<22>.<24 hex>.<20>)",
        ),
        _p(
            "cloudflare-origin-ca-key",
            r"(?<![\w-])v1\.0-[a-f0-9]{24}-[a-f0-9]{146}" + _END,
            "Cloudflare Origin CA keys (v1.0-<24 hex>-<146 hex>)",
        ),
        _p(
            "frameio-token",
            r"(?<![\w-])fio-u-[A-Za-z0-9_-]{64}" + _END,
            "Frame.io API tokens (fio-u-)",
            _mixed("fio-u-"),
        ),
        _p(
            "discord-bot-token",
            r"(?<![\w.-])[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _END,
            "Discord bot tokens (<base64 id>.<6>.<27-38>)",
            _mixed(""),
        ),
        _p(
            "dropbox-token",
            r"(?<![\w-])sl\.[A-Za-z0-9_-]{130,152}" + _END,
            "Dropbox short-lived access tokens (sl. + 130-152)",
            _mixed(r"sl\."),
        ),
    ),
    *_TEXT_RULES,
)
