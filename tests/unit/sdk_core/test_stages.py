"""Each pipeline stage on its own, the stage runner, the sampler, scope merging and envelope building."""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson
import pytest

from sdk_core.normalize import Normalizer
from sdk_core.options import validate
from sdk_core.pipeline import (
    BatchProcessor,
    DropEvent,
    before_send_stage,
    default_stages,
    finalise_stage,
    run_stages,
    scrub_stage,
)
from sdk_core.sampling import Sampler
from sdk_core.scope import Scope, get_isolation_scope
from sdk_core.scope_merge import apply_scopes
from sdk_core.telemetry import Stats
from sdk_core.transport.client_reports import DiscardCounter
from sdk_core.transport.envelope import Envelope, client_report_envelope, event_envelope, parse
from sdk_core.types import DropReason, Event, Hint

DSN = "https://abc123@o1.ingest.example.com/42"


def _drops() -> tuple[list[DropReason], Any]:
    seen: list[DropReason] = []
    return seen, seen.append


# -- finalise ------------------------------------------------------------------------------------
def test_finalise_fills_static_fields_formats_times_and_normalises() -> None:
    options = validate(DSN, include_source_context=False)
    stage = finalise_stage(options, {"platform": "python", "release": "r1"}, Normalizer(16))
    event: Event = {
        "timestamp": 0.0,
        "level": 40,
        "release": "own",
        "tags": {"n": 1},
        "extra": {"long": "x" * 100},
        "breadcrumbs": {"values": [{"timestamp": 1.5, "message": "m"}, "not a crumb"]},
    }
    out = stage(event, {})
    assert out is not None
    assert out["platform"] == "python" and out["release"] == "own"  # the event's own field wins
    assert out["timestamp"] == "1970-01-01T00:00:00.000000Z"
    assert out["level"] == "error"
    assert out["tags"] == {"n": "1"}
    assert len(out["extra"]["long"]) == 16 and "_meta" in out  # trimmed, and said so
    assert out["breadcrumbs"]["values"] == [{"timestamp": "1970-01-01T00:00:01.500000Z", "message": "m"}]


# -- scrub ---------------------------------------------------------------------------------------
def test_scrub_stage_scrubs_in_place_and_counts_redactions() -> None:
    stats = Stats()

    def scrub(event: Event) -> dict[str, int]:
        event["extra"]["password"] = "[Filtered]"
        return {"password": 1}

    out = scrub_stage(scrub, stats)({"extra": {"password": "hunter2"}}, {})
    assert out == {"extra": {"password": "[Filtered]"}}
    assert stats.as_dict()["redactions"] == {"password": 1}


def test_a_failing_scrubber_drops_the_event_as_internal_error() -> None:
    def broken(event: Event) -> dict[str, int]:
        raise RuntimeError("bug")

    seen, drop = _drops()
    assert run_stages([scrub_stage(broken, Stats())], {"extra": {"password": "x"}}, {}, drop) is None
    assert seen == [DropReason.INTERNAL_SDK_ERROR]


# -- before_send ---------------------------------------------------------------------------------
def test_before_send_stage_passes_replaces_or_drops() -> None:
    assert before_send_stage(lambda e, h: {**e, "seen": h["k"]})({"a": 1}, {"k": 2}) == {"a": 1, "seen": 2}
    with pytest.raises(DropEvent) as dropped:
        before_send_stage(lambda e, h: None)({"a": 1}, {})
    assert dropped.value.reason is DropReason.BEFORE_SEND
    with pytest.raises(DropEvent):
        before_send_stage(lambda e, h: "junk")({"a": 1}, {})


# -- the runner ----------------------------------------------------------------------------------
def test_runner_counts_each_drop_once_and_stops_at_it() -> None:
    calls: list[str] = []

    def first(event: Event, hint: Hint) -> Event:
        calls.append("first")
        return {**event, "first": True}

    def dropper(event: Event, hint: Hint) -> Event | None:
        calls.append("dropper")
        return None

    def never(event: Event, hint: Hint) -> Event:
        calls.append("never")
        return event

    seen, drop = _drops()
    assert run_stages([first, dropper, never], {}, {}, drop) is None
    assert calls == ["first", "dropper"] and seen == [DropReason.EVENT_PROCESSOR]
    seen.clear()
    assert run_stages([first], {}, {}, drop) == {"first": True} and seen == []


def test_default_stages_follow_the_options() -> None:
    options = validate(DSN, before_send=lambda e, h: e)
    names = [s.__name__ for s in default_stages(options, {}, Normalizer(), lambda e: {}, Stats())]
    assert names == ["finalise", "scrub", "before_send"]
    names = [s.__name__ for s in default_stages(validate(DSN), {}, Normalizer(), None, Stats())]
    assert names == ["finalise"]


def test_batch_processor_sends_processed_envelopes_and_counts_drops() -> None:
    options = validate(DSN, environment="staging", release="r1", include_source_context=False)
    sent: list[Envelope] = []
    discards = DiscardCounter()

    def scrub(event: Event) -> dict[str, int]:
        event["extra"]["token"] = "[Filtered]"
        return {}

    def only_kept(event: Event, hint: Hint) -> Event:
        if event.get("drop"):
            raise DropEvent(DropReason.BEFORE_SEND)
        return event

    stages = [*default_stages(options, {}, Normalizer(), scrub, Stats()), only_kept]
    processor = BatchProcessor(options, stages, lambda r: discards.record(r.value), sent.append)
    trace = {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16}}
    batch: deque[tuple[Event, Hint]] = deque(
        [
            ({"event_id": "1" * 32, "extra": {"token": "t"}, "contexts": trace}, {}),
            ({"event_id": "2" * 32, "drop": True, "extra": {"token": "t"}}, {}),
        ]
    )
    processor.process_batch(batch)
    assert not batch
    (envelope,) = sent
    assert envelope.headers["trace"] == {
        "trace_id": "a" * 32,
        "environment": "staging",
        "public_key": "abc123",
        "release": "r1",
    }
    assert orjson.loads(envelope.items[0].payload)["extra"] == {"token": "[Filtered]"}
    assert dict(discards.totals) == {("before_send", "error"): 1}


