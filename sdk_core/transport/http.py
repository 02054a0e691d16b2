"""HttpSender: the only httpx user. One keep-alive client, TLS verified; one POST, one result.

What a result means for the envelope (retry, spool, drop, count) is decided in ``delivery.py``.

Per request it does as little as httpx allows: the URL, headers and timeout are built once and
each POST is a prebuilt ``httpx.Request`` handed to ``Client.send`` (proxies, including those from
the environment, still apply). httpx logs every request at INFO on the ``httpx`` logger; the
records our own uploads cause are filtered out (``_OwnUploads``), the application's are untouched.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._internal_errors import logger, redact_secrets
from .._sending import is_sdk_sending, sdk_sending
from .._version import SDK_NAME, VERSION
from .compress import gzip_bytes
from .envelope import Envelope

if TYPE_CHECKING:
    import httpx

    from ..dsn import Dsn
    from ..options import Options

USER_AGENT = f"{SDK_NAME}/{VERSION}"


_fork_guard = threading.Lock()
"""Held while the worker imports httpx and builds its client; ``os.fork`` waits for it (see below)."""
_FORK_GUARD_WAIT = 5.0
_guard_taken = False


def _before_fork() -> None:
    global _guard_taken
    _guard_taken = _fork_guard.acquire(timeout=_FORK_GUARD_WAIT)  # bounded: a fork is never blocked for good


def _after_fork_in_parent() -> None:
    global _guard_taken
    if _guard_taken:
        _guard_taken = False
        _fork_guard.release()


def _after_fork_in_child() -> None:
    global _fork_guard, _guard_taken
    _fork_guard, _guard_taken = threading.Lock(), False


if hasattr(os, "register_at_fork"):
    # A fork while the worker is half-way through ``import httpx`` would leave the child with a module
    # lock owned by a thread that does not exist there, and the child's first send would hang forever.
    # The forking thread waits (milliseconds, once per process) until the import is done.
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


HTTPX_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.proxy")


class _OwnUploads(logging.Filter):
    """Drops the records httpx/httpcore log while the SDK itself is posting (``sdk_sending``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_sdk_sending()


_own_uploads = _OwnUploads()


def install_log_filter() -> None:
    """Attach the filter to httpx's loggers (idempotent; levels and handlers are left alone)."""
    for name in HTTPX_LOGGERS:
        target = logging.getLogger(name)
        if _own_uploads not in target.filters:
            target.addFilter(_own_uploads)


def failure_reason(exc: BaseException) -> str:
    """A short, key-free reason for a POST that got no response: what a user should look at."""
    import socket  # here, not at import: ``ssl`` alone costs init tens of milliseconds
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(current, ssl.SSLError):
            return f"TLS error ({getattr(current, 'reason', None) or type(current).__name__})"
        current = current.__cause__ or current.__context__
    text = str(exc)
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "name resolution" in lowered:
        return "DNS lookup failed"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"TLS error ({redact_secrets(text)[:200]})"
    if "timeout" in type(exc).__name__.lower() or "timed out" in lowered:
        return "timed out"
    return f"{type(exc).__name__}: {redact_secrets(text)[:200]}" if text else type(exc).__name__


@dataclass
class PostResult:
    """What one POST came back with: a status and headers, or no response and why."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    body_bytes: int = 0
    error: str | None = None


class HttpSender:
    """Posts envelopes to the DSN's ingest endpoint. Not thread-safe: the worker is its only caller."""

    def __init__(self, options: Options, clock: Callable[[], float] = time.monotonic) -> None:
        assert options.dsn is not None
        self._dsn: Dsn = options.dsn
        self._options = options
        self._clock = clock
        self._client: httpx.Client | None = None
        self._inherited: list[Any] = []
        self._request_parts: tuple[Any, Any, Any, Any] | None = None

    def describe(self) -> str:
        """The endpoint for log lines: scheme, host and project, never the key."""
        return self._dsn.describe()

    def post(self, envelope: Envelope) -> PostResult:
        """Serialise, compress and POST once. Never raises: no response is ``status=None``."""
        body = envelope.serialize()
        if self._options.compression == "gzip":
            body = gzip_bytes(body)
        return self.post_body(body)

    def post_body(self, body: bytes) -> PostResult:
        """POST an already serialised (and, with ``compression="gzip"``, gzipped) envelope once."""
        started = self._clock()
        try:
            client = self._http()
            request_type, url, headers, extensions = self._parts()
            with sdk_sending():
                response = client.send(request_type("POST", url, headers=headers, content=body, extensions=extensions))
                response.close()
        except Exception as exc:
            reason = failure_reason(exc)
            logger.debug("envelope not delivered: %s", reason)
            return PostResult(None, {}, self._clock() - started, len(body), reason)
        if logger.isEnabledFor(logging.DEBUG) and not 200 <= response.status_code < 300:
            logger.debug("server answered HTTP %d", response.status_code)
        return PostResult(response.status_code, response.headers, self._clock() - started, len(body))

    def probe(self, envelope: Envelope) -> tuple[int | None, dict[str, str], str | None]:
        """Post once; no retry, no counting. For ``python -m sdk_core check``.

        Returns (status, lower-cased response headers, None) or (None, {}, "timeout" or the error's name).
        """
        import httpx

        body = envelope.serialize()
        headers = {}
        if self._options.compression == "gzip":
            body = gzip_bytes(body)
            headers["Content-Encoding"] = "gzip"
        try:
            with sdk_sending():
                response = self._http().post(self._dsn.envelope_url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, {}, "timeout"
        except Exception as exc:
            return None, {}, type(exc).__name__
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, None

    def reset_after_fork(self) -> None:
        """The parent's sockets are not ours: the next post opens a fresh connection pool."""
        if self._client is not None:
            self._inherited.append(self._client)  # never closed here: that could touch the parent's TLS
        self._client = None

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            with _fork_guard:
                self._client = self._new_client()
        return self._client

    def _parts(self) -> tuple[Any, Any, Any, Any]:
        """Request class, URL, full headers and timeout extension: built once, reused per POST."""
        parts = self._request_parts
        if parts is None:
            import httpx

            url = httpx.URL(self._dsn.envelope_url)
            headers = httpx.Headers(
                {
                    "Host": url.netloc.decode("ascii"),
                    "Accept": "*/*",
                    "Accept-Encoding": "gzip, deflate",
                    "Connection": "keep-alive",
                    "User-Agent": USER_AGENT,
                    "Content-Type": "application/x-sentry-envelope",
                    "X-Sentry-Auth": self._dsn.auth_header(USER_AGENT),
                }
            )
            if self._options.compression == "gzip":
                headers["Content-Encoding"] = "gzip"
            timeout = httpx.Timeout(self._options.http_timeout).as_dict()
            parts = self._request_parts = (httpx.Request, url, headers, {"timeout": timeout})
        return parts

    def _new_client(self) -> httpx.Client:
        import encodings.idna  # noqa: F401  (the first request to a host name imports it)

        import httpx

        install_log_filter()

        kwargs: dict[str, Any] = {
            "timeout": httpx.Timeout(self._options.http_timeout),
            "verify": self._options.ca_certs or True,
            "limits": httpx.Limits(max_connections=2, max_keepalive_connections=2),
            "headers": {
                "User-Agent": USER_AGENT,
                "Content-Type": "application/x-sentry-envelope",
                "X-Sentry-Auth": self._dsn.auth_header(USER_AGENT),
            },
        }
        if self._options.http_proxy:
            kwargs["proxy"] = self._options.http_proxy
        return httpx.Client(**kwargs)
