from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

import sdk_core
from tests.support.sdk import init_with as init_memory


class Boom:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


def level3(order_id: int, payload: dict[str, Any]) -> None:
    note = "x" * 5000
    raise KeyError(f"order {order_id} missing")


def level2(order_id: int) -> None:
    payload: dict[str, Any] = {"nested": {"a": [1, 2, 3]}, "boom": Boom(), "raw": b"\x00\x01"}
    payload["self"] = payload
    level3(order_id, payload)


def level1() -> None:
    level2(7)


def test_exception_event_has_frames_locals_and_context() -> None:
    t = init_memory(scrubbing=False)
    try:
        level1()
    except KeyError:
        event_id = sdk_core.capture_exception()
    assert sdk_core.flush(2)
    (event,) = t.events
    assert event["event_id"] == event_id and len(event_id) == 32
    assert event["platform"] == "python" and event["level"] == "error"
    assert "message" not in event
    (exc,) = event["exception"]["values"]
    assert exc["type"] == "KeyError" and "order 7 missing" in exc["value"]
    assert exc["mechanism"]["type"] == "generic" and exc["mechanism"]["handled"] is True
    frames = exc["stacktrace"]["frames"]
    assert [f["function"] for f in frames][-3:] == ["level1", "level2", "level3"]
    last = frames[-1]
    assert last["context_line"].strip().startswith("raise KeyError")
    assert len(last["pre_context"]) == 5 and last["post_context"]
    assert last["in_app"] is True and last["module"] == __name__
    assert last["vars"]["order_id"] == 7
    assert len(last["vars"]["note"]) <= 1024
    payload = frames[-2]["vars"]["payload"]
    assert payload["nested"] == {"a": [1, 2, 3]}
    assert "repr failed" in payload["boom"]
    assert payload["self"] == "<recursion>"
    assert payload["raw"].startswith("b'")
    # trimming is recorded as a _meta remark at the frame variable's path
    frame_meta = event["_meta"]["exception"]["values"]["0"]["stacktrace"]["frames"]
    note_meta = frame_meta[str(len(frames) - 1)]["vars"]["note"][""]
    assert note_meta["len"] == 5000 and note_meta["rem"][0][0] == "!limit"
    contexts = event["contexts"]
    assert contexts["runtime"]["name"] == "CPython"
    assert len(contexts["trace"]["trace_id"]) == 32 and len(contexts["trace"]["span_id"]) == 16
    assert event["sdk"]["name"] == "coderadar.python"


def test_exception_chain_is_oldest_first_with_mechanisms() -> None:
    t = init_memory(scrubbing=False)
    try:
        try:
            try:
                raise OSError("disk")
            except OSError as low:
                raise ValueError("parse") from low
        except ValueError:
            raise RuntimeError("handler failed")  # noqa: B904  (implicit __context__)
    except RuntimeError as exc:
        sdk_core.capture_exception(exc)
    sdk_core.flush(2)
    values = t.events[0]["exception"]["values"]
    assert [v["type"] for v in values] == ["OSError", "ValueError", "RuntimeError"]
    newest = values[-1]["mechanism"]
    assert newest["exception_id"] == 0 and "parent_id" not in newest
    assert values[1]["mechanism"] == {
        "type": "chained",
        "handled": True,
        "exception_id": 1,
        "parent_id": 0,
        "source": "__context__",
    }
    assert values[0]["mechanism"]["source"] == "__cause__" and values[0]["mechanism"]["parent_id"] == 1


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is 3.11+")
def test_exception_group_members() -> None:
    t = init_memory(scrubbing=False)
    try:
        raise ExceptionGroup("many", [ValueError("a"), TypeError("b")])  # noqa: F821
    except Exception as exc:
        sdk_core.capture_exception(exc)
    sdk_core.flush(2)
    values = t.events[0]["exception"]["values"]
    by_type = {v["type"]: v["mechanism"] for v in values}
    assert by_type["ExceptionGroup"]["is_exception_group"] is True
    assert by_type["ValueError"]["source"] == "exceptions[0]"
    assert by_type["TypeError"]["source"] == "exceptions[1]"
    assert values[-1]["type"] == "ExceptionGroup"


def test_message_uses_logentry() -> None:
    t = init_memory(scrubbing=False)
    sdk_core.capture_message("disk almost full", level="warning")
    sdk_core.flush(2)
    (event,) = t.events
    assert event["logentry"] == {"message": "disk almost full"}
    assert event["level"] == "warning"
    assert "message" not in event


