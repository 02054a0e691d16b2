"""The running tracing state: the sampler, one ``LocalTrace`` per local root, and the hand-off to the client.

Both back-ends (our own TracerProvider and the span processor for the OpenTelemetry SDK) create a
``LocalTrace`` when a local root starts, add each finished child's JSON to it, and call
``Runtime.finish`` when the root ends: that builds the transaction and queues it on the client,
which sends it through the same worker, scrubbing, spool, rate limits and client reports as events.

Memory is bounded: at most ``MAX_SPANS`` children per transaction (the rest are counted as
dropped), and a root open longer than ``MAX_ROOT_SECONDS`` is dropped (counted) when it ends.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote

from ..event import new_event_id
from .sampler import Decision, TracesSampler

if TYPE_CHECKING:
    from ..options import Options

MAX_SPANS = 1000
"""Child spans kept per transaction; the rest are counted (client report ``buffer_overflow``, ``span``)."""
MAX_ROOT_SECONDS = 600.0
"""A root span open longer than this is dropped when it ends (counted ``buffer_overflow``, ``transaction``)."""

Capture = Callable[["dict[str, Any]"], Any]
Discard = Callable[[str, str, int], None]


def format_rand(value: float) -> str:
    """``sample_rand`` as baggage carries it: 6 decimals, truncated so it stays below 1."""
    return f"{math.floor(value * 1_000_000) / 1_000_000:.6f}"


class LocalTrace:
    """What one local root collects while it is open: its sampling decision and finished children."""

    __slots__ = (
        "dropped",
        "finished",
        "frozen_dsc",
        "incoming",
        "root",
        "runtime",
        "sample_rand",
        "sample_rate",
        "sampled",
        "spans",
        "started",
        "trace_id",
        "transaction",
    )

    def __init__(
        self,
        runtime: Runtime,
        trace_id: str,
        decision: Decision,
        incoming: Mapping[str, str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.trace_id = trace_id
        self.sampled = decision.sampled
        self.sample_rate = decision.sample_rate
        self.sample_rand = decision.sample_rand
        self.incoming = incoming
        self.spans: list[dict[str, Any]] = []
        self.dropped = 0
        self.finished = False
        self.started = time.monotonic()
        self.frozen_dsc: dict[str, str] | None = None
        self.transaction: tuple[str, str] | None = None
        self.root: Any = None

    def add(self, span: dict[str, Any]) -> None:
        """A finished child; past ``MAX_SPANS`` (or after the root ended) it is only counted."""
        if self.finished:
            return
        if len(self.spans) < MAX_SPANS:
            self.spans.append(span)
        else:
            self.dropped += 1

    def dsc(self, freeze: bool = False) -> dict[str, str]:
        """The dynamic sampling context: from the incoming baggage if it had one, else ours.

        ``freeze`` (an outgoing request) fixes it, so downstream services and our envelope agree.
        """
        if self.frozen_dsc is not None:
            return self.frozen_dsc
        if self.incoming:
            dsc = dict(self.incoming)
            dsc.setdefault("sample_rand", format_rand(self.sample_rand))
            self.frozen_dsc = dsc
            return dsc
        rt = self.runtime
        dsc = {"trace_id": self.trace_id, "environment": rt.environment}
        if rt.public_key is not None:
            dsc["public_key"] = rt.public_key
        if rt.release:
            dsc["release"] = rt.release
        if self.sample_rate is not None:
            dsc["sample_rate"] = str(self.sample_rate)
        dsc["sampled"] = "true" if self.sampled else "false"
        dsc["sample_rand"] = format_rand(self.sample_rand)
        if self.transaction is not None and self.transaction[1] != "url":
            dsc["transaction"] = self.transaction[0]
        if freeze:
            self.frozen_dsc = dsc
        return dsc

    def baggage(self) -> str:
        """The ``sentry-`` entries of an outgoing ``baggage`` header (freezes the DSC)."""
        return ",".join(f"sentry-{k}={quote(v, safe='')}" for k, v in self.dsc(freeze=True).items())


class Runtime:
    """Tracing for one client: decides, collects and hands finished transactions to ``capture``."""

    def __init__(self, options: Options, capture: Capture, discard: Discard) -> None:
        self.sampler = TracesSampler(options.traces_sample_rate, options.traces_sampler)
        self.targets = options.trace_propagation_targets
        self.environment = options.environment
        self.release = options.release
        self.public_key = options.dsn.public_key if options.dsn is not None else None
        self.capture = capture
        self.discard = discard
        self.max_root_seconds = MAX_ROOT_SECONDS

    def start_trace(
        self,
        trace_id: str,
        name: str,
        attributes: Mapping[str, Any] | None,
        parent_sampled: bool | None = None,
        incoming: Mapping[str, str] | None = None,
    ) -> LocalTrace:
        """Sample a new local root; an unsampled one is counted (``sample_rate``, ``transaction``) here."""
        parent_rate = sample_rand = None
        if incoming:
            parent_rate = _unit_float(incoming.get("sample_rate"))
            sample_rand = _unit_float(incoming.get("sample_rand"), below_one=True)
        decision = self.sampler.decide(
            name,
            attributes,
            parent_sampled=parent_sampled,
            parent_rate=parent_rate,
            sample_rand=sample_rand,
        )
        trace = LocalTrace(self, trace_id, decision, incoming if incoming and "trace_id" in incoming else None)
        if not decision.sampled:
            self.discard("sample_rate", "transaction", 1)
            self.discard("sample_rate", "span", 1)  # the protocol counts a dropped transaction's spans + 1
        return trace

    def finish(self, trace: LocalTrace, root: dict[str, Any], name: str, attrs: Mapping[str, Any]) -> None:
        """The local root ended: build its transaction and queue it (or count why not)."""
        if trace.finished:
            return
        trace.finished = True
        if not trace.sampled:
            return
        if time.monotonic() - trace.started > self.max_root_seconds:
            self.discard("buffer_overflow", "transaction", 1)
            self.discard("buffer_overflow", "span", len(trace.spans) + trace.dropped + 1)
            trace.spans = []
            return
        from .convert import transaction_json

        event = transaction_json(root, name, attrs, trace.spans, new_event_id())
        trace.transaction = (event["transaction"], event["transaction_info"]["source"])
        event["_dsc"] = trace.dsc()
        if trace.dropped:
            self.discard("buffer_overflow", "span", trace.dropped)
        trace.spans = []
        self.capture(event)


def _unit_float(value: str | None, below_one: bool = False) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if math.isnan(number) or number < 0.0 or number > 1.0 or (below_one and number >= 1.0):
        return None
    return number


_runtime: Runtime | None = None


def current() -> Runtime | None:
    """The running client's tracing, or None when tracing is off."""
    return _runtime


def set_current(runtime: Runtime | None) -> None:
    """Set by the client at start (tracing on) and cleared at close."""
    global _runtime
    _runtime = runtime
