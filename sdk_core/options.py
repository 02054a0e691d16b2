"""Options: one frozen value, validated at ``init`` so mistakes fail loudly there and nowhere else."""

from __future__ import annotations

import difflib
import os
import re
import socket
from dataclasses import dataclass, fields
from typing import Any, Callable, Optional, Sequence

from .dsn import Dsn
from .types import BasicTransport

_REQUEST_BODY_SIZES = ("never", "small", "medium", "always")
_COMPRESSIONS = ("gzip", "none")
_RELEASE_ENV_VARS = (
    "CODERADAR_RELEASE",
    "SENTRY_RELEASE",
    "HEROKU_SLUG_COMMIT",
    "SOURCE_VERSION",
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "CIRCLE_SHA1",
    "GITHUB_SHA",
    "GAE_DEPLOYMENT_ID",
)


@dataclass(frozen=True)
class Options:
    dsn: Optional[Dsn] = None
    before_send: Optional[Callable[..., Any]] = None
    before_breadcrumb: Optional[Callable[..., Any]] = None
    send_default_pii: bool = False
    environment: str = "production"
    release: Optional[str] = None
    dist: Optional[str] = None
    server_name: Optional[str] = None
    sample_rate: float = 1.0
    max_breadcrumbs: int = 100
    include_local_variables: bool = True
    include_source_context: bool = True
    in_app_include: tuple[str, ...] = ()
    in_app_exclude: tuple[str, ...] = ()
    max_value_length: int = 1024
    max_request_body_size: str = "medium"
    ignore_errors: tuple[Any, ...] = ()
    max_queue_size: int = 1000
    batch_size: int = 100
    batch_interval: float = 0.05
    shutdown_timeout: float = 2.0
    http_timeout: float = 5.0
    max_retries: int = 3
    http_proxy: Optional[str] = None
    ca_certs: Optional[str] = None
    compression: str = "gzip"
    transport: Optional[BasicTransport] = None
    integrations: tuple[Any, ...] = ()
    default_integrations: bool = True
    scrubbing: bool = True
    scrubbers: Optional[tuple[Any, ...]] = None
    scrub_allow_keys: tuple[str, ...] = ()
    scrub_hash_key: Optional[bytes] = None
    send_client_reports: bool = True
    otel_record_exceptions: bool = True
    spool_dir: Optional[str] = None
    spool_max_files: int = 1000
    spool_max_bytes: int = 64 * 1024 * 1024
    traces_sample_rate: Optional[float] = None
    traces_sampler: Optional[Callable[..., Any]] = None
    trace_propagation_targets: tuple[Any, ...] = (re.compile(".*"),)
    before_send_transaction: Optional[Callable[..., Any]] = None
    debug: bool = False

    @property
    def tracing(self) -> bool:
        """True when ``traces_sample_rate`` or ``traces_sampler`` is set: spans are recorded and sent."""
        return self.traces_sample_rate is not None or self.traces_sampler is not None


_NAMES = tuple(f.name for f in fields(Options))


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"{name}: expected True or False, got {type(v).__name__}")
    return v


def _int(name: str, v: Any, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected an integer, got {type(v).__name__}")
    if v < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {v}")
    return v


def _number(name: str, v: Any, low: float, high: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(v).__name__}")
    if v != v or v < low or (high is not None and v > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name}: expected a number {bound}, got {v}")
    return float(v)


def _opt_str(name: str, v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise TypeError(f"{name}: expected a string or None, got {type(v).__name__}")
    return v


def _str_seq(name: str, v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str) or not isinstance(v, (list, tuple, set, frozenset)):
        raise TypeError(f"{name}: expected a list of strings, got {type(v).__name__}")
    for item in v:
        if not isinstance(item, str):
            raise TypeError(f"{name}: expected a list of strings, found {type(item).__name__}")
    return tuple(v)


def _callable(name: str, v: Any) -> Any:
    if v is not None and not callable(v):
        raise TypeError(f"{name}: expected a callable or None, got {type(v).__name__}")
    return v


def _choice(name: str, v: Any, choices: Sequence[str]) -> str:
    if v not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(choices)}, got {v!r}")
    return str(v)


def _seq(name: str, v: Any) -> tuple[Any, ...]:
    if v is None:
        return ()
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise TypeError(f"{name}: expected a list, got {type(v).__name__}")
    return tuple(v)


def _opt_rate(name: str, v: Any) -> float | None:
    return None if v is None else _number(name, v, 0.0, 1.0)


def _targets(v: Any) -> tuple[Any, ...]:
    """``trace_propagation_targets``: strings (regexes matched anywhere in the URL) or compiled patterns."""
    if v is None:
        return ()
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple, set, frozenset)):
        raise TypeError(f"trace_propagation_targets: expected a list of strings or patterns, got {type(v).__name__}")
    out: list[Any] = []
    for item in v:
        if isinstance(item, str):
            try:
                out.append(re.compile(item))
            except re.error as exc:
                raise ValueError(f"trace_propagation_targets: {item!r} is not a valid regex ({exc})") from None
        elif isinstance(item, re.Pattern):
            out.append(item)
        else:
            raise TypeError(f"trace_propagation_targets: expected strings or patterns, found {type(item).__name__}")
    return tuple(out)


