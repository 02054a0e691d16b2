"""Celery integration: a real embedded worker (in-memory broker and result backend)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, signals
from celery.contrib.testing.worker import start_worker

import sdk_core
from integrations.celery import TRACE_HEADER, CeleryIntegration
from integrations.logging import LoggingIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.support.relay_check import conformance_errors
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with as _init

# celery ships no type information: its decorators leave the tasks untyped.
app = Celery("coderadar_tests", broker="memory://", backend="cache+memory://")
app.conf.update(
    broker_transport_options={"polling_interval": 0.01},
    worker_hijack_root_logger=False,
    task_default_queue="coderadar-tests",
    result_expires=None,
)


class PaymentDeclined(Exception):
    pass


@app.task(name="payments.charge", bind=True)  # type: ignore[untyped-decorator]
def charge(self: Any, amount: int, **details: Any) -> None:
    raise PaymentDeclined(f"declined {amount}")


@app.task(name="accounts.reset")  # type: ignore[untyped-decorator]
def reset_password(user_id: int, token: str, new_password: str, *rest: Any) -> None:
    raise PaymentDeclined(f"reset failed for {user_id}")


@app.task(name="math.add")  # type: ignore[untyped-decorator]
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="flaky.once", bind=True)  # type: ignore[untyped-decorator]
def retry_once(self: Any) -> str:
    if self.request.retries == 0:
        raise self.retry(countdown=0, max_retries=3)
    return f"ok after {self.request.retries} retry"


@app.task(name="flaky.always", bind=True, autoretry_for=(ConnectionError,), max_retries=1, default_retry_delay=0)  # type: ignore[untyped-decorator]
def always_failing(self: Any) -> None:
    raise ConnectionError(f"attempt {self.request.retries}")


@app.task(name="lookup.expected", throws=(KeyError,))  # type: ignore[untyped-decorator]
def expected_failure() -> None:
    raise KeyError("known and expected")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _Finished:
    """Task ids whose ``task_postrun`` has fired: after it, every signal of ours has run."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._runs: dict[str, int] = {}

    def __call__(self, task_id: str = "", **_: Any) -> None:
        with self._cond:
            self._runs[task_id] = self._runs.get(task_id, 0) + 1
            self._cond.notify_all()

    def wait(self, *task_ids: str, runs: int = 1, timeout: float = 10.0) -> None:
        """Until each task's ``task_postrun`` fired ``runs`` times (a retried task runs again under its id)."""
        with self._cond:
            done = self._cond.wait_for(lambda: all(self._runs.get(t, 0) >= runs for t in task_ids), timeout)
            assert done, f"tasks {task_ids} did not finish {runs} run(s)"


@pytest.fixture(scope="module")
def worker() -> Iterator[_Finished]:
    finished = _Finished()
    root = logging.getLogger()
    level = root.level
    signals.task_postrun.connect(finished, weak=False, dispatch_uid="tests-finished")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield finished
    finally:
        signals.task_postrun.disconnect(dispatch_uid="tests-finished")
        root.setLevel(level)  # the worker's logging set-up raises the root level for everyone after


def _get(result: Any) -> Any:
    return result.get(timeout=10, interval=0.01)


