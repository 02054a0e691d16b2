from __future__ import annotations

import logging
from typing import Any

import pytest

import sdk_core
from tests.support.sdk import init_with as init_memory


def test_before_send_can_edit_and_drop() -> None:
    def hook(event: dict[str, Any], hint: dict[str, Any]) -> Any:
        if "exc_info" in hint and isinstance(hint["exc_info"][1], KeyError):
            return None
        event["tags"] = {"seen": "yes"}
        return event

    t = init_memory(scrubbing=False, before_send=hook)
    sdk_core.capture_exception(KeyError("drop me"))
    sdk_core.capture_message("keep me")
    sdk_core.flush(2)
    assert [e["logentry"]["message"] for e in t.events] == ["keep me"]
    assert t.events[0]["tags"] == {"seen": "yes"}
    assert sdk_core.stats()["dropped"] == {"before_send": 1}


def test_before_send_exception_drops_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    def hook(event: dict[str, Any], hint: dict[str, Any]) -> Any:
        raise RuntimeError("bug in hook")

    t = init_memory(scrubbing=False, before_send=hook)
    assert sdk_core.capture_message("x") is not None  # the caller never sees the hook's error
    sdk_core.flush(2)
    assert t.events == []
    assert any("before_send raised RuntimeError" in r.getMessage() for r in caplog.records)


def test_before_send_wrong_return_type_drops(caplog: pytest.LogCaptureFixture) -> None:
    t = init_memory(scrubbing=False, before_send=lambda e, h: "oops")
    sdk_core.capture_message("x")
    sdk_core.flush(2)
    assert t.events == []
    assert any("instead of an event" in r.getMessage() for r in caplog.records)


def test_sample_rate_zero_sends_nothing_and_counts() -> None:
    t = init_memory(scrubbing=False, sample_rate=0.0)
    for _ in range(5):
        assert sdk_core.capture_message("x") is None
    sdk_core.flush(2)
    assert t.events == []
    assert sdk_core.stats()["dropped"] == {"sample_rate": 5}


def test_sample_rate_half_is_roughly_half() -> None:
    t = init_memory(scrubbing=False, sample_rate=0.5)
    for _ in range(400):
        sdk_core.capture_message("x")
    sdk_core.flush(5)
    assert 120 < len(t.events) < 280


def test_unserialisable_data_from_before_send_is_rendered_not_fatal() -> None:
    class Weird:
        def __repr__(self) -> str:
            return "<weird>"

    def hook(event: dict[str, Any], hint: dict[str, Any]) -> Any:
        event["extra"] = {"obj": Weird(), 1: "int key"}
        return event

    t = init_memory(scrubbing=False, before_send=hook)
    sdk_core.capture_message("x")
    sdk_core.flush(2)
    assert t.events[0]["extra"] == {"obj": "<weird>", "1": "int key"}


def test_hostile_scope_values_never_raise() -> None:
    class Evil:
        def __repr__(self) -> str:
            raise ValueError("no")

        def __str__(self) -> str:
            raise ValueError("no")

        def __eq__(self, other: object) -> bool:
            raise ValueError("no")

        __hash__ = object.__hash__

    t = init_memory(scrubbing=False)
    loop: list[Any] = []
    loop.append(loop)
    sdk_core.set_extra("evil", Evil())
    sdk_core.set_extra("loop", loop)
    sdk_core.set_extra("nan", float("nan"))
    sdk_core.set_extra("gen", (i for i in range(3)))
    sdk_core.set_extra("huge", "y" * 100_000)
    sdk_core.set_tag("evil", Evil())
    sdk_core.set_context("ctx", {Evil(): Evil()})  # type: ignore[dict-item]
    sdk_core.add_breadcrumb(message=Evil(), data={"e": Evil()})
    sdk_core.capture_message(Evil())  # type: ignore[arg-type]
    sdk_core.capture_exception(Evil())  # type: ignore[arg-type]
    sdk_core.flush(2)
    assert len(t.events) == 1
    extra = t.events[0]["extra"]
    assert extra["nan"] == "nan" and extra["loop"] == ["<recursion>"]
    assert len(extra["huge"]) == 1024


def test_sdk_logger_receives_internal_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="sdk_core")

    def processor(event: dict[str, Any], hint: dict[str, Any]) -> Any:
        raise ZeroDivisionError

    t = init_memory(scrubbing=False)
    sdk_core.get_isolation_scope().add_event_processor(processor)
    sdk_core.capture_message("still sent")
    sdk_core.flush(2)
    assert len(t.events) == 1
    assert any(r.name == "sdk_core" and "event processor" in r.getMessage() for r in caplog.records)


def test_same_exception_captured_twice_is_reported_once() -> None:
    t = init_memory(scrubbing=False)
    try:
        raise ValueError("once")
    except ValueError as exc:
        first = sdk_core.capture_exception(exc)
        second = sdk_core.capture_exception(exc)  # e.g. the framework that saw it re-raised
    other = sdk_core.capture_exception(ValueError("another"))
    sdk_core.flush(2)
    assert first is not None and second is None and other is not None
    assert [e["exception"]["values"][0]["value"] for e in t.events] == ["once", "another"]
