"""Client: owns the options, the pipeline, the worker and the transport; runs the data flow."""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable

from ._internal_errors import log_internal_error, logger
from .attachments import AttachmentItems
from .attachments import collect as collect_attachments
from .compact import pack
from .event import new_event_id, static_contexts, static_fields
from .normalize import Normalizer
from .options import Options
from .pipeline import BatchProcessor, Job, Scrub, WorkItem, default_stages, transaction_stages
from .sampling import Sampler
from .scope import Scope, get_isolation_scope
from .scope_merge import apply_scopes
from .sessions import note_event
from .stacktrace import FrameBuilder
from .telemetry import Stats
from .transport.base import as_transport
from .transport.client_reports import DiscardCounter
from .transport.envelope import client_report_envelope
from .transport.worker import Worker
from .types import DropReason, Event, Hint, Transport

if TYPE_CHECKING:
    from .transport.envelope import Envelope
    from .transport.spool import DiskSpool


def _make_scrub(options: Options) -> Scrub | None:
    """The scrub function of the pipeline's scrub stage, or None with ``scrubbing=False``.

    Your own ``scrubbers=`` rules are compiled now, so a misconfigured rule fails ``init``. The
    default rules are known to compile: they are imported and compiled by the worker before the
    first event it scrubs, which keeps ``init`` cheap (tens of milliseconds of regular expressions).
    """
    if not options.scrubbing:
        logger.warning("scrubbing is switched off: events leave the process with secrets and personal data intact")
        return None
    if options.scrubbers is None:
        return _DefaultScrub(options)
    return _compile_scrub(options, options.scrubbers)


def _compile_scrub(options: Options, rules: Any) -> Scrub:
    import scrubbers

    engine = scrubbers.compile_rules(
        rules,
        allow_keys=options.scrub_allow_keys,
        send_default_pii=options.send_default_pii,
        hash_key=options.scrub_hash_key,
    )
    scrub: Scrub = engine.scrub_in_place
    return scrub


class _DefaultScrub:
    """The default rules' engine, compiled on first use (on the worker thread)."""

    __slots__ = ("_options", "_scrub")

    def __init__(self, options: Options) -> None:
        self._options = options
        self._scrub: Scrub | None = None

    def __call__(self, event: Event) -> dict[str, int]:
        scrub = self._scrub
        if scrub is None:
            import scrubbers

            scrub = self._scrub = _compile_scrub(self._options, scrubbers.DEFAULT)
        return scrub(event)


_NO_HINT: Hint = {}
_JOB_ITEM_BYTES = 512
_SPAN_BYTES = 256


