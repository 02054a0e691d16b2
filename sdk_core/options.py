"""Options: one frozen value, validated at ``init`` so mistakes fail loudly there and nowhere else."""

from __future__ import annotations

import difflib
import os
import re
import socket
from dataclasses import dataclass, fields
from typing import Any, Sequence

from .dsn import Dsn
from .types import BasicTransport, BeforeBreadcrumb, BeforeSend, BeforeSendLog, TracesSampler

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
    """Every option of ``init``, validated once; frozen so no thread sees it change."""

    dsn: Dsn | None = None
    """Where events go (``https://<public_key>@<host>/<project_id>``); None keeps the SDK a no-op."""
    before_send: BeforeSend | None = None
    """``fn(event, hint) -> event | None`` on the worker, after scrubbing; None or an error drops the event."""
    before_breadcrumb: BeforeBreadcrumb | None = None
    """``fn(crumb, hint) -> crumb | None`` on the caller; None drops the breadcrumb."""
    send_default_pii: bool = False
    """Attach cookies, user names, e-mails and client IPs (secrets are filtered regardless)."""
    environment: str = "production"
    """Tags every event, so one project can tell production from staging."""
    release: str | None = None
    """The deployed version, so an error can be tied to the release that introduced it."""
    dist: str | None = None
    """A build variant of ``release``."""
    server_name: str | None = None
    """The host name stamped on events (default: this machine's)."""
    sample_rate: float = 1.0
    """Fraction of error events kept, decided before any expensive work."""
    max_breadcrumbs: int = 100
    """Breadcrumbs kept per scope (and sent per event)."""
    include_local_variables: bool = True
    """Snapshot each frame's locals at capture: most debugging needs them."""
    include_source_context: bool = True
    """Add the lines around each frame (read on the worker, not the caller)."""
    in_app_include: tuple[str, ...] = ()
    """Module prefixes always marked in-app."""
    in_app_exclude: tuple[str, ...] = ()
    """Module prefixes never marked in-app."""
    max_value_length: int = 1024
    """Longer strings are trimmed (and the trim recorded in ``_meta``)."""
    max_request_body_size: str = "medium"
    """How much request body web integrations attach: never, small, medium, always."""
    ignore_errors: tuple[Any, ...] = ()
    """Exception classes or class names never reported."""
    max_queue_size: int = 10_000
    """Events waiting for the worker; past it the newest is dropped and counted."""
    max_queue_bytes: int = 16 * 1024 * 1024
    """The same queue bounded by (estimated) size; 0 for no byte bound."""
    batch_size: int = 100
    """Events the worker takes per wake-up."""
    batch_interval: float = 0.05
    """Seconds the worker lingers for more events before a partial batch."""
    shutdown_timeout: float = 2.0
    """Seconds ``close()`` and interpreter exit may wait for delivery."""
    http_timeout: float = 5.0
    """Seconds per HTTP request."""
    max_retries: int = 3
    """Retries of an envelope whose delivery failed in a way that may be its own fault."""
    http_proxy: str | None = None
    """Proxy URL for the ingest endpoint (environment proxies apply otherwise)."""
    ca_certs: str | None = None
    """CA bundle for TLS verification (TLS is always verified)."""
    compression: str = "gzip"
    """``gzip`` or ``none`` for request bodies."""
    transport: BasicTransport | None = None
    """Replaces the HTTP transport (tests, custom delivery); see ``sdk_core.transport.Transport``."""
    integrations: tuple[Any, ...] = ()
    """Integrations to install besides (or instead of) the defaults."""
    default_integrations: bool = True
    """Install the integrations whose library is importable (each when its library is first imported)."""
    disabled_integrations: tuple[str, ...] = ()
    """Identifiers of default integrations to leave off (instances and classes are accepted at ``init``)."""
    scrubbing: bool = True
    """Scrub events before they leave the process; switching it off logs a warning."""
    scrubbers: tuple[Any, ...] | None = None
    """The scrub rule list; yours are compiled at ``init`` (None: ``scrubbers.DEFAULT``, compiled by the worker)."""
    scrub_allow_keys: tuple[str, ...] = ()
    """Field names no rule may touch."""
    scrub_hash_key: bytes | None = None
    """Key of the ``hash`` action's HMAC pseudonyms."""
    send_client_reports: bool = True
    """Report counts of discarded events to the server."""
    otel_record_exceptions: bool = True
    """Also record captured exceptions on the active OpenTelemetry span."""
    spool_dir: str | None = None
    """Directory where undelivered envelopes survive the process (already scrubbed)."""
    spool_max_files: int = 1000
    """Spool bound in files; past it the oldest are dropped and counted."""
    spool_max_bytes: int = 64 * 1024 * 1024
    """Spool bound in bytes; past it the oldest are dropped and counted."""
    traces_sample_rate: float | None = None
    """Fraction of root spans (requests, tasks) traced; None switches tracing off (the default)."""
    traces_sampler: TracesSampler | None = None
    """``fn(sampling_context) -> float | bool`` deciding per root span; wins over ``traces_sample_rate``."""
    trace_propagation_targets: tuple[Any, ...] = (re.compile(".*"),)
    """URL patterns whose outgoing requests get trace headers (default: every URL, as in sentry-sdk)."""
    before_send_transaction: BeforeSend | None = None
    """``fn(transaction, hint) -> transaction | None`` on the worker, after scrubbing."""
    debug: bool = False
    """More detail on the ``sdk_core`` logger."""
    enable_logs: bool = False
    """Send ``logging`` records (at or above ``logs_level``) and ``sdk_core.logger`` calls as structured logs."""
    logs_level: int = 20
    """The lowest ``logging`` level sent as a structured log (default INFO)."""
    before_send_log: BeforeSendLog | None = None
    """``fn(log, hint) -> log | None`` on the worker, after scrubbing; None drops the log."""
    auto_session_tracking: bool = False
    """Count requests as release-health sessions (resolved to True at ``init`` when a release is set)."""

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


