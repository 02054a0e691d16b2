"""Client: owns the options, the pipeline, the worker and the transport; runs the data flow."""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._internal_errors import log_internal_error, logger
from .event import new_event_id, static_contexts, static_fields
from .normalize import Normalizer
from .options import Options
from .pipeline import BatchProcessor, Scrub, default_stages, transaction_stages
from .sampling import Sampler
from .scope import Scope, get_isolation_scope
from .scope_merge import apply_scopes
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


def _make_scrub(options: Options) -> Optional[Scrub]:
    if not options.scrubbing:
        logger.warning("scrubbing is switched off: events leave the process with secrets and personal data intact")
        return None
    import scrubbers

    rules = options.scrubbers if options.scrubbers is not None else scrubbers.DEFAULT
    engine = scrubbers.compile_rules(
        rules,
        allow_keys=options.scrub_allow_keys,
        send_default_pii=options.send_default_pii,
        hash_key=options.scrub_hash_key,
    )
    scrub: Scrub = engine.scrub_in_place
    return scrub


_NO_HINT: Hint = {}


class Client:
    """Owns the options, the worker and the transport; ``capture_event`` is the caller-side flow.

    Caller thread: filter, sample, merge scopes, queue. Worker thread: the pipeline's stages,
    serialisation and envelope building (``BatchProcessor``), then ``transport.send``.
    """

    def __init__(self, options: Options, integrations: Optional[list[str]] = None) -> None:
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
        scrub = _make_scrub(options)
        self.processor = BatchProcessor(
            options,
            default_stages(options, self._static, self.normalizer, scrub, self.stats),
            _drop_counter(self.discards),
            self.transport.send if self.transport is not None else _nowhere,
            transaction_stages=transaction_stages(options, self._static, self.normalizer, scrub, self.stats),
            drop_transaction=_drop_counter(self.discards, "transaction"),
            drop_spans=lambda reason, n: self.discards.record(reason.value, "span", n),
        )
        self._worker: Worker[tuple[Event, Hint]] = Worker(
            self.processor.process_batch,
            self._flush_transport,
            max_size=options.max_queue_size,
            batch_size=options.batch_size,
            linger=options.batch_interval,
            on_idle=self._tick_transport,
            on_fork=self._after_fork_in_child,
        )
        self._closed = False
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
        return self.transport is not None and not self._closed

    def _make_transport(self) -> Optional[Transport]:
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

    def _make_spool(self) -> Optional[DiskSpool]:
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
    def capture_event(self, event: Event, hint: Optional[Hint] = None, scope: Optional[Scope] = None) -> Optional[str]:
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
        if not self.sampler.keep():
            self._drop(DropReason.SAMPLE_RATE)
            return None
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
        if not self._worker.submit((merged, queued_hint)):
            self._drop(DropReason.QUEUE_OVERFLOW)
            return None
        event_id = merged.get("event_id")
        return event_id if isinstance(event_id, str) else None

    def capture_transaction(self, event: Event) -> Optional[str]:
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
        if not self._worker.submit((merged, hint)):
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

    def add_breadcrumb(self, crumb: dict[str, Any], hint: Optional[Hint]) -> None:
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

    def _tick_transport(self) -> Optional[float]:
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

    # -- lifecycle -------------------------------------------------------------------------
    def flush(self, timeout: Optional[float] = None) -> bool:
        if self.transport is None:
            return True
        return self._worker.flush(self.options.shutdown_timeout if timeout is None else timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        if self._closed:
            return
        timeout = self.options.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._stop_tracing()
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

    def _spool_or_drop(self, items: list[tuple[Event, Hint]], deadline: float) -> None:
        """Events still queued at the end of ``shutdown_timeout``: scrubbed (the full pipeline) and
        spooled while time remains, else dropped and counted. Never written raw."""
        spool = self.spool
        for done, (event, hint) in enumerate(items):
            if spool is None or time.monotonic() >= deadline:
                for left, _hint in items[done:]:
                    self.discards.record(DropReason.NETWORK_ERROR.value, _category(left))
                return
            try:
                envelope = self.processor.envelope_for(event, hint)
            except Exception as exc:
                log_internal_error("build envelope", exc)
                self.discards.record(DropReason.INTERNAL_SDK_ERROR.value, _category(event))
                continue
            if envelope is not None and spool.write(envelope) is None:
                self.discards.record(DropReason.NETWORK_ERROR.value, _category(event))

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
        return len(self._worker)


SPOOL_RESERVE = 0.5
"""Seconds of ``shutdown_timeout`` (at most a quarter of it) kept to spool what is still queued."""


def _drop_counter(discards: DiscardCounter, category: str = "error") -> Callable[[DropReason], None]:
    def drop(reason: DropReason) -> None:
        discards.record(reason.value, category)

    return drop


def _drop_transaction(discards: DiscardCounter, reason: DropReason, event: Event) -> None:
    """A dropped transaction counts ``transaction`` 1 and ``span`` its spans + 1 (the protocol's rule)."""
    spans = event.get("spans")
    discards.record(reason.value, "transaction")
    discards.record(reason.value, "span", (len(spans) if isinstance(spans, list) else 0) + 1)


def _category(event: Event) -> str:
    """The client-report category of a queued item."""
    return "transaction" if event.get("type") == "transaction" else "error"


def _nowhere(envelope: Envelope) -> None:
    """The send of a client with no transport (it never queues anything)."""


def _close_at_exit(ref: weakref.ReferenceType[Client]) -> None:
    client = ref()
    if client is not None:
        try:
            client.close()
        except Exception as exc:
            log_internal_error("close at exit", exc)