class TestTaskFailure:
    def test_failing_task_is_an_event_with_task_and_trace(self, worker: _Finished) -> None:
        """A failure is an unhandled ``celery`` event named after the task, continuing the enqueuer's trace."""
        transport = _init(CeleryIntegration())
        with sdk_core.isolation_scope() as scope:
            scope.set_propagation_context(trace_id="ab" * 16)
            enqueuing_span = scope.span_id
            result = charge.delay(42)
        with pytest.raises(PaymentDeclined, match="declined 42"):
            _get(result)
        worker.wait(result.id)
        (event,) = _events(transport)
        (value,) = event["exception"]["values"]
        assert value["type"] == "PaymentDeclined"
        assert (value["mechanism"]["type"], value["mechanism"]["handled"]) == ("celery", False)
        assert event["transaction"] == "payments.charge"
        assert event["tags"]["celery.task"] == "payments.charge"
        celery_context = event["contexts"]["celery"]
        assert celery_context["task_id"] == result.id
        assert celery_context["retries"] == 0
        assert celery_context["args"] == {"amount": 42}  # bound to the task's parameter names
        trace = event["contexts"]["trace"]
        assert trace["trace_id"] == "ab" * 16
        assert trace["parent_span_id"] == enqueuing_span
        assert conformance_errors(event) == []

    def test_secrets_in_task_arguments_are_scrubbed(self, worker: _Finished) -> None:
        """Task kwargs travel in the event's celery context, through the default scrubbers."""
        transport = _init(CeleryIntegration())
        result = charge.delay(7, password="hunter2", card="4111 1111 1111 1111", note="gift")
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        (event,) = _events(transport)
        payload = json.dumps(event)
        assert "hunter2" not in payload
        assert "4111 1111 1111 1111" not in payload and "4111111111111111" not in payload
        assert event["contexts"]["celery"]["kwargs"]["note"] == "gift"

    def test_positional_secrets_are_bound_to_parameter_names_and_scrubbed(self, worker: _Finished) -> None:
        """Positional args are reported under their parameter names, so key rules filter them like kwargs."""
        transport = _init(CeleryIntegration())
        token, password = "tok-7f3a9c1e5b2d4f6a8c0e", "Pa55w0rd-positional"
        result = reset_password.delay(17, token, password, "extra-arg")
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        (event,) = _events(transport)
        assert_no_secrets([event], [token, password])
        args = event["contexts"]["celery"]["args"]
        assert args["user_id"] == 17 and args["rest"] == ["extra-arg"]
        assert args["token"] == "[Filtered]" and args["new_password"] == "[Filtered]"

    def test_retries_count_is_reported_and_retry_itself_is_not(self, worker: _Finished) -> None:
        """An autoretried task is one event, for its last attempt, with the retry count; the Retry is none."""
        transport = _init(CeleryIntegration())
        result = always_failing.delay()
        with pytest.raises(ConnectionError, match="attempt 1"):
            _get(result)
        worker.wait(result.id, runs=2)  # the result is stored before the final attempt's failure signal
        (event,) = _events(transport)
        assert event["exception"]["values"][0]["value"] == "attempt 1"
        assert event["contexts"]["celery"]["retries"] == 1

    def test_retry_that_succeeds_sends_nothing(self, worker: _Finished) -> None:
        """``self.retry()`` is control flow: no event, and the task's result is unchanged."""
        transport = _init(CeleryIntegration())
        result = retry_once.delay()
        assert _get(result) == "ok after 1 retry"
        worker.wait(result.id, runs=2)
        assert _events(transport) == []

    def test_exception_listed_in_throws_is_not_reported(self, worker: _Finished) -> None:
        """Exceptions the task declares in ``throws`` are expected: they still fail the task, silently for us."""
        transport = _init(CeleryIntegration())
        result = expected_failure.delay()
        with pytest.raises(KeyError):
            _get(result)
        worker.wait(result.id)
        assert _events(transport) == []

    def test_successful_task_sends_nothing_and_keeps_its_result(self, worker: _Finished) -> None:
        """A task that succeeds produces no event and returns exactly its result."""
        transport = _init(CeleryIntegration())
        result = add.delay(2, 3)
        assert _get(result) == 5
        worker.wait(result.id)
        assert _events(transport) == []

    def test_celery_failure_log_does_not_duplicate_the_event(self, worker: _Finished) -> None:
        """With logging on too, celery's own ERROR log of the failure does not make a second event."""
        transport = _init(CeleryIntegration(), LoggingIntegration())
        celery_logger = logging.getLogger("celery.app.trace")
        handler = _Records()
        celery_logger.addHandler(handler)
        try:
            result = charge.delay(1)
            with pytest.raises(PaymentDeclined):
                _get(result)
            worker.wait(result.id)
        finally:
            celery_logger.removeHandler(handler)
        (event,) = _events(transport)
        assert event["exception"]["values"][0]["mechanism"]["type"] == "celery"
        assert any(r.levelno == logging.ERROR and r.exc_info for r in handler.records)


class TestScopes:
    def test_each_task_has_its_own_scope(self, worker: _Finished) -> None:
        """Scope data of one task (its celery context, transaction) is not on events outside it."""
        transport = _init(CeleryIntegration())
        result = charge.delay(5)
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        sdk_core.capture_message("outside any task")
        task_event, outside = _events(transport)
        assert task_event["transaction"] == "payments.charge"
        assert "transaction" not in outside
        assert "celery" not in outside["contexts"]

    def test_publish_adds_the_trace_header(self, worker: _Finished) -> None:
        """Enqueuing adds ``sentry-trace: <trace_id>-<span_id>`` from the enqueuing scope."""
        _init(CeleryIntegration())
        published: dict[str, Any] = {}

        def capture_headers(headers: Any = None, **_: Any) -> None:
            published.update(headers or {})

        signals.before_task_publish.connect(capture_headers, weak=False, dispatch_uid="tests-headers")
        try:
            with sdk_core.isolation_scope() as scope:
                scope.set_propagation_context(trace_id="cd" * 16)
                result = add.delay(1, 1)
                span = scope.span_id
        finally:
            signals.before_task_publish.disconnect(dispatch_uid="tests-headers")
        assert _get(result) == 2
        worker.wait(result.id)
        assert published[TRACE_HEADER] == f"{'cd' * 16}-{span}"

    def test_eager_task_continues_the_callers_trace(self) -> None:
        """``task.apply()`` runs in the caller's thread, inside a task scope on the caller's trace."""
        transport = _init(CeleryIntegration())
        with sdk_core.isolation_scope() as scope:
            scope.set_propagation_context(trace_id="ef" * 16)
            scope.set_tag("caller", "yes")
            sdk_core.add_breadcrumb(message="the caller's step before the task")
            eager = charge.apply(args=(3,))
        with pytest.raises(PaymentDeclined):
            eager.get()
        (event,) = _events(transport)
        assert event["transaction"] == "payments.charge"
        assert event["contexts"]["trace"]["trace_id"] == "ef" * 16
        assert event["tags"]["caller"] == "yes"
        # Part of the caller's work: its trail is kept (a worker's task starts with none).
        assert [c["message"] for c in event["breadcrumbs"]["values"]] == ["the caller's step before the task"]


