"""Tracing with our own TracerProvider: sampling, transactions, limits, hooks, scrubbing, Relay."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from opentelemetry import trace

import sdk_core
from sdk_core.tracing import provider as own
from sdk_core.tracing import runtime as tracing_runtime
from sdk_core.tracing.sampler import TracesSampler
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with as init_memory


@pytest.fixture(autouse=True)
def _no_provider() -> Iterator[None]:
    with global_provider(None):
        yield


def _traced(**options: Any) -> InMemoryTransport:
    options.setdefault("traces_sample_rate", 1.0)
    return init_memory(**options)


def _sent(t: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(5)
    return t.transactions


def _discarded(reason: str, category: str) -> int:
    client = sdk_core.get_client()
    assert client is not None
    return int(client.discards.totals[(reason, category)])


class TestSampler:
    def test_order_explicit_then_sampler_then_parent_then_rate(self) -> None:
        rands = iter([0.3] * 10)
        sampler = TracesSampler(0.5, None, rand=lambda: next(rands))
        assert sampler.decide("n", {}, explicit=False).sampled is False
        assert sampler.decide("n", {}, parent_sampled=False).sampled is False
        assert sampler.decide("n", {}).sampled is True  # 0.3 < 0.5
        assert sampler.decide("n", {}, sample_rand=0.7).sampled is False
        by_sampler = TracesSampler(0.0, lambda ctx: ctx["parent_sampled"] is None, rand=lambda: 0.99)
        assert by_sampler.decide("n", {}, parent_sampled=False).sampled is False
        assert by_sampler.decide("n", {}).sampled is True

    def test_sampler_sees_name_and_attributes_and_bad_answers_drop(self) -> None:
        seen: list[dict[str, Any]] = []

        def sampler(ctx: dict[str, Any]) -> Any:
            seen.append(ctx)
            return ctx["attributes"].get("answer")

        s = TracesSampler(None, sampler, rand=lambda: 0.1)
        assert s.decide("GET /x", {"answer": 0.2}).sampled is True
        assert s.decide("GET /x", {"answer": "yes"}).sampled is False
        assert s.decide("GET /x", {"answer": float("nan")}).sampled is False
        assert seen[0]["name"] == "GET /x" and seen[0]["transaction_context"]["name"] == "GET /x"

        def broken(ctx: dict[str, Any]) -> float:
            raise RuntimeError("sampler bug")

        assert TracesSampler(1.0, broken).decide("n", {}).sampled is False

    def test_inherited_rand_keeps_the_parent_decision_consistent(self) -> None:
        s = TracesSampler(0.25)
        for _ in range(200):
            assert s.new_rand(True, 0.25) < 0.25
            assert s.new_rand(False, 0.25) >= 0.25


class TestTransactions:
    def test_root_with_children_becomes_one_transaction(self) -> None:
        t = _traced(release="r@1", environment="staging")
        assert isinstance(trace.get_tracer_provider(), own.TracerProvider)
        with sdk_core.start_span(op="task", name="nightly job") as root:
            with sdk_core.start_span(op="db", name="load", attributes={"db.system": "sqlite"}):
                pass
            with trace.get_tracer("app").start_as_current_span("plain otel"):
                pass
        (tx,) = _sent(t)
        assert tx["type"] == "transaction"
        assert tx["transaction"] == "nightly job"
        assert tx["transaction_info"] == {"source": "custom"}
        assert tx["release"] == "r@1" and tx["environment"] == "staging"
        ctx = tx["contexts"]["trace"]
        assert ctx["trace_id"] == f"{root.get_span_context().trace_id:032x}"
        assert ctx["op"] == "task" and ctx["status"] == "ok"
        ops = sorted(s["op"] for s in tx["spans"])
        assert ops == ["db", "default"]
        assert all(s["parent_span_id"] == ctx["span_id"] for s in tx["spans"])
        assert all(s["start_timestamp"] <= s["timestamp"] for s in tx["spans"])
        envelope = next(e for e in t.envelopes if e.items[0].type == "transaction")
        dsc = envelope.headers["trace"]
        assert dsc["trace_id"] == ctx["trace_id"] and dsc["sampled"] == "true" and dsc["transaction"] == "nightly job"
        assert float(dsc["sample_rand"]) < 1.0 and dsc["release"] == "r@1"

    def test_decorator_and_failing_block(self) -> None:
        t = _traced()

        @sdk_core.trace
        def step() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError), sdk_core.start_span(op="task", name="outer"):
            step()
        (tx,) = _sent(t)
        assert tx["contexts"]["trace"]["status"] == "internal_error"
        (child,) = tx["spans"]
        assert child["op"] == "function" and child["description"].endswith("step")
        assert child["status"] == "internal_error"

    def test_rate_zero_sends_nothing_and_counts_the_drop(self) -> None:
        t = _traced(traces_sample_rate=0.0)
        with sdk_core.start_span(op="task", name="a") as root:
            with sdk_core.start_span(op="db", name="b") as child:
                assert not child.is_recording()
            assert root.get_span_context().is_valid and not root.get_span_context().trace_flags.sampled
        assert _sent(t) == []
        assert _discarded("sample_rate", "transaction") == 1
        assert _discarded("sample_rate", "span") == 1

    def test_tracing_off_by_default_spans_are_inert(self) -> None:
        t = init_memory()
        with sdk_core.start_span(op="task", name="a") as span:
            assert not span.is_recording()
        assert _sent(t) == []

    def test_spans_are_bounded_and_the_rest_counted(self) -> None:
        t = _traced()
        with sdk_core.start_span(op="task", name="many"):
            for _ in range(tracing_runtime.MAX_SPANS + 5):
                with sdk_core.start_span(op="x", name="y"):
                    pass
        (tx,) = _sent(t)
        assert len(tx["spans"]) == tracing_runtime.MAX_SPANS
        assert _discarded("buffer_overflow", "span") == 5

    def test_roots_open_too_long_are_dropped_and_counted(self) -> None:
        t = _traced()
        runtime = tracing_runtime.current()
        assert runtime is not None
        runtime.max_root_seconds = -1.0
        with sdk_core.start_span(op="task", name="forever"):
            pass
        assert _sent(t) == []
        assert _discarded("buffer_overflow", "transaction") == 1

    def test_scope_data_applies_but_not_breadcrumbs(self) -> None:
        t = _traced()
        sdk_core.set_tag("tier", "gold")
        sdk_core.add_breadcrumb(message="crumb")
        sdk_core.set_user({"id": "42"})
        with sdk_core.start_span(op="task", name="t"):
            pass
        (tx,) = _sent(t)
        assert tx["tags"]["tier"] == "gold" and tx["user"]["id"] == "42"
        assert "breadcrumbs" not in tx and "level" not in tx

    def test_error_inside_span_shares_the_trace_and_its_envelope_header(self) -> None:
        t = _traced()
        with sdk_core.start_span(op="task", name="t") as root:
            sdk_core.capture_message("inside")
        sdk_core.flush(5)
        event_env = next(e for e in t.envelopes if e.items[0].type == "event")
        trace_id = f"{root.get_span_context().trace_id:032x}"
        assert event_env.headers["trace"]["trace_id"] == trace_id
        assert event_env.headers["trace"]["sampled"] == "true"
        assert t.events[0]["contexts"]["trace"]["trace_id"] == trace_id


class TestHooksAndPrivacy:
    def test_before_send_transaction_sees_the_scrubbed_transaction(self) -> None:
        seen: list[dict[str, Any]] = []

        def hook(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
            seen.append(event)
            event["tags"] = {"hooked": "yes"}
            return event

        t = _traced(before_send_transaction=hook)
        secret = "sk_live_" + "a" * 24
        with sdk_core.start_span(op="task", name="t", attributes={"password": "hunter2", "note": f"key {secret}"}):
            with sdk_core.start_span(
                op="db", name="q", attributes={"db.statement": "SELECT * FROM u WHERE pw = 'hunter2'"}
            ):
                pass
        (tx,) = _sent(t)
        assert seen and seen[0]["contexts"]["trace"]["data"]["password"] != "hunter2"
        assert tx["tags"] == {"hooked": "yes"}
        raw = str(tx)
        assert "hunter2" not in raw and secret not in raw
        assert tx["spans"][0]["description"] == "SELECT * FROM u WHERE pw = ?"

    def test_before_send_transaction_can_drop(self) -> None:
        t = _traced(before_send_transaction=lambda event, hint: None)
        with sdk_core.start_span(op="task", name="t"), sdk_core.start_span(op="db", name="child"):
            pass
        assert _sent(t) == []
        assert _discarded("before_send", "transaction") == 1
        assert _discarded("before_send", "span") == 2  # its one span + 1, as the protocol counts

    def test_before_send_does_not_see_transactions(self) -> None:
        seen: list[Any] = []
        t = _traced(before_send=lambda event, hint: seen.append(event) or event)
        with sdk_core.start_span(op="task", name="t"):
            pass
        assert len(_sent(t)) == 1 and seen == []


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="traces_sample_rate"):
        sdk_core.init(transport=InMemoryTransport(), traces_sample_rate=1.5)
    with pytest.raises(TypeError, match="traces_sampler"):
        sdk_core.init(transport=InMemoryTransport(), traces_sampler=0.5)
    with pytest.raises(TypeError, match="trace_propagation_targets"):
        sdk_core.init(transport=InMemoryTransport(), trace_propagation_targets="example.com")
    with pytest.raises(ValueError, match="not a valid regex"):
        sdk_core.init(transport=InMemoryTransport(), trace_propagation_targets=["("])
    with pytest.raises(TypeError, match="before_send_transaction"):
        sdk_core.init(transport=InMemoryTransport(), before_send_transaction="nope")


def test_every_transaction_shape_passes_relay() -> None:
    t = _traced(release="conf@1", before_send_transaction=None)
    sdk_core.set_user({"id": "1", "email": "jane@example.com"})
    with sdk_core.start_span(op="http.server", name="GET /orders/<id>", attributes={"http.request.method": "GET"}):
        with sdk_core.start_span(
            op="db", name="sql", attributes={"db.system": "postgresql", "db.statement": "SELECT 1"}
        ):
            pass
        with sdk_core.start_span(name="odd", attributes={"b": b"\x00bytes", "seq": ("a", "b"), "n": 2**70}):
            pass
        with pytest.raises(ValueError), sdk_core.start_span(op="x", name="fails"):
            raise ValueError("x")
    with sdk_core.start_span(op="task", name="x" * 5000):
        pass
    sent = _sent(t)
    assert len(sent) == 2
    for tx in sent:
        assert conformance_errors(tx) == []


def test_error_inside_a_child_span_names_its_parent_and_op() -> None:
    t = _traced()
    with sdk_core.start_span(op="task", name="t") as root, sdk_core.start_span(op="db", name="q") as child:
        sdk_core.capture_message("inside the child")
    assert sdk_core.flush(5)
    ctx = t.events[0]["contexts"]["trace"]
    assert ctx["span_id"] == f"{child.get_span_context().span_id:016x}"
    assert ctx["parent_span_id"] == f"{root.get_span_context().span_id:016x}"
    assert ctx["op"] == "db"


def test_start_as_current_span_works_as_a_decorator_like_the_otel_api() -> None:
    import asyncio

    t = _traced()
    tracer = trace.get_tracer("lib")

    @tracer.start_as_current_span("decorated")
    def work(x: int) -> int:
        return x * 2

    @tracer.start_as_current_span("decorated async")
    async def async_work() -> str:
        return "done"

    assert _sent(t) == []  # decorating starts nothing
    assert work(2) == 4 and work(3) == 6
    assert asyncio.run(async_work()) == "done"
    assert sorted(tx["transaction"] for tx in _sent(t)) == ["decorated", "decorated", "decorated async"]


def test_scope_context_with_odd_values_is_normalised_on_transactions() -> None:
    class Evil:
        def __repr__(self) -> str:
            raise ValueError("nope")

    t = _traced()
    sdk_core.set_context("order", {"obj": Evil(), "long": "x" * 5000})
    with sdk_core.start_span(op="task", name="t"):
        pass
    (tx,) = _sent(t)
    assert len(tx["contexts"]["order"]["long"]) <= 1024
    assert isinstance(tx["contexts"]["order"]["obj"], str)
    assert conformance_errors(tx) == []


def test_bad_span_arguments_never_raise_into_the_application() -> None:
    t = _traced()
    tracer = trace.get_tracer("careless")
    with tracer.start_as_current_span("bad attrs", attributes=42) as span:  # type: ignore[arg-type]
        assert not span.is_recording()
    with tracer.start_as_current_span("ok") as root:
        root.set_attribute("weird", object())
    sent = _sent(t)
    assert [tx["transaction"] for tx in sent] == ["ok"]
    assert isinstance(sent[0]["contexts"]["trace"]["data"]["weird"], str)


def test_sql_literals_never_appear_whatever_the_span_was_given() -> None:
    t = _traced()
    with sdk_core.start_span(op="task", name="t"):
        with sdk_core.start_span(op="db", name="SELECT * FROM u WHERE email = 'jane@example.com'"):
            pass
        with sdk_core.start_span(op="db", description="DELETE FROM t WHERE id = 42"):
            pass
        with sdk_core.start_span(op="db.redis", description="GET cart:abc"):
            pass
    (tx,) = _sent(t)
    assert [s["description"] for s in tx["spans"]] == [
        "SELECT * FROM u WHERE email = ?",
        "DELETE FROM t WHERE id = ?",
        "GET cart:abc",
    ]
    assert "jane@example.com" not in str(tx)


def test_transactions_never_take_the_queue_room_errors_need() -> None:
    import threading

    release = threading.Event()

    class Stuck(InMemoryTransport):
        def send(self, envelope: Any) -> None:
            release.wait(10)
            super().send(envelope)

    transport = Stuck()
    sdk_core.init(
        transport=transport, default_integrations=False, traces_sample_rate=1.0, max_queue_size=8, batch_size=1
    )
    for i in range(20):
        with sdk_core.start_span(op="task", name=f"t{i}"):
            pass
    ids = [sdk_core.capture_message(f"error {i}") for i in range(2)]
    assert all(ids)
    release.set()
    assert sdk_core.flush(10)
    assert {e["event_id"] for e in transport.events} == set(ids)
    assert _discarded("queue_overflow", "error") == 0
    assert _discarded("queue_overflow", "transaction") >= 20 - 8
