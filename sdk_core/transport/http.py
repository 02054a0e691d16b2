"""HttpSender: the only httpx user. One keep-alive client, TLS verified; one POST, one result.

What a result means for the envelope (retry, spool, drop, count) is decided in ``delivery.py``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._internal_errors import logger
from .._sending import sdk_sending
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


@dataclass
class PostResult:
    """What one POST came back with: a status and headers, or no response and the error's name."""

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

    def describe(self) -> str:
        """The endpoint for log lines: scheme, host and project, never the key."""
        return self._dsn.describe()

    def post(self, envelope: Envelope) -> PostResult:
        """Serialise, compress and POST once. Never raises: no response is ``status=None``."""
        body = envelope.serialize()
        headers = {}
        if self._options.compression == "gzip":
            body = gzip_bytes(body)
            headers["Content-Encoding"] = "gzip"
        started = self._clock()
        try:
            with sdk_sending():
                response = self._http().post(self._dsn.envelope_url, content=body, headers=headers)
        except Exception as exc:
            logger.debug("envelope not delivered: %s", type(exc).__name__)
            return PostResult(None, {}, self._clock() - started, len(body), type(exc).__name__)
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

    def _new_client(self) -> httpx.Client:
        import encodings.idna  # noqa: F401  (the first request to a host name imports it)

        import httpx

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