def _detect_release() -> str | None:
    for var in _RELEASE_ENV_VARS:
        value = os.environ.get(var)
        if value:
            return value
    return None


def validate(dsn: Any = None, **kwargs: Any) -> Options:
    """Turn ``init`` arguments into Options; raise TypeError/ValueError naming the bad field."""
    unknown = [k for k in kwargs if k not in _NAMES]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, _NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"init() got an unknown option {name!r}{hint}")

    if dsn is None:
        dsn = os.environ.get("CODERADAR_DSN") or None
    parsed = Dsn.parse(dsn) if dsn is not None and dsn != "" else None

    g = kwargs.get
    environment = g("environment") or os.environ.get("CODERADAR_ENVIRONMENT") or "production"
    release = g("release") or _detect_release()
    server_name = g("server_name")
    if server_name is None:
        try:
            server_name = socket.gethostname()
        except Exception:
            server_name = None

    hash_key = g("scrub_hash_key")
    if hash_key is not None:
        if isinstance(hash_key, str):
            hash_key = hash_key.encode()
        if not isinstance(hash_key, bytes) or not hash_key:
            raise TypeError("scrub_hash_key: expected non-empty bytes or str")

    scrubber_rules = g("scrubbers")
    transport = g("transport")
    if transport is not None:
        for method in ("send", "flush", "close"):
            if not callable(getattr(transport, method, None)):
                raise TypeError(f"transport: expected an object with send(), flush() and close(); no {method}()")

    spool_dir = _opt_str("spool_dir", g("spool_dir"))

    return Options(
        dsn=parsed,
        before_send=_callable("before_send", g("before_send")),
        before_breadcrumb=_callable("before_breadcrumb", g("before_breadcrumb")),
        send_default_pii=_bool("send_default_pii", g("send_default_pii", False)),
        environment=_opt_str("environment", environment) or "production",
        release=_opt_str("release", release),
        dist=_opt_str("dist", g("dist")),
        server_name=_opt_str("server_name", server_name),
        sample_rate=_number("sample_rate", g("sample_rate", 1.0), 0.0, 1.0),
        max_breadcrumbs=_int("max_breadcrumbs", g("max_breadcrumbs", 100), 0),
        include_local_variables=_bool("include_local_variables", g("include_local_variables", True)),
        include_source_context=_bool("include_source_context", g("include_source_context", True)),
        in_app_include=_str_seq("in_app_include", g("in_app_include")),
        in_app_exclude=_str_seq("in_app_exclude", g("in_app_exclude")),
        max_value_length=_int("max_value_length", g("max_value_length", 1024), 16),
        max_request_body_size=_choice(
            "max_request_body_size", g("max_request_body_size", "medium"), _REQUEST_BODY_SIZES
        ),
        ignore_errors=_seq("ignore_errors", g("ignore_errors")),
        max_queue_size=_int("max_queue_size", g("max_queue_size", 1000), 1),
        batch_size=_int("batch_size", g("batch_size", 100), 1),
        batch_interval=_number("batch_interval", g("batch_interval", 0.05), 0.0, 60.0),
        shutdown_timeout=_number("shutdown_timeout", g("shutdown_timeout", 2.0), 0.0),
        http_timeout=_number("http_timeout", g("http_timeout", 5.0), 0.01),
        max_retries=_int("max_retries", g("max_retries", 3), 0),
        http_proxy=_opt_str("http_proxy", g("http_proxy")),
        ca_certs=_opt_str("ca_certs", g("ca_certs")),
        compression=_choice("compression", g("compression", "gzip"), _COMPRESSIONS),
        transport=transport,
        integrations=_seq("integrations", g("integrations")),
        default_integrations=_bool("default_integrations", g("default_integrations", True)),
        scrubbing=_bool("scrubbing", g("scrubbing", True)),
        scrubbers=None if scrubber_rules is None else _seq("scrubbers", scrubber_rules),
        scrub_allow_keys=_str_seq("scrub_allow_keys", g("scrub_allow_keys")),
        scrub_hash_key=hash_key,
        send_client_reports=_bool("send_client_reports", g("send_client_reports", True)),
        otel_record_exceptions=_bool("otel_record_exceptions", g("otel_record_exceptions", True)),
        spool_dir=spool_dir,
        spool_max_files=_int("spool_max_files", g("spool_max_files", 1000), 1),
        spool_max_bytes=_int("spool_max_bytes", g("spool_max_bytes", 64 * 1024 * 1024), 4096),
        traces_sample_rate=_opt_rate("traces_sample_rate", g("traces_sample_rate")),
        traces_sampler=_callable("traces_sampler", g("traces_sampler")),
        trace_propagation_targets=_targets(g("trace_propagation_targets", (".*",))),
        before_send_transaction=_callable("before_send_transaction", g("before_send_transaction")),
        debug=_bool("debug", g("debug", False)),
    )
