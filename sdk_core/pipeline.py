"""The worker-side pipeline: a list of plain stages, ``(event, hint) -> event | None``, run in order.

The default stages are finalise -> scrub -> before_send (see ``default_stages``). A stage returns
the event (the same dict or a new one) to pass it on; it drops the event by raising
``DropEvent(reason)``, or by returning None (counted as ``event_processor``). A stage that raises
anything else drops the event as ``internal_sdk_error``: what could not be finalised or scrubbed
is never sent. Each drop is counted exactly once, by ``run_stages``.

``BatchProcessor`` is the callable the worker is given: it runs the stages on each queued event,
serialises it, builds its envelope and hands it to the transport. The transport never sees an
event that did not go through every stage.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Deque, Sequence, Tuple, Union

import orjson
from typing_extensions import Protocol

from ._internal_errors import log_internal_error, logger
from .before_send import run_before_send
from .compact import unpack
from .event import format_timestamp, level_name, set_meta
from .normalize import Normalizer
from .options import Options
from .stacktrace import add_source_context
from .telemetry import Stats
from .transport.envelope import Envelope, event_envelope
from .transport.serialize import dumps
from .types import DropReason, Event, Hint

if TYPE_CHECKING:
    from .attachments import AttachmentItems

Stage = Callable[[Event, Hint], "Event | None"]
"""One pipeline step: returns the event to pass on, or None to drop it."""

Scrub = Callable[[Event], "dict[str, int]"]
"""Scrubs an event in place; returns redaction counts by rule id."""

Drop = Callable[[DropReason], None]
"""Counts one dropped event (client reports and ``stats()``)."""


class Job(Protocol):
    """Work other than an event that rides the same worker, spool and rate limits: a log batch, a
    check-in, a session aggregate. It builds (scrubs, serialises) its own envelope on the worker."""

    category: str
    """The data category its drops are counted under (``log_item``, ``monitor``, ``session``)."""
    quantity: int
    """How many things it counts as in client reports (a log batch: its number of logs)."""

    def envelope(self) -> Envelope | None:
        """The finished envelope, or None if everything in it was dropped (counted by the job)."""


WorkItem = Union[Tuple[Event, Hint], Job]
"""What the client queues on the worker: an ``(event, hint)`` pair or a ``Job``."""


class DropEvent(Exception):
    """Raised by a stage to drop the event for a stated reason."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def run_stages(
    stages: Sequence[Stage], event: Event, hint: Hint, drop: Drop, between: Callable[[], None] | None = None
) -> Event | None:
    """Run ``event`` through ``stages``; None if a stage dropped it (counted once, here).

    ``between`` (optional) is called before each stage: the worker uses it to let go of the GIL.
    """
    for stage in stages:
        if between is not None:
            between()
        try:
            result = stage(event, hint)
        except DropEvent as dropped:
            drop(dropped.reason)
            return None
        except Exception as exc:
            log_internal_error(getattr(stage, "__name__", "pipeline stage"), exc)
            drop(DropReason.INTERNAL_SDK_ERROR)
            return None
        if result is None:
            drop(DropReason.EVENT_PROCESSOR)
            return None
        event = result
    return event


# -- the default stages --------------------------------------------------------------------------
GIL_SLICE = 0.0005
"""Seconds of worker work after which it lets other threads have the GIL (see ``pause``)."""

_release_gil: Callable[[], None] = getattr(os, "sched_yield", lambda: time.sleep(0))
"""Releases the GIL for a moment (``sched_yield`` costs a few µs; ``sleep(0)`` can cost 50+)."""

CRUMB_CACHE_SIZE = 1024
"""Normalised breadcrumbs kept (as JSON bytes) by identity; the cache is emptied when full."""


