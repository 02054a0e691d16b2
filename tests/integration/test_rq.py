"""RQ with real workers (SimpleWorker in the test process, a forking Worker whose work horse must
flush before ``os._exit``) against a real redis-server on a loopback port."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import redis
from rq import Queue, Retry, SimpleWorker, Worker

import sdk_core
from integrations import _patch
from integrations.rq import RqIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.integration.conftest import REDIS_PASSWORD
from tests.support import rq_jobs
from tests.support.loopback import LoopbackServer
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with

CARD_PASSWORD = "card-pw-0a9b8c7d"


@pytest.fixture
def connection(redis_address: tuple[str, int]) -> Iterator[redis.Redis]:
    conn = redis.Redis(host=redis_address[0], port=redis_address[1], password=REDIS_PASSWORD)
    yield conn
    conn.close()


@pytest.fixture
def queue(connection: redis.Redis) -> Queue:
    return Queue(f"q-{uuid.uuid4().hex[:8]}", connection=connection)


def _init(integration: RqIntegration | None = None) -> InMemoryTransport:
    return init_with(integration or RqIntegration())


def test_a_failed_job_is_reported_with_id_function_queue_and_named_arguments(
    queue: Queue, connection: redis.Redis
) -> None:
    transport = _init()
    sdk_core.add_breadcrumb(message="before the worker")
    ok = queue.enqueue(rq_jobs.succeed, 21)
    job = queue.enqueue(rq_jobs.charge, 7, CARD_PASSWORD, amount=3)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert ok.return_value() == 42
    (event,) = _events(transport)
    assert event["contexts"]["rq"]["job_id"] == job.id
    assert event["contexts"]["rq"]["func"] == "tests.support.rq_jobs.charge"
    assert event["contexts"]["rq"]["queue"] == queue.name
    arguments = event["contexts"]["rq"]["args"]
    assert arguments["user_id"] == 7 and arguments["amount"] == 3
    assert arguments["password"] != CARD_PASSWORD  # bound to its name, so the key rule scrubbed it
    assert event["transaction"] == "tests.support.rq_jobs.charge"
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "ValueError"
    assert (exception["mechanism"]["type"], exception["mechanism"]["handled"]) == ("rq", False)
    crumbs = [c.get("message") for c in event.get("breadcrumbs", {}).get("values", [])]
    assert "charging user 7" in crumbs
    assert "succeeding" not in crumbs and "before the worker" not in crumbs
    assert_no_secrets(event, [CARD_PASSWORD, REDIS_PASSWORD])


def test_a_job_that_will_be_retried_is_reported_only_when_it_finally_fails(
    queue: Queue, connection: redis.Redis
) -> None:
    transport = _init()
    queue.enqueue(rq_jobs.charge, 8, "x", retry=Retry(max=1))
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert len(_events(transport)) == 1


def test_arguments_can_be_left_out(queue: Queue, connection: redis.Redis) -> None:
    transport = _init(RqIntegration(include_args=False))
    queue.enqueue(rq_jobs.charge, 9, CARD_PASSWORD)
    SimpleWorker([queue], connection=connection).work(burst=True)
    (event,) = _events(transport)
    assert "args" not in event["contexts"]["rq"]


def test_the_work_horse_flushes_before_it_exits(queue: Queue, connection: redis.Redis) -> None:
    with LoopbackServer() as ingest:
        sdk_core.init(ingest.dsn(), default_integrations=False, integrations=[RqIntegration()])
        job = queue.enqueue(rq_jobs.charge, 10, CARD_PASSWORD)
        Worker([queue], connection=connection).work(burst=True)  # forks a work horse per job
        # The horse is gone (os._exit): its event arrived only if it flushed first.
        assert ingest.wait_for(lambda: len(ingest.events) == 1, timeout=10.0)
        (event,) = ingest.events
        assert event["contexts"]["rq"]["job_id"] == job.id


def test_setup_is_idempotent_and_uninstall_restores_rq(queue: Queue, connection: redis.Redis) -> None:
    integration = RqIntegration()
    transport = _init(integration)
    integration.setup_once()
    queue.enqueue(rq_jobs.charge, 11, "x")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert len(_events(transport)) == 1
    integration.uninstall()
    assert not _patch.is_wrapped(SimpleWorker.__mro__[1], "perform_job")
    queue.enqueue(rq_jobs.charge, 12, "x")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert len(_events(transport)) == 1


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(TypeError, match="include_args"):
        RqIntegration(include_args="yes")  # type: ignore[arg-type]
