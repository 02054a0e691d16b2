"""Every kind of event the SDK builds passes Relay's own normaliser without errors."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

import sdk_core
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with as init_memory


class Evil:
    def __repr__(self) -> str:
        raise ValueError("nope")


def _deep(n: int, secret: str) -> None:
    local_obj = Evil()
    big = "z" * 5000
    if n == 0:
        raise ValueError(f"broken with token sk_live_{'a' * 24}")
    _deep(n - 1, secret)


def _kinds() -> list[dict[str, Any]]:
    t = init_memory(release="conf@1", environment="test", server_name="box")
    sdk_core.set_user({"id": "1", "email": "jane@example.com", "ip_address": "10.1.2.3"})
    sdk_core.set_tag("t", "v")
    sdk_core.set_context("order", {"id": 7, "items": list(range(100))})
    sdk_core.set_extra("obj", Evil())
    for i in range(120):
        sdk_core.add_breadcrumb(category="c", message=f"m{i}", level="info", data={"i": i})
    try:
        _deep(3, "password=hunter2")
    except ValueError:
        sdk_core.capture_exception()
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise RuntimeError("outer") from e
    except RuntimeError as exc:
        sdk_core.capture_exception(exc)
    if sys.version_info >= (3, 11):
        try:
            raise ExceptionGroup("grp", [ValueError("a"), TypeError("b")])  # noqa: F821
        except Exception as exc:
            sdk_core.capture_exception(exc)
    sdk_core.capture_message("plain message", level="warning")
    sdk_core.capture_message("x" * 20000, level="fatal")
    with sdk_core.new_scope() as scope:
        scope.set_fingerprint(["{{ default }}", "custom"])
        scope.set_transaction_name("/orders/<id>")
        sdk_core.capture_message("with fingerprint", level="debug")
    logging.getLogger("conformance").info("not an event")
    assert sdk_core.flush(5)
    return t.events


def test_every_event_kind_conforms() -> None:
    events = _kinds()
    assert len(events) >= 5
    failures = {e["event_id"]: conformance_errors(e) for e in events}
    assert {k: v for k, v in failures.items() if v} == {}


def test_checker_catches_a_bad_event() -> None:
    events = _kinds()
    bad = dict(events[0])
    bad["contexts"] = {**bad["contexts"], "trace": {"type": "trace", "trace_id": "nothex", "span_id": "zz"}}
    assert conformance_errors(bad)


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error", "fatal"])
def test_levels_conform(level: str) -> None:
    t = init_memory()
    sdk_core.capture_message("lvl", level=level)
    sdk_core.flush(2)
    assert conformance_errors(t.events[0]) == []