class TestLifecycle:
    def test_worker_process_shutdown_flushes(self) -> None:
        """The pool child's shutdown signal delivers what is queued (children skip atexit)."""
        transport = _init(CeleryIntegration(), batch_interval=30.0)
        sdk_core.capture_message("queued in a pool child")
        signals.worker_process_shutdown.send(sender=None, pid=0, exitcode=0)
        assert [e["logentry"]["message"] for e in transport.events] == ["queued in a pool child"]

    def test_uninstall_disconnects_every_signal(self, worker: _Finished) -> None:
        """After ``close`` none of our receivers is connected and failures are no longer captured."""
        wanted = (
            signals.before_task_publish,
            signals.task_prerun,
            signals.task_failure,
            signals.task_postrun,
            signals.worker_process_shutdown,
        )
        before = [len(s.receivers) for s in wanted]
        _init(CeleryIntegration())
        assert [len(s.receivers) for s in wanted] == [n + 1 for n in before]
        sdk_core.close(1.0)
        assert [len(s.receivers) for s in wanted] == before
        transport = _init()
        result = charge.delay(9)
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        assert _events(transport) == []

    def test_setup_once_twice_sends_one_event(self, worker: _Finished) -> None:
        """A second ``setup_once`` connects nothing twice."""
        integration = CeleryIntegration()
        transport = _init(integration)
        integration.setup_once()
        result = charge.delay(11)
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        assert len(_events(transport)) == 1


def _transactions(transport: InMemoryTransport, count: int) -> list[dict[str, Any]]:
    """The sent transactions once ``count`` arrived (bounded poll: the tests' postrun receiver can run
    before ours, which ends the task's root span)."""
    deadline = time.monotonic() + 10.0
    while True:
        flushed = sdk_core.flush(5.0)
        found = transport.transactions
        if (flushed and len(found) >= count) or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


class TestTracing:
    @pytest.fixture(autouse=True)
    def _own_provider(self) -> Iterator[None]:
        from tests.support.otel import global_provider

        with global_provider(None):
            yield

    def test_publish_span_and_task_transaction_share_the_trace(self, worker: _Finished) -> None:
        """``delay`` inside a span is a queue.submit.celery span; the task a queue.task.celery transaction."""
        transport = _init(CeleryIntegration(), traces_sample_rate=1.0)
        with sdk_core.start_span(op="http.server", name="checkout") as root:
            result = add.delay(2, 3)
        assert _get(result) == 5
        worker.wait(result.id)
        by_op = {tx["contexts"]["trace"]["op"]: tx for tx in _transactions(transport, 2)}
        assert set(by_op) == {"http.server", "queue.task.celery"}
        caller, task = by_op["http.server"], by_op["queue.task.celery"]
        (submit,) = caller["spans"]
        assert submit["op"] == "queue.submit.celery" and submit["description"] == "math.add"
        assert submit["data"]["messaging.message.id"] == result.id
        trace_id = f"{root.get_span_context().trace_id:032x}"
        assert task["contexts"]["trace"]["trace_id"] == trace_id
        assert task["contexts"]["trace"]["parent_span_id"] == submit["span_id"]
        assert task["transaction"] == "math.add" and task["transaction_info"] == {"source": "task"}
        assert task["contexts"]["trace"]["data"]["messaging.system"] == "celery"
        assert task["contexts"]["trace"]["status"] == "ok"
        for tx in (caller, task):
            assert conformance_errors(tx) == []

    def test_failing_task_transaction_is_failed_and_its_error_links_to_it(self, worker: _Finished) -> None:
        transport = _init(CeleryIntegration(), traces_sample_rate=1.0)
        result = charge.delay(5)
        with pytest.raises(PaymentDeclined):
            _get(result)
        worker.wait(result.id)
        (task,) = _transactions(transport, 1)
        (event,) = _events(transport)
        assert task["contexts"]["trace"]["status"] == "internal_error"
        assert event["contexts"]["trace"]["trace_id"] == task["contexts"]["trace"]["trace_id"]
        assert conformance_errors(task) == []

    def test_unsampled_publisher_decision_is_kept_by_the_task(self, worker: _Finished) -> None:
        transport = _init(CeleryIntegration(), traces_sample_rate=0.0)
        with sdk_core.start_span(op="task", name="caller"):
            result = add.delay(1, 1)
        assert _get(result) == 2
        worker.wait(result.id)
        client = sdk_core.get_client()
        assert client is not None
        deadline = time.monotonic() + 10.0
        while client.discards.totals[("sample_rate", "transaction")] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.discards.totals[("sample_rate", "transaction")] == 2  # the caller's root and the task's
        assert sdk_core.flush(5.0)
        assert transport.transactions == []
