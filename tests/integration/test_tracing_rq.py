"""Tracing with RQ against a real redis-server: enqueueing carries the trace in the job's meta,
and the job run is a ``queue.task.rq`` transaction continuing it (also in a forked work horse)."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
import redis
from rq import Queue, SimpleWorker, Worker

import integrations
import sdk_core
from integrations.rq import META_KEY, RqIntegration
from tests.integration.conftest import REDIS_PASSWORD
from tests.support import rq_jobs
from tests.support.loopback import LoopbackServer
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


@pytest.fixture
def connection(redis_address: tuple[str, int]) -> Iterator[redis.Redis]:
    conn = redis.Redis(host=redis_address[0], port=redis_address[1], password=REDIS_PASSWORD)
    yield conn
    conn.close()


@pytest.fixture
def queue(connection: redis.Redis) -> Queue:
    return Queue(f"q-{uuid.uuid4().hex[:8]}", connection=connection)


def _by_op(transactions: list[dict[str, Any]], op: str) -> list[dict[str, Any]]:
    return [tx for tx in transactions if tx["contexts"]["trace"]["op"] == op]


def test_enqueue_carries_the_trace_and_the_job_run_continues_it(queue: Queue, connection: redis.Redis) -> None:
    t = init_with(RqIntegration(), traces_sample_rate=1.0)
    with sdk_core.start_span(op="http.server", name="checkout"):
        ok = queue.enqueue(rq_jobs.succeed, 21)
        failing = queue.enqueue(rq_jobs.charge, 7, "secret")
    stored = queue.fetch_job(ok.id)
    assert stored is not None and set(stored.meta[META_KEY]) >= {"sentry-trace", "traceparent", "baggage"}
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert sdk_core.flush(5)
    (enqueuer,) = [tx for tx in t.transactions if tx["transaction"] == "checkout"]
    submits = [s for s in enqueuer["spans"] if s["op"] == "queue.submit.rq"]
    assert [s["description"] for s in submits] == ["tests.support.rq_jobs.succeed", "tests.support.rq_jobs.charge"]
    assert submits[0]["data"]["messaging.message.id"] == ok.id
    runs = {tx["transaction"]: tx for tx in _by_op(t.transactions, "queue.task.rq")}
    done, failed = runs["tests.support.rq_jobs.succeed"], runs["tests.support.rq_jobs.charge"]
    trace_id = enqueuer["contexts"]["trace"]["trace_id"]
    for run, submit in ((done, submits[0]), (failed, submits[1])):
        assert run["transaction_info"] == {"source": "task"}
        assert run["contexts"]["trace"]["trace_id"] == trace_id
        assert run["contexts"]["trace"]["parent_span_id"] == submit["span_id"]
        assert run["contexts"]["trace"]["origin"] == "auto.queue.rq"
        assert run["contexts"]["trace"]["data"]["messaging.destination.name"] == queue.name
        assert conformance_errors(run) == []
    assert done["contexts"]["trace"]["status"] == "ok"
    assert failed["contexts"]["trace"]["status"] == "internal_error"
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == trace_id
    assert conformance_errors(enqueuer) == []


def test_a_job_enqueued_outside_a_trace_starts_its_own(queue: Queue, connection: redis.Redis) -> None:
    t = init_with(RqIntegration(), traces_sample_rate=1.0)
    queue.enqueue(rq_jobs.succeed, 1)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert sdk_core.flush(5)
    (run,) = t.transactions
    assert run["contexts"]["trace"]["op"] == "queue.task.rq"
    assert "parent_span_id" not in run["contexts"]["trace"]


def test_the_work_horse_sends_its_transaction_before_it_exits(queue: Queue, connection: redis.Redis) -> None:
    with LoopbackServer() as ingest:
        sdk_core.init(ingest.dsn(), default_integrations=False, integrations=[RqIntegration()], traces_sample_rate=1.0)
        queue.enqueue(rq_jobs.succeed, 3)
        Worker([queue], connection=connection).work(burst=True)  # forks a work horse (os._exit)

        def runs() -> list[dict[str, Any]]:
            return [tx for r in list(ingest.requests) for tx in r.items_of("transaction")]

        assert ingest.wait_for(lambda: len(runs()) == 1, timeout=10.0)
        assert runs()[0]["contexts"]["trace"]["op"] == "queue.task.rq"
        sdk_core.close()