def test_scope_data_breadcrumbs_and_release() -> None:
    t = init_memory(scrubbing=False, release="shop@2.0", environment="staging", server_name="web-1", max_breadcrumbs=3)
    sdk_core.set_user({"id": "42"})
    sdk_core.set_tag("region", "eu")
    sdk_core.set_tags({"tier": 1})
    sdk_core.set_context("order", {"id": 9})
    sdk_core.set_extra("cart", ["a", "b"])
    for i in range(5):
        sdk_core.add_breadcrumb(message=f"step {i}", category="flow")
    sdk_core.add_breadcrumb({"message": "dict-style", "level": "warn"})
    sdk_core.capture_message("hello")
    sdk_core.flush(2)
    (event,) = t.events
    assert event["user"] == {"id": "42"}
    assert event["tags"] == {"region": "eu", "tier": "1"}
    assert event["contexts"]["order"] == {"id": 9}
    assert event["extra"] == {"cart": ["a", "b"]}
    crumbs = event["breadcrumbs"]["values"]
    assert [c["message"] for c in crumbs] == ["step 3", "step 4", "dict-style"]
    assert crumbs[-1]["level"] == "warning"
    assert crumbs[0]["timestamp"].endswith("Z")
    assert (event["release"], event["environment"], event["server_name"]) == ("shop@2.0", "staging", "web-1")


def test_before_breadcrumb_can_drop_and_edit() -> None:
    def hook(crumb: dict[str, Any], hint: dict[str, Any]) -> Any:
        if crumb.get("category") == "noise":
            return None
        crumb["data"] = {"edited": True}
        return crumb

    t = init_memory(scrubbing=False, before_breadcrumb=hook)
    sdk_core.add_breadcrumb(message="keep", category="app")
    sdk_core.add_breadcrumb(message="drop", category="noise")
    sdk_core.capture_message("x")
    sdk_core.flush(2)
    crumbs = t.events[0]["breadcrumbs"]["values"]
    assert [c["message"] for c in crumbs] == ["keep"] and crumbs[0]["data"] == {"edited": True}


def test_isolation_scopes_do_not_bleed_between_threads() -> None:
    t = init_memory(scrubbing=False)
    barrier = threading.Barrier(8)

    def request(user_id: int) -> None:
        with sdk_core.isolation_scope() as scope:
            scope.set_propagation_context()
            sdk_core.set_user({"id": str(user_id)})
            sdk_core.set_tag("req", str(user_id))
            sdk_core.add_breadcrumb(message=f"req {user_id}")
            barrier.wait()
            sdk_core.capture_message(f"from {user_id}")

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sdk_core.capture_message("outside")
    sdk_core.flush(2)
    events = {e["logentry"]["message"]: e for e in t.events}
    traces = set()
    for i in range(8):
        ev = events[f"from {i}"]
        assert ev["user"] == {"id": str(i)} and ev["tags"] == {"req": str(i)}
        assert [c["message"] for c in ev["breadcrumbs"]["values"]] == [f"req {i}"]
        traces.add(ev["contexts"]["trace"]["trace_id"])
    assert len(traces) == 8
    assert "user" not in events["outside"] and "breadcrumbs" not in events["outside"]


def test_new_scope_is_local_to_the_block() -> None:
    t = init_memory(scrubbing=False)
    with sdk_core.new_scope() as scope:
        scope.set_tag("inner", "yes")
        scope.set_fingerprint(["custom", "group"])
        scope.set_level("warning")
        sdk_core.capture_message("inside")
    sdk_core.capture_message("after")
    sdk_core.flush(2)
    inside, after = t.events
    assert inside["tags"] == {"inner": "yes"} and inside["fingerprint"] == ["custom", "group"]
    assert inside["level"] == "warning"
    assert "tags" not in after and "fingerprint" not in after


def test_same_request_events_share_a_trace_id() -> None:
    t = init_memory(scrubbing=False)
    with sdk_core.isolation_scope() as scope:
        scope.set_propagation_context()
        sdk_core.capture_message("one")
        sdk_core.capture_message("two")
    sdk_core.flush(2)
    a, b = t.events
    assert a["contexts"]["trace"]["trace_id"] == b["contexts"]["trace"]["trace_id"]


def test_in_app_rules_and_local_variable_switches() -> None:
    t = init_memory(
        scrubbing=False, include_local_variables=False, include_source_context=False, in_app_exclude=["tests"]
    )
    try:
        level1()
    except KeyError as exc:
        sdk_core.capture_exception(exc)
    sdk_core.flush(2)
    frame = t.events[0]["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert "vars" not in frame and "context_line" not in frame
    assert frame["in_app"] is False


def test_last_event_id_and_ignore_errors() -> None:
    init_memory(scrubbing=False, ignore_errors=[KeyError, "ZeroDivisionError"])
    assert sdk_core.capture_exception(KeyError("x")) is None
    assert sdk_core.capture_exception(ZeroDivisionError()) is None
    event_id = sdk_core.capture_exception(ValueError("y"))
    assert event_id is not None and sdk_core.last_event_id() == event_id