class Client:
    """Owns the options, the worker and the transport; ``capture_event`` is the caller-side flow.

    Caller thread: filter, sample, merge scopes, queue. Worker thread: the pipeline's stages,
    serialisation and envelope building (``BatchProcessor``), then ``transport.send``.
    """

    def __init__(self, options: Options, integrations: list[str] | None = None) -> None:
        self.options = options
        self.discards = DiscardCounter()
        self.stats = Stats(self.discards)
        self.normalizer = Normalizer(options.max_value_length)
        self.frames = FrameBuilder(
            self.normalizer,
            in_app_include=options.in_app_include,
            in_app_exclude=options.in_app_exclude,
            include_local_variables=options.include_local_variables,
            include_source_context=options.include_source_context,
        )
        self.integration_names: list[str] = list(integrations or [])
        self._static = static_fields(options, self.integration_names)
        self._contexts = static_contexts()
        self.sampler = Sampler(options.sample_rate)
        self.spool = self._make_spool()
        self.transport = self._make_transport()
        self.scrub = _make_scrub(options)
        self.processor = BatchProcessor(
            options,
            default_stages(options, self._static, self.normalizer, self.scrub, self.stats),
            _drop_counter(self.discards),
            self.transport.send if self.transport is not None else _nowhere,
            self.transport.shedding if self.transport is not None else _never,
            drop_job=_job_drop_counter(self.discards),
            transaction_stages=transaction_stages(options, self._static, self.normalizer, self.scrub, self.stats),
            drop_transaction=_drop_counter(self.discards, "transaction"),
            drop_spans=lambda reason, n: self.discards.record(reason.value, "span", n),
        )
        self.processor.attachment_items = AttachmentItems(self.scrub, self.discards.record)
        self._worker: Worker[WorkItem] = Worker(
            self.processor.process_batch,
            self._flush_transport,
            max_size=options.max_queue_size,
            max_bytes=options.max_queue_bytes,
            batch_size=options.batch_size,
            linger=options.batch_interval,
            on_idle=self._tick_transport,
            on_fork=self._after_fork_in_child,
        )
        self._closed = False
        self._start_telemetry()
        # Transactions may fill at most this much of the queue: errors always find room.
        self._transaction_room = max(1, options.max_queue_size * 3 // 4)
        self.tracing = self._start_tracing()
        self._last_exception = threading.local()
        if self.spool is not None and self.transport is not None and self._spool_has_files():
            self._worker.start()  # replay what an earlier process (or this one) left on disk
        ref = weakref.ref(self)
        self._atexit: Callable[[], None] = lambda: _close_at_exit(ref)
        atexit.register(self._atexit)

    @property
    def enabled(self) -> bool:
        """True while events can be captured: a transport exists and ``close()`` has not run."""
        return self.transport is not None and not self._closed

    def _make_transport(self) -> Transport | None:
        if self.options.transport is not None:
            return as_transport(self.options.transport)
        if self.options.dsn is None:
            return None
        from .transport.delivery import HttpTransport

        transport = HttpTransport(self.options, self.discards, spool=self.spool)

        def on_sent(items: int, elapsed: float) -> None:
            self.stats.record_sent(transport.sent_bytes, elapsed)

        transport.on_sent = on_sent
        return transport

    def _start_tracing(self) -> Any:
        """Tracing's runtime (``sdk_core.tracing.Runtime``) when ``traces_sample_rate``/``traces_sampler`` is set."""
        if not self.options.tracing or self.transport is None:
            return None
        try:
            from . import tracing

            runtime = tracing.Runtime(self.options, self.capture_transaction, self.discards.record)
            tracing.set_current(runtime)
            tracing.install(self.options)
            return runtime
        except Exception as exc:
            log_internal_error("tracing setup", exc)
            return None

    def _make_spool(self) -> DiskSpool | None:
        """The disk spool of ``spool_dir``: one sub-directory per DSN. Never fatal: without it, no spool."""
        directory, dsn = self.options.spool_dir, self.options.dsn
        if not directory:
            return None
        if self.options.transport is not None or dsn is None:
            logger.warning("spool_dir is ignored: it applies to the HTTP transport (a DSN and no custom transport)")
            return None
        try:
            from .transport.spool import DiskSpool, namespace_for

            return DiskSpool(
                os.path.expanduser(directory),
                namespace=namespace_for(dsn.scheme, dsn.netloc, dsn.path_prefix, dsn.project_id, dsn.public_key),
                on_discard=self.discards.record,
                on_restore=self.discards.restore,
                max_files=self.options.spool_max_files,
                max_bytes=self.options.spool_max_bytes,
            )
        except Exception as exc:
            logger.warning("spool_dir is not usable (%s: %s): continuing without a spool", type(exc).__name__, exc)
            return None

    def _spool_has_files(self) -> bool:
        try:
            return self.spool is not None and self.spool.pending() > 0
        except Exception as exc:
            log_internal_error("spool scan", exc)
            return False

    # -- caller thread ---------------------------------------------------------------------
    def capture_event(self, event: Event, hint: Hint | None = None, scope: Scope | None = None) -> str | None:
        """Merge scope data, sample and queue. Returns the event id, or None if it will not be sent."""
        if not self.enabled or not isinstance(event, dict):
            return None
        if not isinstance(event.get("event_id"), str):
            event["event_id"] = new_event_id()  # what the caller gets back identifies the event
        hint = hint if hint is not None else {}
        if self.options.ignore_errors and self._ignored(hint):
            return None
        if self._duplicate(hint):
            return None
        if self.sessions is not None:
            note_event(event)  # release health: the request errored (or crashed), sampled or not
        if not self.sampler.keep():
            self._drop(DropReason.SAMPLE_RATE)
            return None
        shed = self.transport.shedding(len(self._worker)) if self.transport is not None else None
        if shed is not None:
            # Captured, but it would be dropped unsent: counted now, without merging or queueing it.
            self.stats.record_captured()
            self._drop(shed)
            event_id = event.get("event_id")
            return event_id if isinstance(event_id, str) else None
        merged = apply_scopes(event, hint, scope, self._contexts, self.options.max_breadcrumbs)
        if merged is None:
            self._drop(DropReason.EVENT_PROCESSOR)
            return None
        self.stats.record_captured()
        if self.tracing is not None:
            self._add_trace_header(merged)
        # Only before_send reads the hint on the worker; without one, do not keep the exception (and
        # through its traceback the application's frames and locals) alive in the queue.
        queued_hint = hint if self.options.before_send is not None else _NO_HINT
        attachments = collect_attachments(hint)
        if attachments:
            queued_hint = {**queued_hint, "attachments": attachments}
        if not self._worker.submit((merged, queued_hint), pack(merged)):
            self._drop(DropReason.QUEUE_OVERFLOW)
            return None
        event_id = merged.get("event_id")
        return event_id if isinstance(event_id, str) else None

    def submit_job(self, job: Job) -> bool:
        """Queue a log batch, check-in or session aggregate on the worker; False if the queue is full."""
        if not self.enabled:
            return False
        return self._worker.submit(job, _JOB_ITEM_BYTES * max(1, job.quantity))  # a rough size for the byte bound

    def _start_telemetry(self) -> None:
        """Logs, sessions: each feature's own module builds its part (None when it is off)."""
        from . import logs, sessions

        self.logs = logs.make_batcher(self.options, self.scrub, self.discards.record, self.submit_job)
        self.sessions = sessions.make_aggregator(self.options, self.submit_job, self.discards.record)

    def _flush_telemetry(self) -> None:
        """``flush()`` also delivers what the features buffer (logs not yet batched)."""
        try:
            if self.logs is not None:
                self.logs.flush()
        except Exception as exc:
            log_internal_error("flush telemetry", exc)

    def _close_telemetry(self) -> None:
        """Hand what the features still buffer to the worker, before it is flushed and closed."""
        from . import logs, sessions

        try:
            logs.close_batcher(self.logs)
            sessions.close_aggregator(self.sessions)
        except Exception as exc:
            log_internal_error("close telemetry", exc)

    def capture_transaction(self, event: Event) -> str | None:
        """Queue a finished transaction (built by ``sdk_core.tracing``) with the scopes' data merged in."""
        if not self.enabled:
            return None
        if self._transactions_rate_limited():
            _drop_transaction(self.discards, DropReason.RATELIMIT_BACKOFF, event)
            return None
        if len(self._worker) >= self._transaction_room:
            _drop_transaction(self.discards, DropReason.QUEUE_OVERFLOW, event)  # the rest is kept for errors
            return None
        merged = apply_scopes(event, {}, None, self._contexts, 0, transaction=True)
        if merged is None:
            _drop_transaction(self.discards, DropReason.EVENT_PROCESSOR, event)
            return None
        hint: Hint = {} if self.options.before_send_transaction is not None else _NO_HINT
        if not self._worker.submit((merged, hint), pack(merged) + _SPAN_BYTES * len(merged.get("spans") or ())):
            _drop_transaction(self.discards, DropReason.QUEUE_OVERFLOW, merged)
            return None
        event_id = merged.get("event_id")
        return event_id if isinstance(event_id, str) else None

    def _transactions_rate_limited(self) -> bool:
        """The server said it takes no transactions for now (Bugsink always does): do not even queue them."""
        limits = getattr(self.transport, "rate_limits", None)
        try:
            return limits is not None and bool(limits.is_limited("transaction"))
        except Exception:
            return False

    def _add_trace_header(self, event: Event) -> None:
        """An error inside a traced span carries its trace's sampling context (envelope header ``trace``)."""
        try:
            from .tracing import current_dsc

            dsc = current_dsc()
        except Exception as exc:
            log_internal_error("trace header", exc)
            return
        if dsc is not None:
            event["_dsc"] = dsc

    def _duplicate(self, hint: Hint) -> bool:
        """The same exception object captured twice in a row on a thread (your ``except`` block,
        then the framework the exception was re-raised to) is reported once."""
        exc_info = hint.get("exc_info")
        exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
        if exc is None:
            return False
        if getattr(self._last_exception, "value", None) is exc:
            return True
        self._last_exception.value = exc
        return False

    def _ignored(self, hint: Hint) -> bool:
        exc_info = hint.get("exc_info")
        if not exc_info:
            return False
        exc_type = exc_info[0]
        for rule in self.options.ignore_errors:
            if isinstance(rule, type) and isinstance(exc_type, type) and issubclass(exc_type, rule):
                return True
            if (
                isinstance(rule, str)
                and isinstance(exc_type, type)
                and rule in (exc_type.__name__, exc_type.__qualname__)
            ):
                return True
        return False

    def _drop(self, reason: DropReason) -> None:
        self.discards.record(reason.value, "error")

    def add_breadcrumb(self, crumb: dict[str, Any], hint: Hint | None) -> None:
        """Run ``before_breadcrumb`` (dropping the crumb if it says so), then keep it on the scope."""
        hook = self.options.before_breadcrumb
        if hook is not None:
            try:
                result = hook(crumb, hint or {})
            except Exception as exc:
                log_internal_error("before_breadcrumb", exc)
                return
            if not isinstance(result, dict):
                return
            crumb = result
        get_isolation_scope().append_breadcrumb(crumb, self.options.max_breadcrumbs)

    # -- worker thread (hooks the worker is given; the pipeline itself is ``self.processor``) --
    def _flush_transport(self, timeout: float) -> bool:
        return self.transport is None or bool(self.transport.flush(timeout))

    def _tick_transport(self) -> float | None:
        if self.transport is None:
            return None
        delay = self.transport.tick()
        return float(delay) if isinstance(delay, (int, float)) else None

    def _after_fork_in_child(self) -> None:
        """Called in a forked child (after the worker's own reset): no lock, socket or claim of the parent's."""
        self.discards.reset_after_fork()
        self.stats._lock = threading.Lock()
        self.sampler.reset_after_fork()
        if self.tracing is not None:
            from .tracing import reset_after_fork

            reset_after_fork()
        if self.transport is not None:
            self.transport.reset_after_fork()
        if self.spool is not None:
            self.spool.reset_after_fork()
        for feature in (self.logs, self.sessions):
            if feature is not None:
                feature.reset_after_fork()

    # -- lifecycle -------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was queued before this call is delivered; False at the deadline."""
        if self.transport is None:
            return True
        self._flush_telemetry()
        return self._worker.flush(self.options.shutdown_timeout if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver within ``timeout``, spool (or count) what is left, and stop for good."""
        if self._closed:
            return
        timeout = self.options.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._stop_tracing()
        self._close_telemetry()
        try:
            if self.transport is not None:
                self.transport.begin_close()
                # With a spool, keep a slice of the time to scrub and spool what the worker did not reach.
                reserve = min(SPOOL_RESERVE, timeout * 0.25) if self.spool is not None else 0.0
                self._worker.close(timeout - reserve)
                leftovers = self._worker.take_pending()
                if leftovers:
                    self._spool_or_drop(leftovers, deadline)
                # A worker still stuck in a send owns the transport; it is a daemon and dies with us.
                if not self._worker.is_alive():
                    self.transport.close(max(0.0, deadline - time.monotonic()))
                self._spool_client_report()
        finally:
            self._closed = True
            if self.spool is not None:
                self.spool.close()
            try:
                atexit.unregister(self._atexit)
            except Exception:
                pass

    def _stop_tracing(self) -> None:
        """Roots still open when the client closes are not sent (tracing's runtime is switched off)."""
        if self.tracing is None:
            return
        from . import tracing

        if tracing.current() is self.tracing:
            tracing.set_current(None)

    def _spool_or_drop(self, items: list[WorkItem], deadline: float) -> None:
        """Events still queued at the end of ``shutdown_timeout``: scrubbed (the full pipeline) and
        spooled while time remains, else dropped and counted. Never written raw."""
        spool = self.spool
        processor = self.processor
        for done, work in enumerate(items):
            if spool is None or time.monotonic() >= deadline:
                for rest in items[done:]:
                    processor.drop_work(rest, DropReason.NETWORK_ERROR)
                return
            try:
                envelope = processor.build(work)
            except Exception as exc:
                log_internal_error("build envelope", exc)
                processor.drop_work(work, DropReason.INTERNAL_SDK_ERROR)
                continue
            if envelope is not None and spool.write(envelope) is None:
                processor.drop_work(work, DropReason.NETWORK_ERROR)

    def _spool_client_report(self) -> None:
        """Counts not yet reported go to disk too: the next process reports them."""
        if self.spool is None or not self.options.send_client_reports or not self.discards.has_pending():
            return
        item = self.discards.take_item()
        if item is None:
            return
        try:
            key = self.spool.write(client_report_envelope(item))
        except Exception as exc:
            log_internal_error("spool client report", exc)
            key = None
        if key is None:
            self.discards.restore(item)

    def queued(self) -> int:
        """Events waiting for the worker (or in the batch it is on)."""
        return len(self._worker)

    def stats_dict(self) -> dict[str, Any]:
        """``sdk_core.stats()``: the counters plus the queue's size in events and bytes."""
        out = self.stats.as_dict()
        out["queue_events"] = len(self._worker)
        out["queue_bytes"] = self._worker.queued_bytes()
        return out


SPOOL_RESERVE = 0.5
"""Seconds of ``shutdown_timeout`` (at most a quarter of it) kept to spool what is still queued."""


def _drop_counter(discards: DiscardCounter, category: str = "error") -> Callable[[DropReason], None]:
    def drop(reason: DropReason) -> None:
        discards.record(reason.value, category)

    return drop


def _job_drop_counter(discards: DiscardCounter) -> Callable[[DropReason, str, int], None]:
    def drop(reason: DropReason, category: str, quantity: int) -> None:
        discards.record(reason.value, category, quantity)

    return drop


def _drop_transaction(discards: DiscardCounter, reason: DropReason, event: Event) -> None:
    """A dropped transaction counts ``transaction`` 1 and ``span`` its spans + 1 (the protocol's rule)."""
    spans = event.get("spans")
    discards.record(reason.value, "transaction")
    discards.record(reason.value, "span", (len(spans) if isinstance(spans, list) else 0) + 1)



def _nowhere(envelope: Envelope) -> None:
    """The send of a client with no transport (it never queues anything)."""


def _never(queued: int) -> DropReason | None:
    return None


def _close_at_exit(ref: weakref.ReferenceType[Client]) -> None:
    client = ref()
    if client is not None:
        try:
            client.close()
        except Exception as exc:
            log_internal_error("close at exit", exc)