_INTEGRATION_EXAMPLE = "an Integration instance such as LoggingIntegration()"


def _describe(value: Any) -> str:
    """``str 'logging'``, ``the class LoggingIntegration``: what a wrong entry is, for the error message."""
    if isinstance(value, type):
        return f"the class {value.__name__} (call it: {value.__name__}())"
    text = repr(value) if isinstance(value, (str, bytes, int, float)) else ""
    return f"{type(value).__name__} {text[:60]}".rstrip()


def _is_integration(value: Any) -> bool:
    return (
        not isinstance(value, type)
        and isinstance(getattr(value, "identifier", None), str)
        and callable(getattr(value, "setup_once", None))
        and callable(getattr(value, "uninstall", None))
    )


def _integrations(v: Any) -> tuple[Any, ...]:
    """Integration instances only: a name or a class is a likely mistake that must fail at ``init``."""
    entries = _seq("integrations", v)
    for index, entry in enumerate(entries):
        if not _is_integration(entry):
            raise TypeError(f"integrations[{index}]: expected {_INTEGRATION_EXAMPLE}, got {_describe(entry)}")
    return entries


def _disabled_integrations(v: Any) -> tuple[str, ...]:
    """Identifiers of integrations to keep off; given as identifiers, classes or instances (as sentry-sdk)."""
    identifiers: list[str] = []
    for index, entry in enumerate(_seq("disabled_integrations", v)):
        identifier = entry if isinstance(entry, str) else getattr(entry, "identifier", None)
        if not isinstance(identifier, str) or not identifier:
            raise TypeError(
                f"disabled_integrations[{index}]: expected an integration identifier such as 'logging', "
                f"an Integration class or instance, got {_describe(entry)}"
            )
        identifiers.append(identifier)
    return tuple(identifiers)


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


def _log_level(name: str, v: Any) -> int:
    """A ``logging`` level: a number (``logging.INFO``) or its name (``"info"``, ``"WARNING"``)."""
    if isinstance(v, str):
        import logging

        number = logging.getLevelName(v.upper())
        if isinstance(number, int):
            return number
        raise ValueError(f"{name}: {v!r} is not a logging level name")
    return _int(name, v, 0)


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
        max_queue_size=_int("max_queue_size", g("max_queue_size", 10_000), 1),
        max_queue_bytes=_int("max_queue_bytes", g("max_queue_bytes", 16 * 1024 * 1024), 0),
        batch_size=_int("batch_size", g("batch_size", 100), 1),
        batch_interval=_number("batch_interval", g("batch_interval", 0.05), 0.0, 60.0),
        shutdown_timeout=_number("shutdown_timeout", g("shutdown_timeout", 2.0), 0.0),
        http_timeout=_number("http_timeout", g("http_timeout", 5.0), 0.01),
        max_retries=_int("max_retries", g("max_retries", 3), 0),
        http_proxy=_opt_str("http_proxy", g("http_proxy")),
        ca_certs=_opt_str("ca_certs", g("ca_certs")),
        compression=_choice("compression", g("compression", "gzip"), _COMPRESSIONS),
        transport=transport,
        integrations=_integrations(g("integrations")),
        default_integrations=_bool("default_integrations", g("default_integrations", True)),
        disabled_integrations=_disabled_integrations(g("disabled_integrations")),
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
        enable_logs=_bool("enable_logs", g("enable_logs", False)),
        logs_level=_log_level("logs_level", g("logs_level", 20)),
        before_send_log=_callable("before_send_log", g("before_send_log")),
        # Release health needs a release to attach the counts to: no release, no sessions.
        auto_session_tracking=_bool("auto_session_tracking", g("auto_session_tracking", True)) and bool(release),
    )
