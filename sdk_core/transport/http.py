"""HttpTransport: the only httpx user. One keep-alive client, TLS verified, runs on the worker thread."""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any, Callable

from .._internal_errors import log_internal_error, logger
from .._version import SDK_NAME, VERSION
from ..types import DropReason
from .backoff import Backoff
from .client_reports import DiscardCounter
from .compress import gzip_bytes
from .envelope import Envelope
from .outcomes import Outcome, classify
from .ratelimit import RateLimits

if TYPE_CHECKING:
    import httpx

    from ..dsn import Dsn
    from ..options import Options
    from .spool import Spool

MAX_PENDING_RETRIES = 100
USER_AGENT = f"{SDK_NAME}/{VERSION}"


class HttpTransport:
    """Sends envelopes to the DSN's ingest endpoint; retries network errors and 5xx with backoff.

    Not thread-safe by design: only the background worker calls it.
    """

    def __init__(
        self,
        options: Options,
        discards: DiscardCounter,
        *,
        spool: Spool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        assert options.dsn is not None
        self._dsn: Dsn = options.dsn
        self._options = options
        self._discards = discards
        self._spool = spool
        self._clock = clock
        self._sleep = sleep
        self._backoff = Backoff(max_retries=options.max_retries)
        self.rate_limits = RateLimits(clock)
        self._client: httpx.Client | None = None
        self._retries: list[tuple[float, int, int, Envelope, str | None]] = []
        self._seq = itertools.count()
        self._down_until = 0.0
        self._auth_warned = False
        self.sent_envelopes = 0
        self.sent_bytes = 0
        self.on_sent: Callable[[int, float], None] | None = None

    # -- the Transport protocol ------------------------------------------------------------
    def send(self, envelope: Envelope) -> None:
        envelope = self._drop_rate_limited(envelope)
        if not envelope.items:
            return
        if envelope.headers.get("event_id") and self._discards.has_pending() and self._options.send_client_reports:
            report = self._discards.take_item()
            if report is not None:
                envelope.items.append(report)
        if self._clock() < self._down_until:
            self._schedule_retry(envelope, 1, None, spool_key=self._spool_write(envelope))
            return
        self._attempt(envelope, 0, None)
        self._run_due_retries()

    def flush(self, timeout: float) -> bool:
        deadline = self._clock() + max(0.0, timeout)
        self._run_due_retries()
        while self._retries:
            due = self._retries[0][0]
            now = self._clock()
            if due > deadline or now >= deadline:
                break
            if due > now:
                self._sleep(min(due, deadline) - now)
            self._run_due_retries()
        if self._options.send_client_reports and self._discards.has_pending():
            self._send_client_report()
        return not self._retries

    def close(self, timeout: float) -> None:
        self.flush(timeout)
        for _due, _seq, _attempt, envelope, spool_key in self._retries:
            if spool_key is None:
                self._record(envelope, DropReason.NETWORK_ERROR)
        self._retries = []
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None

    def reset_after_fork(self) -> None:
        """The parent's sockets are not ours: start with a fresh connection pool and no retries."""
        self._client = None
        self._retries = []

    # -- internals -------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
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
            self._client = httpx.Client(**kwargs)
        return self._client

    def _drop_rate_limited(self, envelope: Envelope) -> Envelope:
        limited = self.rate_limits.limited_categories({item.category for item in envelope.items})
        if not limited:
            return envelope
        for item in envelope.items:
            if item.category in limited:
                self._discards.record(DropReason.RATELIMIT_BACKOFF.value, item.category)
        return envelope.without(limited)

    def _post(self, envelope: Envelope) -> tuple[int | None, float]:
        body = envelope.serialize()
        headers = {}
        if self._options.compression == "gzip":
            body = gzip_bytes(body)
            headers["Content-Encoding"] = "gzip"
        started = self._clock()
        try:
            response = self._http().post(self._dsn.envelope_url, content=body, headers=headers)
        except Exception as exc:
            logger.debug("envelope not delivered: %s", type(exc).__name__)
            return None, self._clock() - started
        try:
            self.rate_limits.update(response.status_code, response.headers)
        except Exception as exc:
            log_internal_error("rate limit header", exc)
        if 200 <= response.status_code < 300:
            self.sent_envelopes += 1
            self.sent_bytes += len(body)
        elif response.status_code in (401, 403) and not self._auth_warned:
            self._auth_warned = True
            logger.warning(
                "server refused the DSN for %s (HTTP %d): check the public key and project id",
                self._dsn.describe(),
                response.status_code,
            )
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("server answered HTTP %d", response.status_code)
        return response.status_code, self._clock() - started

    def _attempt(self, envelope: Envelope, attempt: int, spool_key: str | None) -> None:
        status, elapsed = self._post(envelope)
        outcome = classify(status)
        if outcome is Outcome.SENT:
            if self.on_sent is not None:
                self.on_sent(len(envelope.items), elapsed)
            self._down_until = 0.0
            self._spool_done(spool_key)
            return
        if outcome is Outcome.RATE_LIMITED:
            self._spool_done(spool_key)
            return
        if outcome is Outcome.REJECTED:
            self._record(envelope, DropReason.SEND_ERROR)
            self._spool_done(spool_key)
            return
        next_attempt = attempt + 1
        if not self._backoff.should_retry(next_attempt):
            self._record(envelope, DropReason.NETWORK_ERROR if status is None else DropReason.SEND_ERROR)
            self._spool_done(spool_key)
            return
        if spool_key is None:
            spool_key = self._spool_write(envelope)
        self._schedule_retry(envelope, next_attempt, status, spool_key)

    def _schedule_retry(self, envelope: Envelope, attempt: int, status: int | None, spool_key: str | None) -> None:
        delay = self._backoff.delay(attempt)
        due = self._clock() + delay
        self._down_until = max(self._down_until, due)
        if len(self._retries) >= MAX_PENDING_RETRIES:
            if spool_key is None:
                self._record(envelope, DropReason.CACHE_OVERFLOW)
            return
        heapq.heappush(self._retries, (due, next(self._seq), attempt, envelope, spool_key))

    def _run_due_retries(self) -> None:
        now = self._clock()
        while self._retries and self._retries[0][0] <= now:
            _due, _seq, attempt, envelope, spool_key = heapq.heappop(self._retries)
            envelope = self._drop_rate_limited(envelope)
            if envelope.items:
                self._attempt(envelope, attempt, spool_key)
            now = self._clock()

    def _send_client_report(self) -> None:
        item = self._discards.take_item()
        if item is None:
            return
        envelope = Envelope({"sdk": {"name": SDK_NAME, "version": VERSION}}, [item])
        status, _ = self._post(envelope)
        if status is None or status >= 500:
            self._discards.restore(item)

    def _record(self, envelope: Envelope, reason: DropReason) -> None:
        for item in envelope.items:
            if item.type != "client_report":
                self._discards.record(reason.value, item.category)

    def _spool_write(self, envelope: Envelope) -> str | None:
        if self._spool is None:
            return None
        try:
            return self._spool.write(envelope)
        except Exception as exc:
            log_internal_error("spool write", exc)
            return None

    def _spool_done(self, key: str | None) -> None:
        if key is not None and self._spool is not None:
            try:
                self._spool.remove(key)
            except Exception as exc:
                log_internal_error("spool remove", exc)