def finalise_stage(options: Options, static: dict[str, Any], normalizer: Normalizer) -> Stage:
    """Fill what capture left for later: source context, static fields, timestamps, normalised data.

    A scope's breadcrumbs ride on every event captured while they are in it (30 crumbs, 30 times
    over); each is normalised once and kept as JSON bytes, so later events only decode a copy
    (later stages may edit it in place). A breadcrumb is read as it was when first sent.
    """
    source_context = options.include_source_context
    cache: dict[int, tuple[dict[str, Any], bytes]] = {}

    def normalise_crumb(crumb: dict[str, Any]) -> dict[str, Any]:
        key = id(crumb)
        hit = cache.get(key)
        if hit is not None and hit[0] is crumb:
            out: dict[str, Any] = orjson.loads(hit[1])
            return out
        out = normalizer.normalize(crumb)
        ts = out.get("timestamp")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            out["timestamp"] = format_timestamp(float(ts))
        try:
            data = orjson.dumps(out)
        except Exception:
            return out
        if len(cache) >= CRUMB_CACHE_SIZE:
            cache.clear()
        cache[key] = (crumb, data)  # holding the crumb keeps its id from being reused
        return out

    def finalise(event: Event, hint: Hint) -> Event:
        unpack(event)
        if source_context:
            add_source_context(event)
        for key, value in static.items():
            if key not in event:
                event[key] = value
        ts = event.get("timestamp")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            event["timestamp"] = format_timestamp(float(ts))
        event["level"] = level_name(event.get("level", "error"))
        crumbs = event.get("breadcrumbs")
        if isinstance(crumbs, dict):
            values = crumbs.get("values")
            if isinstance(values, list):
                crumbs["values"] = [normalise_crumb(c) for c in values if isinstance(c, dict)]
        _limit_sections(event, normalizer)
        return event

    return finalise


def _limit_sections(event: Event, normalizer: Normalizer) -> None:
    """Depth, breadth and length limits on the free-form sections (trims noted in ``_meta``); tags as strings."""
    for key in ("extra", "contexts", "user", "request"):
        value = event.get(key)
        if value is not None:
            meta: dict[str, Any] = {}
            event[key] = normalizer.normalize(value, meta)
            if meta:
                set_meta(event, (key,), meta)
    tags = event.get("tags")
    if isinstance(tags, dict):
        event["tags"] = {str(k): v if isinstance(v, str) else str(v) for k, v in tags.items()}


def scrub_stage(scrub_in_place: Scrub, stats: Stats) -> Stage:
    """Scrub in place and count redactions; a scrubber error drops the event (never send it raw)."""

    def scrub(event: Event, hint: Hint) -> Event:
        stats.add_redactions(scrub_in_place(event))
        return event

    return scrub


def before_send_stage(hook: Callable[..., Any]) -> Stage:
    """The user's ``before_send``, on the scrubbed event; failing or returning junk drops it."""

    def before_send(event: Event, hint: Hint) -> Event:
        result = run_before_send(hook, event, hint)
        if result is None:
            raise DropEvent(DropReason.BEFORE_SEND)
        return result

    return before_send


def finalise_transaction_stage(static: dict[str, Any], normalizer: Normalizer) -> Stage:
    """A transaction's finalise: static fields, its timestamp, normalised scope data (spans are typed already)."""

    def finalise_transaction(event: Event, hint: Hint) -> Event:
        for key, value in static.items():
            if key not in event:
                event[key] = value
        ts = event.get("timestamp")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            event["timestamp"] = format_timestamp(float(ts))
        _limit_sections(event, normalizer)
        return event

    return finalise_transaction


def transaction_stages(
    options: Options, static: dict[str, Any], normalizer: Normalizer, scrub: Scrub | None, stats: Stats
) -> list[Stage]:
    """Transactions: finalise -> scrub (span descriptions and data too) -> ``before_send_transaction``."""
    stages = [finalise_transaction_stage(static, normalizer)]
    if scrub is not None:
        stages.append(scrub_stage(scrub, stats))
    if options.before_send_transaction is not None:
        stages.append(before_send_stage(options.before_send_transaction))
    return stages


def default_stages(
    options: Options, static: dict[str, Any], normalizer: Normalizer, scrub: Scrub | None, stats: Stats
) -> list[Stage]:
    """finalise -> scrub (unless ``scrubbing=False``) -> before_send (if set)."""
    stages = [finalise_stage(options, static, normalizer)]
    if scrub is not None:
        stages.append(scrub_stage(scrub, stats))
    if options.before_send is not None:
        stages.append(before_send_stage(options.before_send))
    return stages


