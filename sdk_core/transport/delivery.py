"""HttpTransport: delivery policy over one ``HttpSender``. The one outcome handler lives here.

Every POST, live or replayed from the spool, goes through ``_deliver``, which settles the result:

* 2xx: sent. 429: the server counted it, dropped. Other 4xx: dropped, ``send_error``, never retried.
* No response (connection refused, reset, timeout, garbage) or 5xx: the endpoint is marked down for
  a capped, jittered, exponential backoff, and the envelope is kept for later. With a spool
  (``spool_dir``) it goes to disk at once and the spool is replayed, oldest first, whenever the
  endpoint is due for another try (by ``tick`` on the worker's idle wake-ups, and by ``flush``);
  while the endpoint is down new envelopes go straight to disk without a doomed attempt. Without
  a spool (or if the disk refuses it) it waits in a bounded in-memory heap for ``max_retries``.
* Only failures that can be the envelope's own fault are charged to it: a response other than
  502/503/504 (a proxy or an overloaded server). An envelope charged more than ``max_retries``
  times is dropped as ``send_error`` so a poison envelope cannot block the spool forever; network
  errors and 502/503/504 are never charged, so a spooled envelope outlives any outage (it stays
  on disk for the next process if this one stops first).
* Client reports ride on event envelopes; one that rode on an undelivered envelope goes back to
  the counter. With nothing to ride on, they are sent alone at most every ``REPORT_INTERVAL``.
"""

from __future__ import annotations

import heapq
import itertools
import time
import zlib
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .._internal_errors import log_internal_error, logger
from ..types import DropReason
from .backoff import Backoff
from .client_reports import DiscardCounter
from .envelope import Envelope, Item, client_report_envelope, refresh_sent_at
from .http import HttpSender
from .outcomes import Outcome, classify
from .ratelimit import RateLimits, parse_retry_after

if TYPE_CHECKING:
    from ..options import Options
    from .spool import Spool, SpooledEnvelope

MAX_PENDING_RETRIES = 100
REPLAY_BATCH = 20
"""Spooled envelopes replayed per worker tick, so live events are never starved by a big spool."""
SPOOL_IDLE_RESCAN = 30.0
"""While the spool looks empty, look again this often (another process may have died and left some)."""
RATE_LIMIT_RECHECK = 1.0
REPORT_INTERVAL = 30.0
"""Pending client reports with no envelope to ride on are sent on their own at most this often."""
ENDPOINT_STATUSES = frozenset({502, 503, 504})


def _charged(status: int | None) -> bool:
    """Is a failed attempt (network error or 5xx) possibly the envelope's own fault?"""
    return status is not None and status not in ENDPOINT_STATUSES


class Verdict(NamedTuple):
    """How one POST was settled; ``RETRY`` means the envelope is to be kept and tried again."""

    outcome: Outcome
    status: int | None
    charged: int


class _Parked:
    """An envelope waiting in the retry heap with its payloads compressed (a quarter of the size)."""

    __slots__ = ("headers", "items")

    def __init__(self, envelope: Envelope) -> None:
        self.headers = envelope.headers
        self.items = [(item.type, zlib.compress(item.payload, 1), item.headers) for item in envelope.items]

    def envelope(self) -> Envelope:
        return Envelope(self.headers, [Item(t, zlib.decompress(p), h) for t, p, h in self.items])

    def __lt__(self, other: Any) -> bool:  # never reached: heap entries differ by sequence number
        return False


