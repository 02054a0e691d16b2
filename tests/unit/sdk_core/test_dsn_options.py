from __future__ import annotations

import logging

import pytest

import sdk_core
from sdk_core.dsn import Dsn
from sdk_core.options import validate

KEY = "abcdef0123456789abcdef0123456789"


def test_dsn_parses_endpoint_and_auth() -> None:
    dsn = Dsn.parse(f"https://{KEY}@o1.ingest.example.com:8443/sub/42")
    assert dsn.envelope_url == "https://o1.ingest.example.com:8443/sub/api/42/envelope/"
    assert dsn.project_id == "42"
    assert f"sentry_key={KEY}" in dsn.auth_header("x/1")
    assert "sentry_version=7" in dsn.auth_header("x/1")


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        (f"ftp://{KEY}@host/1", "scheme"),
        ("https://host/1", "public key"),
        (f"https://{KEY}@host/", "project id"),
        (f"https://{KEY}@host/abc", "numeric"),
        (f"https://{KEY}:s3cretkey@host/1", "secret key"),
        (f"https://{KEY}@/1", "host"),
    ],
)
def test_invalid_dsn_names_field_and_hides_key(dsn: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        sdk_core.init(dsn)
    message = str(info.value)
    assert message.startswith("dsn:")
    assert fragment in message
    assert KEY not in message
    assert "s3cretkey" not in message


def test_dsn_repr_and_str_never_show_key() -> None:
    dsn = Dsn.parse(f"https://{KEY}@host/1")
    assert KEY not in repr(dsn)
    assert KEY not in str(dsn)
    assert dsn.to_string() == f"https://{KEY}@host/1"


def test_non_string_dsn_is_type_error() -> None:
    with pytest.raises(TypeError, match="dsn"):
        sdk_core.init(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"sample_rate": 1.5}, ValueError, "sample_rate"),
        ({"sample_rate": "1"}, TypeError, "sample_rate"),
        ({"max_breadcrumbs": -1}, ValueError, "max_breadcrumbs"),
        ({"send_default_pii": "yes"}, TypeError, "send_default_pii"),
        ({"before_send": 3}, TypeError, "before_send"),
        ({"in_app_include": "myapp"}, TypeError, "in_app_include"),
        ({"compression": "deflate"}, ValueError, "compression"),
        ({"transport": object()}, TypeError, "transport"),
        ({"smaple_rate": 1.0}, TypeError, "smaple_rate"),
    ],
)
def test_bad_options_fail_at_init_naming_the_field(kwargs: dict, exc: type, field: str) -> None:
    with pytest.raises(exc, match=field):
        sdk_core.init(f"https://{KEY}@host/1", **kwargs)


def test_unknown_option_suggests_the_right_name() -> None:
    with pytest.raises(TypeError, match="did you mean 'sample_rate'"):
        validate(None, smaple_rate=1.0)


def test_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODERADAR_DSN", f"https://{KEY}@host/7")
    monkeypatch.setenv("CODERADAR_ENVIRONMENT", "staging")
    monkeypatch.setenv("CODERADAR_RELEASE", "app@1.2.3")
    opts = validate()
    assert opts.dsn is not None and opts.dsn.project_id == "7"
    assert opts.environment == "staging"
    assert opts.release == "app@1.2.3"
    explicit = validate(environment="prod", release="r2")
    assert (explicit.environment, explicit.release) == ("prod", "r2")


def test_without_dsn_the_sdk_is_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODERADAR_DSN", raising=False)
    assert sdk_core.init() is None
    assert not sdk_core.is_initialized()
    assert sdk_core.capture_message("x") is None
    assert sdk_core.capture_exception(ValueError("x")) is None
    sdk_core.add_breadcrumb(message="nothing")
    assert sdk_core.flush(0.1) is True


def test_key_never_logged_even_by_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sdk_core")
    logging.getLogger("sdk_core").error("posting to https://%s@host/1 with sentry_key=%s", KEY, KEY)
    assert caplog.records
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_spool_bounds_are_options(tmp_path: pytest.TempPathFactory) -> None:
    client = sdk_core.init(
        f"https://{KEY}@127.0.0.1:9/1",
        default_integrations=False,
        spool_dir=str(tmp_path),
        spool_max_files=7,
        spool_max_bytes=10_000,
    )
    assert client is not None and client.spool is not None
    assert (client.spool.max_files, client.spool.max_bytes) == (7, 10_000)
    with pytest.raises(ValueError, match="spool_max_files"):
        validate(None, spool_max_files=0)
