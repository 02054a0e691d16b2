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


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("<user><name>ana</name><password>Xk9mPq2vLt!</password></user>", "Xk9mPq2vLt!"),
        (
            '<wsse:UsernameToken><wsse:Username>svc</wsse:Username><wsse:Password Type="#PasswordText">'
            "Zq8pWd991x</wsse:Password></wsse:UsernameToken>",
            "Zq8pWd991x",
        ),
        ('<add key="StripeSecret" value="sk-9f8e7d6c5b4a"/><add key="Theme" value="dark"/>', "sk-9f8e7d6c5b4a"),
        ('<property name="hibernate.connection.password" value="Tr0ub4dor-3"/>', "Tr0ub4dor-3"),
        ('<input type="password" name="password" value="hunter2-Xy">', "hunter2-Xy"),
        (
            '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nS3cr3t-Pw!\r\n--b\r\n'
            'Content-Disposition: form-data; name="user"\r\n\r\nana\r\n--b--',
            "S3cr3t-Pw!",
        ),
    ],
)
def test_markup_and_form_fields_named_as_secrets_are_filtered(text: str, secret: str) -> None:
    out = ENGINE.scrub_text(text)
    assert secret not in out
    assert out.count(F) == 1
    assert ENGINE.scrub_text(out) == out


@pytest.mark.parametrize(
    "text",
    [
        "<p>hello <b>world</b></p>",
        "<title>Reset password</title>",
        "<password-policy>min 12</password-policy>",
        '<add key="Theme" value="dark"/>',
        'Content-Disposition: form-data; name="user"\r\n\r\nana',
    ],
)
def test_harmless_markup_is_kept(text: str) -> None:
    assert ENGINE.scrub_text(text) == text


def test_a_large_document_is_scrubbed_in_one_pass() -> None:
    """Thousands of elements: every password goes, in time linear in the document (no window rescans)."""
    doc = "<r>" + "".join(f"<i><n>n{i}</n><password>Pw-{i:06d}x</password></i>" for i in range(2000)) + "</r>"
    out = ENGINE.scrub_text(doc)
    assert out.count(F) == 2000
    assert "Pw-0" not in out