class HttpTransport:
    """The ``Transport`` for a DSN: sends through ``HttpSender``; retries or spools what failed.

    Not thread-safe by design: only the background worker calls it (``begin_close`` excepted).
    """

    def __init__(
        self,
        options: Options,
        discards: DiscardCounter,
        *,
        spool: Spool | None = None,
        sender: HttpSender | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._options = options
        self._discards = discards
        self._spool = spool
        self._clock = clock
        self._sleep = sleep
        self.sender = sender if sender is not None else HttpSender(options, clock)
        self._backoff = Backoff(max_retries=options.max_retries)
        self.rate_limits = RateLimits(clock)
        self._retries: list[tuple[float, int, int, _Parked]] = []
        self._seq = itertools.count()
        self._down_until = 0.0
        self._failures = 0
        self._retry_after: float | None = None
        self._skip: set[str] = set()
        self._replay_paused_until = 0.0
        self._spool_empty = False
        self._spool_look_at = 0.0
        self._last_report = clock()
        self._closing = False
        self._failing: str | None = None  # the reason last warned about, until delivery recovers
        self.sent_envelopes = 0
        self.sent_bytes = 0
        self.replayed_envelopes = 0
        self.on_sent: Callable[[int, float], None] | None = None

    # -- the Transport protocol ------------------------------------------------------------
    def send(self, envelope: Envelope) -> None:
        """Deliver now, or keep it (spool or retry heap) while the endpoint is down."""
        envelope = self._drop_rate_limited(envelope)
        if not envelope.items:
            return
        if self._clock() < self._down_until:
            self._defer(envelope, 1, None, charged=0)
            return
        self._attempt(envelope, 0)
        self._run_due_retries()

    def flush(self, timeout: float) -> bool:
        """Deliver retries and the spool until done or ``timeout``; True if nothing is left.

        Returns at once when the next try is due after the deadline, and (once ``begin_close``
        was called) when the endpoint is down and all that is left is safe on disk.
        """
        deadline = self._clock() + max(0.0, timeout)
        while True:
            self._run_due_retries()
            self._replay(None, deadline)
            waits = []
            if self._retries:
                waits.append(self._retries[0][0])
            if self._spool_pending():
                if not (self._closing and not self._retries and self._clock() < self._down_until):
                    waits.append(max(self._down_until, self._replay_paused_until))
            if not waits:
                break
            due, now = min(waits), self._clock()
            if due > deadline or now >= deadline:
                break
            self._sleep(max(0.005, min(due, deadline) - now))
        if self._options.send_client_reports and self._discards.has_pending() and self._clock() >= self._down_until:
            self._send_client_report()
        return not self._retries and not self._spool_pending()

    def close(self, timeout: float) -> None:
        """Flush within ``timeout``; what is still in the retry heap is counted as lost."""
        self._closing = True
        self.flush(timeout)
        for _due, _seq, _attempt, parked in self._retries:
            self._record(parked.envelope(), DropReason.NETWORK_ERROR)
        self._retries = []
        self.sender.close()

    def begin_close(self) -> None:
        """From the closing thread: flushes from now on stop early once everything is on disk."""
        self._closing = True

    def tick(self) -> float | None:
        """Run due retries, replay some of the spool, send overdue client reports.

        Returns the seconds until calling again is useful, or None when there is nothing to wait for.
        """
        now = self._clock()
        self._run_due_retries()
        if self._spool is not None:
            if self._spool_empty and now >= self._spool_look_at:
                self._spool_empty = False
            self._replay(REPLAY_BATCH, None)
        if (
            self._options.send_client_reports
            and self._discards.has_pending()
            and now >= self._down_until
            and now - self._last_report >= REPORT_INTERVAL
        ):
            self._send_client_report()
        return self._next_wakeup()

    def reset_after_fork(self) -> None:
        """The parent's sockets, retries and claims are not ours: start with a fresh connection pool."""
        self.sender.reset_after_fork()
        self._retries = []
        self._skip = set()
        self._spool_empty = False
        self._closing = False

    def shedding(self, queued: int = 0) -> DropReason | None:
        """Why an event offered now, with ``queued`` ahead of it, would be dropped unsent: rate
        limited, or endpoint down, no spool, and the retry heap full once those ahead reach it.

        Called from caller threads too (it only reads): in an outage the queue never holds more
        than the retry heap could take, and the worker skips the pipeline for what it sheds.
        """
        if self.rate_limits.is_limited("error"):
            return DropReason.RATELIMIT_BACKOFF
        if self._spool is None and self._clock() < self._down_until:
            if self._backoff.max_retries < 1:
                return DropReason.NETWORK_ERROR
            if len(self._retries) + queued >= MAX_PENDING_RETRIES:
                return DropReason.CACHE_OVERFLOW
        return None

    def probe(self, envelope: Envelope) -> tuple[int | None, dict[str, str], str | None]:
        """One POST through this transport's sender, no retry and no counting (``sdk_core check``)."""
        return self.sender.probe(envelope)

    # -- the one outcome handler -----------------------------------------------------------
    def _deliver(self, envelope: Envelope, *, count_sent: bool = True) -> Verdict:
        """POST once and settle the outcome.

        Sent, rate limited by the server or rejected (counted): the envelope is done with.
        ``RETRY``: the endpoint is marked down and ``charged`` says whether the envelope is to blame.
        """
        report = self._piggyback(envelope)
        refresh_sent_at(envelope)
        self._retry_after = None
        result = self.sender.post(envelope)
        status = result.status
        if status is not None:
            try:
                self.rate_limits.update(status, result.headers)
            except Exception as exc:
                log_internal_error("rate limit header", exc)
        outcome = classify(status)
        if outcome is Outcome.SENT:
            self.sent_envelopes += 1
            self.sent_bytes += result.body_bytes
            if self._failing is not None:
                self._failing = None
                logger.info("events are being delivered to %s again", self.sender.describe())
            self._endpoint_up()
            if count_sent and self.on_sent is not None:
                self.on_sent(len(envelope.items), result.elapsed)
            return Verdict(outcome, status, 0)
        self._unpiggyback(envelope, report)
        if outcome is Outcome.RATE_LIMITED:
            return Verdict(outcome, status, 0)
        if outcome is Outcome.REJECTED:
            if status in (401, 403):
                self._warn_failing(f"the server refused the DSN (HTTP {status}): check the public key and project id")
            elif status == 413:
                self._warn_failing("the server refused the envelope as too large (HTTP 413)")
            self._record(envelope, DropReason.SEND_ERROR)
            return Verdict(outcome, status, 0)
        if status is not None:
            self._retry_after = parse_retry_after(result.headers.get("retry-after"))
        else:
            self._warn_failing(result.error or "no response")
        self._endpoint_down()
        return Verdict(outcome, status, 1 if _charged(status) else 0)

    def _warn_failing(self, reason: str) -> None:
        """One WARNING per outage (host and reason, never the key); quiet until delivery recovers."""
        if self._failing is None:
            self._failing = reason
            logger.warning("events cannot be delivered to %s: %s", self.sender.describe(), reason)

    def _attempt(self, envelope: Envelope, attempt: int) -> None:
        verdict = self._deliver(envelope)
        if verdict.outcome is Outcome.RETRY:
            self._defer(envelope, attempt + 1, verdict.status, charged=verdict.charged)

    def _defer(self, envelope: Envelope, attempt: int, status: int | None, charged: int) -> None:
        """Keep an envelope that was not delivered now: on disk if we can, else in the retry heap."""
        if self._spool is not None and charged <= self._backoff.max_retries:
            key = self._spool_write(envelope, charged)
            if key is not None:
                return
        if not self._backoff.should_retry(attempt) or charged > self._backoff.max_retries:
            self._record(envelope, DropReason.NETWORK_ERROR if status is None else DropReason.SEND_ERROR)
            return
        due = self._clock() + self._backoff.delay(attempt, self._retry_after)
        self._down_until = max(self._down_until, due)
        if len(self._retries) >= MAX_PENDING_RETRIES:
            self._record(envelope, DropReason.CACHE_OVERFLOW)
            return
        heapq.heappush(self._retries, (due, next(self._seq), attempt, _Parked(envelope)))

    def _run_due_retries(self) -> None:
        now = self._clock()
        while self._retries and self._retries[0][0] <= now:
            _due, _seq, attempt, parked = heapq.heappop(self._retries)
            envelope = self._drop_rate_limited(parked.envelope())
            if envelope.items:
                self._attempt(envelope, attempt)
            now = self._clock()

    def _endpoint_up(self) -> None:
        self._down_until = 0.0
        self._failures = 0
        self._skip.clear()

    def _endpoint_down(self) -> None:
        self._failures += 1
        delay = self._backoff.delay(self._failures, self._retry_after)
        self._down_until = max(self._down_until, self._clock() + delay)

    def _drop_rate_limited(self, envelope: Envelope) -> Envelope:
        limited = self.rate_limits.limited_categories({item.category for item in envelope.items})
        if not limited:
            return envelope
        for item in envelope.items:
            if item.category in limited:
                self._discards.record(DropReason.RATELIMIT_BACKOFF.value, item.category, item.quantity)
        return envelope.without(limited)

    def _record(self, envelope: Envelope, reason: DropReason) -> None:
        for item in envelope.items:
            if item.type != "client_report":
                self._discards.record(reason.value, item.category, item.quantity)

    # -- the spool ---------------------------------------------------------------------------
    def _spool_pending(self) -> bool:
        return self._spool is not None and not self._spool_empty

    def _replay(self, limit: int | None, deadline: float | None) -> int:
        """Send spooled envelopes, oldest first, while the endpoint is up; return how many were tried."""
        spool = self._spool
        if spool is None or self._spool_empty:
            return 0
        done = 0
        while limit is None or done < limit:
            now = self._clock()
            if now < self._down_until or now < self._replay_paused_until:
                break
            if deadline is not None and now >= deadline:
                break
            try:
                spooled = spool.claim_next(self._skip)
            except Exception as exc:
                log_internal_error("spool claim", exc)
                spooled = None
            if spooled is None:
                self._spool_empty = True
                self._spool_look_at = now + SPOOL_IDLE_RESCAN
                break
            done += 1
            self._replay_one(spool, spooled)
        return done

    def _replay_one(self, spool: Spool, spooled: SpooledEnvelope) -> None:
        finished = False
        try:
            envelope = spooled.envelope
            counted = {item.category for item in envelope.items if item.category != "internal"}
            limited = self.rate_limits.limited_categories(counted)
            if limited and limited == counted:
                # The server asked us to wait: the envelope is safe on disk, so wait rather than drop.
                self._replay_paused_until = self._clock() + RATE_LIMIT_RECHECK
                return
            envelope = self._drop_rate_limited(envelope)
            verdict = self._deliver(envelope)
            if verdict.outcome is not Outcome.RETRY:
                finished = True
                if verdict.outcome is Outcome.SENT:
                    self.replayed_envelopes += 1
                return
            attempts = spooled.attempts + verdict.charged
            if attempts > self._backoff.max_retries:
                finished = True
                self._record(envelope, DropReason.SEND_ERROR)
                return
            self._skip.add(spooled.key)
            spooled.attempts = attempts
        finally:
            try:
                if finished:
                    spool.remove(spooled)
                else:
                    spool.release(spooled, spooled.attempts)
            except Exception as exc:
                log_internal_error("spool release", exc)

    def _spool_write(self, envelope: Envelope, attempts: int) -> str | None:
        if self._spool is None:
            return None
        try:
            key = self._spool.write(envelope, attempts)
        except Exception as exc:
            log_internal_error("spool write", exc)
            return None
        if key is not None:
            self._spool_empty = False
        return key

    def _next_wakeup(self) -> float | None:
        now = self._clock()
        due: list[float] = []
        if self._retries:
            due.append(self._retries[0][0])
        if self._spool is not None:
            if self._spool_empty:
                due.append(self._spool_look_at)
            else:
                due.append(max(self._down_until, self._replay_paused_until))
        if self._options.send_client_reports and self._discards.has_pending():
            due.append(max(self._down_until, self._last_report + REPORT_INTERVAL))
        return max(0.0, min(due) - now) if due else None

    # -- client reports --------------------------------------------------------------------
    def _piggyback(self, envelope: Envelope) -> Item | None:
        if not (
            envelope.headers.get("event_id") and self._options.send_client_reports and self._discards.has_pending()
        ):
            return None
        report = self._discards.take_item()
        if report is not None:
            envelope.items.append(report)
            self._last_report = self._clock()
        return report

    def _unpiggyback(self, envelope: Envelope, report: Item | None) -> None:
        """A report that rode on an undelivered envelope goes back to the counter, not to disk."""
        if report is None:
            return
        envelope.items = [item for item in envelope.items if item is not report]
        self._discards.restore(report)

    def _send_client_report(self) -> None:
        item = self._discards.take_item()
        if item is None:
            return
        self._last_report = self._clock()
        if self._deliver(client_report_envelope(item), count_sent=False).outcome is Outcome.RETRY:
            self._discards.restore(item)