# -- sampling ------------------------------------------------------------------------------------
def test_sampler_uses_its_injected_random_source() -> None:
    draws = iter([0.1, 0.5, 0.9])
    sampler = Sampler(0.5, lambda: next(draws))
    assert [sampler.keep(), sampler.keep(), sampler.keep()] == [True, False, False]
    assert Sampler(1.0, lambda: pytest.fail("a rate of 1 never draws")).keep()
    assert not Sampler(0.0).keep()


def test_sampler_ignores_the_global_random_seed() -> None:
    import random

    random.seed(1)
    first = [Sampler(0.5).keep() for _ in range(64)]
    random.seed(1)
    second = [Sampler(0.5).keep() for _ in range(64)]
    assert first != second  # our own source, not the application's seeded one


# -- scope merging -------------------------------------------------------------------------------
def test_apply_scopes_merges_layers_event_fields_win() -> None:
    get_isolation_scope().set_tag("a", "iso")
    get_isolation_scope().set_tag("b", "iso")
    extra = Scope()
    extra.set_tag("b", "extra")
    extra.append_breadcrumb({"timestamp": 2.0, "message": "late"}, 10)
    get_isolation_scope().append_breadcrumb({"timestamp": 1.0, "message": "early"}, 10)
    out = apply_scopes({"tags": {"a": "event"}}, {}, extra, {"runtime": {"name": "py"}}, 10)
    assert out is not None
    assert out["tags"] == {"a": "event", "b": "extra"}
    assert out["contexts"]["runtime"] == {"name": "py"} and "trace_id" in out["contexts"]["trace"]
    assert [c["message"] for c in out["breadcrumbs"]["values"]] == ["early", "late"]


def test_apply_scopes_returns_none_when_a_processor_drops() -> None:
    extra = Scope()
    extra.add_event_processor(lambda e, h: None)
    assert apply_scopes({}, {}, extra, {}, 10) is None


# -- envelope building ---------------------------------------------------------------------------
def test_event_envelope_headers_round_trip() -> None:
    event = {"event_id": "f" * 32, "contexts": {"trace": {"trace_id": "c" * 32}}}
    envelope = event_envelope(event, b'{"x":1}', environment="prod", public_key=None, release=None)
    parsed = parse(envelope.serialize())
    assert parsed.headers["event_id"] == "f" * 32
    assert parsed.headers["sdk"]["name"] and parsed.headers["sent_at"].endswith("Z")
    assert parsed.headers["trace"] == {"trace_id": "c" * 32, "environment": "prod"}
    assert parsed.items[0].type == "event" and parsed.items[0].payload == b'{"x":1}'
    no_trace = event_envelope({"event_id": "e" * 32}, b"{}", environment="p", public_key="k", release="r")
    assert "trace" not in no_trace.headers


def test_client_report_envelope_has_no_event_id() -> None:
    counter = DiscardCounter()
    counter.record("queue_overflow")
    item = counter.take_item()
    assert item is not None
    envelope = client_report_envelope(item)
    assert "event_id" not in envelope.headers and envelope.items[0].category == "internal"


# -- compact queued events, the breadcrumb cache, shedding ---------------------------------------
def test_packed_exception_is_unpacked_by_finalise_and_sized() -> None:
    from sdk_core.compact import Packed, pack

    event: Event = {"exception": {"values": [{"type": "ValueError", "value": "x" * 5000}]}}
    size = pack(event)
    assert isinstance(event["exception"], Packed) and size > 5000
    out = finalise_stage(validate(DSN, include_source_context=False), {}, Normalizer())(event, {})
    assert out is not None and out["exception"]["values"][0]["value"] == "x" * 5000


def test_cached_breadcrumbs_are_fresh_copies_per_event() -> None:
    stage = finalise_stage(validate(DSN, include_source_context=False), {}, Normalizer())
    crumb = {"timestamp": 1.0, "message": "m", "data": {"password": "p"}}
    first = stage({"breadcrumbs": {"values": [crumb]}}, {})
    assert first is not None
    first["breadcrumbs"]["values"][0]["data"]["password"] = "[Filtered]"  # a later stage edits in place
    second = stage({"breadcrumbs": {"values": [crumb]}}, {})
    assert second is not None and second["breadcrumbs"]["values"][0]["data"] == {"password": "p"}


def test_shedding_drops_before_any_stage_runs() -> None:
    ran: list[str] = []

    def stage(event: Event, hint: Hint) -> Event:
        ran.append("stage")
        return event

    seen, drop = _drops()
    sent: list[Envelope] = []
    processor = BatchProcessor(validate(DSN), [stage], drop, sent.append, lambda queued: DropReason.CACHE_OVERFLOW)
    processor.process_batch(deque([({"event_id": "a" * 32}, {}), ({"event_id": "b" * 32}, {})]))
    assert ran == [] and sent == [] and seen == [DropReason.CACHE_OVERFLOW] * 2
