"""sdk_core.integration: the surface integrations (ours and third-party) are built on."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

import sdk_core
from sdk_core import integration
from tests.support.sdk import init_with as init_memory


def test_guarded_returns_the_default_and_logs_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    @integration.guarded("probe hook", default="fallback")
    def hook(value: int) -> str:
        if value < 0:
            raise RuntimeError("boom")
        return str(value)

    assert hook(3) == "3"
    with caplog.at_level(logging.ERROR, logger="sdk_core"):
        assert hook(-1) == "fallback"
    assert any("probe hook" in r.getMessage() and "RuntimeError" in r.getMessage() for r in caplog.records)


def test_sdk_sending_is_scoped_and_false_in_application_code() -> None:
    assert integration.is_sdk_sending() is False
    with integration.sdk_sending():
        assert integration.is_sdk_sending() is True
    assert integration.is_sdk_sending() is False


def test_the_worker_thread_counts_as_the_sdk_sending() -> None:
    """``before_send`` runs on the worker: anything it triggers (an HTTP call, a log line) is the SDK's own."""
    seen: list[bool] = []

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        seen.append(integration.is_sdk_sending())
        return event

    init_memory(before_send=before_send)
    sdk_core.capture_message("hello")
    assert sdk_core.flush(5)
    assert seen == [True]


def test_options_view_is_none_before_init_and_read_only_after() -> None:
    assert integration.options() is None
    assert integration.is_enabled() is False
    assert integration.event_from_exception(ValueError("x")) is None
    init_memory(send_default_pii=True, max_request_body_size="small")
    opts = integration.options()
    assert opts is not None
    assert (opts.send_default_pii, opts.max_request_body_size) == (True, "small")
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.send_default_pii = False  # type: ignore[misc]


def test_event_from_exception_uses_the_clients_frame_settings() -> None:
    init_memory(include_local_variables=False)
    try:
        secret_local = "kept out"
        raise KeyError("missing")
    except KeyError as caught:
        exc = caught
        built = integration.event_from_exception(exc, mechanism={"type": "probe", "handled": True}, level="warning")
    assert built is not None
    event, hint = built
    (value,) = event["exception"]["values"]
    assert value["type"] == "KeyError"
    assert (value["mechanism"]["type"], value["mechanism"]["handled"]) == ("probe", True)
    assert event["level"] == "warning"
    assert all("vars" not in frame for frame in value["stacktrace"]["frames"])
    assert hint["exc_info"][1] is exc


def test_event_processors_are_added_once_and_removed() -> None:
    transport = init_memory()
    calls: list[str] = []

    def processor(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        calls.append(event["event_id"])
        event.setdefault("tags", {})["processed"] = "yes"
        return event

    integration.add_event_processor(processor)
    integration.add_event_processor(processor)
    sdk_core.capture_message("one")
    integration.remove_event_processor(processor)
    sdk_core.capture_message("two")
    assert sdk_core.flush(5)
    assert len(calls) == 1
    tags = [e.get("tags", {}).get("processed") for e in transport.events]
    assert tags == ["yes", None]


def test_continue_trace_prefers_traceparent_and_ignores_garbage() -> None:
    """W3C ``traceparent`` wins over a disagreeing ``sentry-trace`` (issue 16: as tracing does)."""
    trace, span = "a" * 32, "b" * 16
    with sdk_core.isolation_scope() as scope:
        integration.continue_trace(scope, f"{'c' * 32}-{'d' * 16}-1", f"00-{trace}-{span}-01")
        assert (scope.trace_id, scope.parent_span_id) == (trace, span)
        integration.continue_trace(scope, f"{trace}-{span}-1", "00-garbage")
        assert (scope.trace_id, scope.parent_span_id) == (trace, span)
        integration.continue_trace(scope, "garbage", None)
        assert scope.trace_id is not None and scope.trace_id != trace
        assert scope.parent_span_id is None