# -- what the worker runs ------------------------------------------------------------------------
class BatchProcessor:
    """Stages, serialisation and envelope building for each queued event, then ``send``.

    The worker calls ``process_batch`` and knows nothing else; ``envelope_for`` also serves
    ``close()``, which spools what the worker did not reach (processed first, never raw).
    """

    def __init__(
        self,
        options: Options,
        stages: Sequence[Stage],
        drop: Drop,
        send: Callable[[Envelope], None],
        shedding: Callable[[int], DropReason | None] = lambda queued: None,
        drop_job: Callable[[DropReason, str, int], None] | None = None,
        *,
        transaction_stages: Sequence[Stage] = (),
        drop_transaction: Drop | None = None,
        drop_spans: Callable[[DropReason, int], None] | None = None,
    ) -> None:
        self.stages = list(stages)
        self.transaction_stages = list(transaction_stages)
        self.drop_spans = drop_spans
        self._drop_transaction = drop_transaction if drop_transaction is not None else drop
        self._drop_job = drop_job or (lambda reason, category, quantity: drop(reason))
        self.attachment_items: AttachmentItems | None = None
        """Adds an event's attachments (``hint["attachments"]``) to its envelope; set by the client."""
        self._options = options
        self._public_key = options.dsn.public_key if options.dsn is not None else None
        self._drop = drop
        self._send = send
        self._shedding = shedding
        self._held_since = time.perf_counter()

    def pause(self) -> None:
        """Let go of the GIL if this thread has held it for ``GIL_SLICE`` seconds of work.

        A request thread that wants the GIL then waits for at most about that long, not for the
        interpreter's switch interval (5 ms) while the worker normalises, scrubs or compresses.
        """
        now = time.perf_counter()
        if now - self._held_since >= GIL_SLICE:
            _release_gil()
            self._held_since = time.perf_counter()

    def drop(self, reason: DropReason) -> None:
        """Count one drop (and say so when ``debug=True``)."""
        self._drop(reason)
        if self._options.debug:
            logger.debug("event dropped: %s", reason.value)

    def drop_transaction(self, reason: DropReason) -> None:
        """Count one dropped transaction (category ``transaction``)."""
        self._drop_transaction(reason)
        if self._options.debug:
            logger.debug("transaction dropped: %s", reason.value)

    def envelope_for(self, event: Event, hint: Hint) -> Envelope | None:
        """The event through every stage, serialised, in its envelope; None if dropped (counted).

        A transaction (``type: transaction``) runs the transaction stages instead. ``_dsc``, the
        trace's sampling context set on the caller thread, becomes the envelope's ``trace`` header.
        """
        dsc = event.pop("_dsc", None)
        if event.get("type") == "transaction":
            stages, drop = self.transaction_stages, self._span_counting_drop(event)
        else:
            stages, drop = self.stages, self.drop
        processed = run_stages(stages, event, hint, drop, self.pause)
        if processed is None:
            return None
        self.pause()
        payload = dumps(processed)
        if payload is None:
            drop(DropReason.INTERNAL_SDK_ERROR)
            return None
        options = self._options
        envelope = event_envelope(
            processed,
            payload,
            environment=options.environment,
            public_key=self._public_key,
            release=options.release,
            dsc=dsc,
        )
        attachments = hint.get("attachments")
        if attachments and self.attachment_items is not None:
            self.attachment_items.add_to(envelope, attachments)
        return envelope

    def build(self, work: WorkItem) -> Envelope | None:
        """The envelope of one queued item: an event through the stages, or a job's own."""
        if isinstance(work, tuple):
            return self.envelope_for(work[0], work[1])
        return work.envelope()

    def drop_work(self, work: WorkItem, reason: DropReason) -> None:
        """Count one queued item as dropped, under its own data category."""
        if isinstance(work, tuple):
            self._drop_for(work[0])(reason)
        else:
            self._drop_job(reason, work.category, work.quantity)

    def process_batch(self, batch: Deque[WorkItem]) -> None:
        """Consume ``batch`` from the left (``close()`` may take the rest of it concurrently)."""
        send = self._send
        shedding = self._shedding
        self._held_since = time.perf_counter()
        while batch:
            try:
                work = batch.popleft()
            except IndexError:
                break
            # Errors only: transactions and jobs have their own categories and limits.
            reason = shedding(0) if isinstance(work, tuple) and work[0].get("type") != "transaction" else None
            if reason is not None:
                self.drop(reason)  # it would be dropped after all the work: skip the work
                self.pause()
                continue
            try:
                envelope = self.build(work)
            except Exception as exc:
                log_internal_error("build envelope", exc)
                self.drop_work(work, DropReason.INTERNAL_SDK_ERROR)
                continue
            if envelope is None:
                continue
            self.pause()
            try:
                send(envelope)
            except Exception as exc:
                log_internal_error("transport.send", exc)
                self.drop_work(work, DropReason.INTERNAL_SDK_ERROR)
            self.pause()

    def _drop_for(self, event: Event) -> Drop:
        return self._span_counting_drop(event) if event.get("type") == "transaction" else self.drop

    def _span_counting_drop(self, event: Event) -> Drop:
        """Drops a transaction: counts it, and its spans + 1 in category ``span`` (the protocol's rule)."""
        spans = event.get("spans")
        count = (len(spans) if isinstance(spans, list) else 0) + 1

        def drop(reason: DropReason) -> None:
            self.drop_transaction(reason)
            if self.drop_spans is not None:
                self.drop_spans(reason, count)

        return drop
