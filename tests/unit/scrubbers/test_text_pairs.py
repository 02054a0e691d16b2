"""Name/value pairs serialised into text take the key rule of their name (issue 13).

Kubernetes env and HAR headers end up in log lines and error messages as JSON or YAML text;
the walk judges such pairs in dicts, and these tests check the same pairs written out in strings.
"""

from __future__ import annotations

from typing import Any

import pytest

import scrubbers

ENGINE = scrubbers.compile_rules()
F = "[Filtered]"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('env: [{"name": "DB_PASSWORD", "value": "Xk9mPq2vLt!"}, {"name": "PORT", "value": "5432"}]', "Xk9mPq2vLt!"),
        ("env=[{'name': 'API_TOKEN', 'value': 'tok-81726354'}]", "tok-81726354"),
        ("- name: DB_PASSWORD\n  value: Zq8pWd991x\n- name: LOG_LEVEL\n  value: debug", "Zq8pWd991x"),
        ('{"value": "s3cr3t-Value-9", "name": "client_secret"}', "s3cr3t-Value-9"),
        ('[{"name": "Authorization", "value": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}]', "YWxhZGRpbjpvcGVuc2VzYW1l"),
        ("Key=session_id,Value=8f14e45fceea167a5a36", "8f14e45fceea167a5a36"),
    ],
)
def test_the_value_of_a_sensitive_name_is_filtered(text: str, secret: str) -> None:
    out = ENGINE.scrub_text(text)
    assert secret not in out
    assert F in out
    assert out.count(F) == 1  # only the value: names and neighbours stay


@pytest.mark.parametrize(
    "text",
    [
        '[{"name": "PORT", "value": "5432"}, {"name": "LOG_LEVEL", "value": "debug"}]',
        '[{"name": "password_attempts", "value": "3"}]',
        "the value of name is fine",
        "- name: replicas\n  value: 3",
    ],
)
def test_harmless_pairs_are_kept(text: str) -> None:
    assert ENGINE.scrub_text(text) == text


def test_pairs_in_an_event_string_and_in_log_arguments() -> None:
    """The pair is found in any string of the event, and the formatted log message stays consistent."""
    doc = '[{"name": "STRIPE_SECRET", "value": "whatever-7788aa"}]'
    event: dict[str, Any] = {
        "message": f"container spec: {doc}",
        "logentry": {"message": "env %s", "params": [doc], "formatted": f"env {doc}"},
    }
    ENGINE.scrub_in_place(event)
    assert "whatever-7788aa" not in str(event)
    assert event["logentry"]["params"][0] == '[{"name": "STRIPE_SECRET", "value": "[Filtered]"}]'
    assert event["logentry"]["formatted"] == 'env [{"name": "STRIPE_SECRET", "value": "[Filtered]"}]'


def test_scrubbing_twice_changes_nothing() -> None:
    once = ENGINE.scrub_text('[{"name": "DB_PASSWORD", "value": "Xk9mPq2vLt!"}]')
    assert ENGINE.scrub_text(once) == once
