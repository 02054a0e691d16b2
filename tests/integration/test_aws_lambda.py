"""AWS Lambda handlers invoked locally with fake context objects (Lambda's context is a plain
object), sending through the real HTTP transport to a loopback ingest server."""

from __future__ import annotations

import sys
import threading
import time
import types
from typing import Any, Iterator

import pytest

import sdk_core
from integrations import DEFAULT_INTEGRATIONS
from integrations.aws_lambda import AwsLambdaIntegration, in_lambda_runtime, wrap_handler
from sdk_core.integration import DidNotEnable
from tests.support.loopback import LoopbackServer

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e812345678"
FUNCTION = "checkout-handler"


class FakeContext:
    """The attributes and method Lambda's Python runtime gives a handler's context."""

    def __init__(self, budget_ms: int = 30_000) -> None:
        self.function_name = FUNCTION
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION}"
        self.aws_request_id = REQUEST_ID
        self.memory_limit_in_mb = "128"
        self.log_group_name = f"/aws/lambda/{FUNCTION}"
        self.log_stream_name = "2026/11/27/[$LATEST]abcdef"
        self._deadline = time.monotonic() + budget_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@pytest.fixture
def ingest() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        sdk_core.init(server.dsn(), default_integrations=False)
        yield server


def test_an_unhandled_exception_is_reported_and_delivered_before_the_handler_raises(ingest: LoopbackServer) -> None:
    @wrap_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        sdk_core.add_breadcrumb(message=f"order {event['order']}")
        raise RuntimeError("payment service down")

    with pytest.raises(RuntimeError):
        handler({"order": 17}, FakeContext())
    # No flush here: the wrapper flushed before the exception left the handler.
    (event,) = ingest.events
    assert event["contexts"]["aws_lambda"]["aws_request_id"] == REQUEST_ID
    assert event["contexts"]["aws_lambda"]["function_name"] == FUNCTION
    assert event["transaction"] == FUNCTION
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert (exception["mechanism"]["type"], exception["mechanism"]["handled"]) == ("aws_lambda", False)
    assert [c["message"] for c in event["breadcrumbs"]["values"]] == ["order 17"]


def test_a_successful_invocation_returns_its_value_and_reports_nothing(ingest: LoopbackServer) -> None:
    @wrap_handler(timeout_warning=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": event["order"]}

    assert handler({"order": 3}, FakeContext()) == {"statusCode": 200, "body": 3}
    assert sdk_core.flush(5.0)
    assert ingest.events == []


def test_a_warning_is_sent_shortly_before_the_timeout(ingest: LoopbackServer) -> None:
    @wrap_handler(timeout_warning_ms=900)
    def handler(event: dict[str, Any], context: Any) -> str:
        # Runs until the warning has arrived (bounded): a handler stuck near its deadline.
        assert ingest.wait_for(lambda: len(ingest.events) == 1, timeout=10.0)
        return "finished"

    assert handler({}, FakeContext(budget_ms=1200)) == "finished"
    (event,) = ingest.events
    assert event["level"] == "warning"
    assert FUNCTION in event["logentry"]["message"] and "time out" in event["logentry"]["message"]
    assert event["contexts"]["aws_lambda"]["aws_request_id"] == REQUEST_ID


def test_no_warning_when_the_handler_finishes_in_time(ingest: LoopbackServer) -> None:
    @wrap_handler(timeout_warning_ms=100)
    def handler(event: dict[str, Any], context: Any) -> str:
        return "quick"

    handler({}, FakeContext(budget_ms=400))
    for timer in [t for t in threading.enumerate() if t.name == "coderadar-lambda-timeout"]:
        timer.join(5.0)  # a timer that was not cancelled would send its warning at 300 ms
    assert sdk_core.flush(5.0)
    assert ingest.events == []


def test_wrapping_twice_is_a_no_op() -> None:
    def handler(event: Any, context: Any) -> None:
        return None

    once = wrap_handler(handler)
    assert wrap_handler(once) is once


def _fake_bootstrap() -> types.ModuleType:
    """The shape of awslambdaric's bootstrap: it calls ``request_handler(event, context)`` and
    reports a raised exception to the runtime API itself."""
    module = types.ModuleType("bootstrap")
    outcomes: list[Any] = []

    def handle_event_request(
        lambda_runtime_client: Any, request_handler: Any, invoke_id: str, event_body: Any, *rest: Any
    ) -> None:
        try:
            outcomes.append(request_handler(event_body, FakeContext()))
        except Exception as exc:
            outcomes.append(exc)

    module.handle_event_request = handle_event_request  # type: ignore[attr-defined]
    module.outcomes = outcomes  # type: ignore[attr-defined]
    return module


def test_inside_the_lambda_runtime_the_handler_is_wrapped_automatically(
    monkeypatch: pytest.MonkeyPatch, ingest: LoopbackServer
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    bootstrap = _fake_bootstrap()
    monkeypatch.setitem(sys.modules, "bootstrap", bootstrap)
    factory = dict((f.__name__, f) for _, f in DEFAULT_INTEGRATIONS)["_aws_lambda"]
    sdk_core.init(ingest.dsn(), default_integrations=False, integrations=[factory()])

    def handler(event: Any, context: Any) -> Any:
        raise KeyError("missing field")

    bootstrap.handle_event_request(None, handler, REQUEST_ID, {"a": 1})
    assert isinstance(bootstrap.outcomes[0], KeyError)  # the runtime still sees the failure
    (event,) = ingest.events  # delivered before the handler returned to the runtime
    assert event["contexts"]["aws_lambda"]["aws_request_id"] == REQUEST_ID
    sdk_core.close(1.0)
    bootstrap.handle_event_request(None, handler, REQUEST_ID, {"a": 1})  # uninstalled: plain call
    assert len(ingest.events) == 1


def test_outside_the_lambda_runtime_the_integration_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert not in_lambda_runtime()
    with pytest.raises(DidNotEnable):
        AwsLambdaIntegration()
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    assert not in_lambda_runtime()
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    assert in_lambda_runtime()
