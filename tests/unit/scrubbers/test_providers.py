"""Provider tokens with documented shapes are filtered wherever they travel; look-alikes survive.

Every value here is random characters in the vendor's documented shape (never a real credential).
Each token is planted in free text, an exception message, a frame-local ``repr`` of a dict under an
innocent key, and a URL query; the look-alikes (the prefix with a short or wrong-charset body,
snake_case identifiers that start like a prefix) must come back unchanged.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any, Callable
from urllib.parse import quote

import pytest

import scrubbers

HEX = "0123456789abcdef"
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
LETTERS = string.ascii_letters
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
DJANGO = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)"


def _r(alphabet: str, n: int) -> Callable[[random.Random], str]:
    return lambda rng: "".join(rng.choice(alphabet) for _ in range(n))


def _cat(*parts: str | Callable[[random.Random], str]) -> Callable[[random.Random], str]:
    return lambda rng: "".join(p if isinstance(p, str) else p(rng) for p in parts)


# rule id -> token maker (documented shape, random body)
TOKENS: dict[str, Callable[[random.Random], str]] = {
    "shopify-token": _cat("shpat_", _r(HEX, 32)),
    "shopify-token/shpss": _cat("shpss_", _r("0123456789ABCDEF", 32)),
    "hashicorp-vault-token": _cat("hvs.", _r(URLSAFE, 95)),
    "hashicorp-vault-token/batch": _cat("hvb.", _r(URLSAFE, 150)),
    "digitalocean-token": _cat("dop_v1_", _r(HEX, 64)),
    "huggingface-token": _cat("hf_", _r(LETTERS, 34)),
    "huggingface-token/org": _cat("api_org_", _r(LETTERS, 34)),
    "sentry-user-token": _cat("sntryu_", _r(HEX, 64)),
    "sentry-org-token": _cat("sntrys_eyJpYXQiO", _r(B64, 40), "LCJyZWdpb25fdXJs", _r(B64, 60), "_", _r(B64, 43)),
    "grafana-cloud-token": _cat("glc_", _r(B64, 80), "=="),
    "grafana-service-account-token": _cat("glsa_", _r(ALNUM, 32), "_", _r(HEX, 8)),
    "new-relic-key": _cat("NRAK-", _r(UPPER_ALNUM, 27)),
    "new-relic-key/insert": _cat("NRII-", _r(ALNUM, 32)),
    "new-relic-key/browser": _cat("NRJS-", _r(HEX, 19)),
    "doppler-token": _cat("dp.pt.", _r(ALNUM, 43)),
    "doppler-token/service": _cat("dp.st.prd.", _r(ALNUM, 43)),
    "linear-api-key": _cat("lin_api_", _r(ALNUM, 40)),
    "postman-api-key": _cat("PMAK-", _r(HEX, 24), "-", _r(HEX, 34)),
    "planetscale-token": _cat("pscale_tkn_", _r(URLSAFE, 43)),
    "databricks-token": _cat("dapi", _r(HEX, 32)),
    "square-token": _cat("EAAA", _r(URLSAFE, 60)),
    "square-token/sq0atp": _cat("sq0atp-", _r(URLSAFE, 22)),
    "square-token/sq0csp": _cat("sq0csp-", _r(URLSAFE, 43)),
    "atlassian-api-token": _cat("ATATT3", _r(URLSAFE, 177), "=", _r("0123456789ABCDEF", 8)),
    "pulumi-token": _cat("pul-", _r(HEX, 40)),
    "terraform-cloud-token": _cat(_r(LOWER_ALNUM, 14), ".atlasv1.", _r(LOWER_ALNUM + "_-", 67)),
    "age-secret-key": _cat("AGE-SECRET-KEY-1", _r(BECH32, 58)),
    "facebook-access-token": _cat("EAAC", _r(ALNUM, 150)),
    "groq-api-key": _cat("gsk_", _r(ALNUM, 52)),
    "replicate-api-token": _cat("r8_", _r(ALNUM, 37)),
    "perplexity-api-key": _cat("pplx-", _r(ALNUM, 48)),
    "notion-token": _cat("ntn_", _r(string.digits, 11), _r(ALNUM, 35)),
    "notion-token/legacy": _cat("secret_", _r(ALNUM, 43)),
    "heroku-api-key": _cat("HRKU-AA", _r(URLSAFE, 58)),
    "brevo-api-key": _cat("xkeysib-", _r(HEX, 64), "-", _r(ALNUM, 16)),
    "shippo-api-token": _cat("shippo_live_", _r(HEX, 40)),
    "rubygems-api-token": _cat("rubygems_", _r(HEX, 48)),
    "prefect-api-key": _cat("pnu_", _r(ALNUM, 36)),
    "readme-api-token": _cat("rdme_", _r(LOWER_ALNUM, 70)),
    "dynatrace-api-token": _cat("dt0c01.", _r(UPPER_ALNUM, 24), ".", _r(UPPER_ALNUM, 64)),
    "easypost-api-key": _cat("EZAK", _r(ALNUM, 54)),
    "flyio-token": _cat("fo1_", _r(URLSAFE, 43)),
    "duffel-api-token": _cat("duffel_live_", _r(URLSAFE, 43)),
    "artifactory-api-key": _cat("AKCp", _r(ALNUM, 69)),
    "alibaba-access-key-id": _cat("LTAI", _r(ALNUM, 20)),
    "openshift-user-token": _cat("sha256~", _r(URLSAFE, 43)),
    "infracost-api-token": _cat("ico-", _r(ALNUM, 32)),
    "scalingo-api-token": _cat("tk-us-", _r(URLSAFE, 48)),
    "sourcegraph-token": _cat("sgp_", _r(HEX, 16), "_", _r(HEX, 40)),
    "stripe-webhook-secret": _cat("whsec_", _r(B64, 32)),
    "stripe-client-secret": _cat("pi_", _r(ALNUM, 24), "_secret_", _r(ALNUM, 25)),
    "google-oauth-client-secret": _cat("GOCSPX-", _r(URLSAFE, 28)),
    "google-oauth-access-token": _cat("ya29.", _r(URLSAFE, 150)),
    "supabase-token": _cat("sbp_", _r(HEX, 40)),
    "figma-token": _cat("figd_", _r(URLSAFE, 43)),
    "django-secret-key": _cat("django-insecure-", _r(DJANGO, 50)),
    "mailchimp-api-key": _cat(_r(HEX, 32), "-us14"),
    "telegram-bot-token": _cat(_r(string.digits, 10), ":AA", _r(URLSAFE, 33)),
    "xai-api-key": _cat("xai-", _r(ALNUM, 80)),
    "airtable-token": _cat("pat", _r(ALNUM, 14), ".", _r(HEX, 64)),
    "harness-token": _cat("sat.", _r(URLSAFE, 22), ".", _r(HEX, 24), ".", _r(ALNUM, 20)),
    "cloudflare-origin-ca-key": _cat("v1.0-", _r(HEX, 24), "-", _r(HEX, 146)),
    "frameio-token": _cat("fio-u-", _r(URLSAFE, 64)),
    "discord-bot-token": _cat("N", _r(ALNUM, 23), ".", _r(URLSAFE, 6), ".", _r(URLSAFE, 27)),
    "dropbox-token": _cat("sl.", _r(URLSAFE, 140)),
}


def _token(kind: str, seed: int = 0) -> str:
    return TOKENS[kind](random.Random(f"{kind}/{seed}"))


def _free_text(tok: str) -> dict[str, Any]:
    return {"message": f"sync failed with {tok} while talking to upstream"}


def _exception(tok: str) -> dict[str, Any]:
    return {"exception": {"values": [{"type": "HTTPError", "value": f"401 Unauthorized: credential {tok} rejected"}]}}


def _frame_local(tok: str) -> dict[str, Any]:
    frame = {"function": "handler", "filename": "app/views.py", "vars": {"conf": repr({"PROVIDER_CONF": tok})}}
    return {"exception": {"values": [{"type": "RuntimeError", "value": "boom", "stacktrace": {"frames": [frame]}}]}}


def _query(tok: str) -> dict[str, Any]:
    return {"request": {"url": f"https://api.example.com/v1/items?ref={quote(tok, safe='')}&page=2", "method": "GET"}}


PLACEMENTS = {"free-text": _free_text, "exception": _exception, "frame-local": _frame_local, "query": _query}


def _scrub(event: dict[str, Any]) -> str:
    scrubbers.compile_rules().scrub_in_place(event)
    event.pop("_meta", None)
    return json.dumps(event)


def _secret_bits(tok: str) -> list[str]:
    """Pieces of the token that must not survive (the body, beyond its public prefix)."""
    body = tok[len(tok) // 3 :]
    return [body[:12], body[-12:]]


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_token_is_filtered(kind: str, placement: str) -> None:
    """A provider token leaves no piece of its body in any placement, for several random bodies."""
    for seed in range(3):
        tok = _token(kind, seed)
        out = _scrub(PLACEMENTS[placement](tok))
        for bit in _secret_bits(tok):
            assert bit not in out, f"{kind} leaked in {placement}: {out}"
            assert quote(bit, safe="") not in out, f"{kind} leaked (encoded) in {placement}: {out}"


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_token_is_reported_under_its_rule(kind: str) -> None:
    """The remark names the provider rule, so a user can tell what was removed."""
    tok = _token(kind)
    counts = scrubbers.compile_rules().scrub_in_place({"message": f"sync with {tok} failed"})
    assert counts.get(kind.split("/")[0]) == 1, counts


WEBHOOKS = [
    (
        "discord-webhook-url",
        "https://discord.com/api/webhooks/112233445566778899/{s}",
        _r(URLSAFE, 68),
    ),
    (
        "discord-webhook-url",
        "https://canary.discordapp.com/api/webhooks/11223344556677889/{s}?wait=true",
        _r(URLSAFE, 68),
    ),
    (
        "microsoft-teams-webhook-url",
        "https://contoso.webhook.office.com/webhookb2/0f8fad5b-d9cb-469f-a165-70867728950e@"
        "7c9e6679-7425-40de-944b-e07fc1f90ae7/IncomingWebhook/{s}",
        _cat(_r(HEX, 32), "/", "4b1e5a2c-90a2-4d6b-8d7e-0c9a3d2e1f00", "/V2", _r(URLSAFE, 40)),
    ),
    (
        "telegram-bot-token",
        "https://api.telegram.org/bot{s}/sendMessage?chat_id=42",
        _cat(_r(string.digits, 9), ":AA", _r(URLSAFE, 33)),
    ),
]


@pytest.mark.parametrize("placement", ["free-text", "exception", "frame-local", "url"])
@pytest.mark.parametrize(("rule_id", "template", "make"), WEBHOOKS)
def test_webhook_secret_is_filtered_and_host_kept(
    rule_id: str, template: str, make: Callable[[random.Random], str], placement: str
) -> None:
    """Only the secret part of a webhook URL is replaced; the host stays readable."""
    secret = make(random.Random(rule_id))
    url = template.format(s=secret)
    if placement == "url":
        event: dict[str, Any] = {"request": {"url": url, "method": "POST"}}
    else:
        event = PLACEMENTS[placement](url)
    out = _scrub(event)
    for bit in _secret_bits(secret):
        assert bit not in out, out
    host = url.split("/")[2]
    assert host in out


KEPT = [
    # snake_case identifiers and words that start like a prefix
    "shpat_module_loader",
    "hf_hub_download_cache_dir",
    "hf_hub_download_cache_directory_xx",
    "api_org_settings_loader_for_tenant",
    "secret_key_base_rotation_schedule_enabled_flag",
    "secret_manager_client_configuration_loader",
    "lin_api_client_configuration_with_retry_x1",
    "gsk_feature_flag_rollout_configuration_enabled",
    "r8_model_version_identifier_for_prediction",
    "pnu_notification_user_preferences_handler",
    "tk-us-east-1-production-cluster-autoscaler-config",
    "fo1_experiment_variant_assignment_table_name",
    "duffel_live_booking_reference_lookup_table_name",
    "figd_document_thumbnail_cache_invalidation_job",
    "pscale_tkn_rotation_job_for_branch_main_v2",
    "django-insecure-settings-module",
    "ya29.cloud_storage_upload_session_bucket",
    "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der",
    "sha256~deployment-config-hash-placeholder-value",
    "whsec_endpoint_secret_rotation_reminder_x",
    "glc_access_policy_token_rotation_schedule",
    # CamelCase after a letters-only prefix: too few of each case
    "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",
    # the prefix with a body that is too short
    "shpat_0123456789abcdef",
    "hvs.CAESIJshortbody",
    "dop_v1_0123456789abcdef0123456789abcdef",
    "sntryu_0123456789abcdef",
    "NRAK-ABC123",
    "dapi0123456789abcdef",
    "pul-0123456789abcdef",
    "rubygems_0123456789abcdef",
    "sbp_0123456789abcdef0123",
    "LTAI5tShort",
    "AGE-SECRET-KEY-1QPZRY9X8GF2T",
    # the prefix with a body in the wrong alphabet or too long
    "shpat_0123456789abcdefghijklmnopqrstuv",
    "dop_v1_zzzz456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "sbp_0123456789abcdef0123456789abcdef01234567ff",
    "LTAIabcdefghijklmnopqrst",
    "EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "secret_ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQ",
    # look-alikes of the suffix / separator forms
    "d41d8cd98f00b204e9800998ecf8427e-usage",
    "d41d8cd98f00b204e9800998ecf8427e-us",
    "12:AA battery pack",
    "ratio 16:9 at 10:AAM",
    "https://example.com/api/webhooks/stripe",
    "https://discord.com/api/webhooks/123/short",
    "see /IncomingWebhook/ docs",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "pattern_matcher_v2.something",
    "v1.0-beta.3",
    "sl.example.com",
    "Mozilla.Firefox.Something",
    "NotARealTokenAtAll123.abcdef.ghijklmnopqrstuvwxyzABCDE",
]


@pytest.mark.parametrize("text", KEPT)
def test_look_alike_is_kept(text: str) -> None:
    """Identifiers, short or wrong-charset bodies and ordinary notation are not scrubbed."""
    message = f"loading {text} now"
    event: dict[str, Any] = {"message": message, "extra": {"name": text}}
    scrubbers.compile_rules().scrub_in_place(event)
    assert event["message"] == message
    assert event["extra"]["name"] == text


def test_every_new_rule_is_a_documented_provider_credential() -> None:
    """Each provider id used here exists, is a provider-credential rule and says what it catches."""
    by_id = {r.id: r for r in scrubbers.CREDENTIALS}
    ids = {k.split("/")[0] for k in TOKENS} | {rid for rid, _, _ in WEBHOOKS}
    for rid in ids:
        assert rid in by_id, rid
        assert by_id[rid].description
