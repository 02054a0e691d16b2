"""sdk_core.devserver.summaries: the one headline-and-location summary the receiver and console share."""

from __future__ import annotations

from typing import Any

import pytest

from sdk_core.devserver.summaries import Summary, format_event_line, one_line, summarize


def frame(filename: str, lineno: int, in_app: bool | None = None, **extra: Any) -> dict[str, Any]:
    f: dict[str, Any] = {"filename": filename, "lineno": lineno, **extra}
    if in_app is not None:
        f["in_app"] = in_app
    return f


def test_exception_chain_summarises_the_raised_exception_at_its_crashing_in_app_frame() -> None:
    payload = {
        "level": "fatal",
        "exception": {
            "values": [
                {"type": "KeyError", "value": "'a'", "stacktrace": {"frames": [frame("cause.py", 1, True)]}},
                {
                    "type": "ValueError",
                    "value": "bad input",
                    "stacktrace": {
                        "frames": [frame("app.py", 12, True), frame("helper.py", 30, True), frame("lib.py", 99, False)]
                    },
                },
            ]
        },
    }
    summary = summarize(payload)
    assert summary == Summary("fatal", "ValueError", "bad input", "helper.py:30")
    assert summary.headline == "ValueError: bad input"
    assert summary.line() == "ValueError: bad input (helper.py:30)"


def test_without_in_app_frames_the_last_frame_is_the_location() -> None:
    payload = {"exception": [{"type": "E", "stacktrace": {"frames": [frame("a.py", 1), frame("b.py", 2, False)]}}]}
    assert summarize(payload) == Summary("error", "E", "", "b.py:2")
    assert summarize(payload).line() == "E (b.py:2)"


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        ({"logentry": {"formatted": "user 42 failed", "message": "user %s failed"}}, "user 42 failed"),
        ({"logentry": {"message": "user %s failed"}}, "user %s failed"),
        ({"message": "plain"}, "plain"),
        ({"message": {"formatted": "dict form"}}, "dict form"),
        ({"exception": {"values": [{"type": "", "value": ""}]}, "message": "fallback"}, "fallback"),
        ({"transaction": "/checkout"}, "/checkout"),
        ({}, "<no message>"),
    ],
)
def test_message_events_fall_back_from_message_to_transaction(payload: dict[str, Any], value: str) -> None:
    summary = summarize(payload)
    assert (summary.type, summary.value, summary.headline) == ("", value, value)


def test_location_falls_back_to_the_event_stacktrace_then_threads() -> None:
    """Thread stacks (e.g. a captured message with threads) locate the event in every display."""
    top = {"message": "m", "stacktrace": {"frames": [frame("top.py", 3)]}}
    assert summarize(top).location == "top.py:3"
    threads = {
        "message": "m",
        "threads": {"values": [{"id": 1}, {"stacktrace": {"frames": [frame("worker.py", 7, True)]}}]},
    }
    assert summarize(threads).line() == "m (worker.py:7)"
    assert summarize({"message": "m", "threads": [{"stacktrace": {"frames": [frame("t.py", 1)]}}]}).location == "t.py:1"


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"abs_path": "/srv/app/views.py", "lineno": 5}, "views.py:5"),
        ({"abs_path": "C:\\app\\views.py", "lineno": 5}, "views.py:5"),
        ({"module": "app.views", "lineno": 5}, "app.views:5"),
        ({"filename": "x.py", "lineno": True}, "x.py"),
        ({"filename": "x.py"}, "x.py"),
        ({"lineno": 5}, ""),
    ],
)
def test_location_names_the_file(fields: dict[str, Any], location: str) -> None:
    assert summarize({"stacktrace": {"frames": [fields]}}).location == location


@pytest.mark.parametrize(
    "payload",
    [
        {"exception": "x", "threads": 3, "stacktrace": [], "level": 5},
        {"exception": {"values": [None, 1, {"stacktrace": {"frames": [None, "f"]}}]}},
        {"threads": {"values": [None, {"stacktrace": "no"}]}, "logentry": 1, "message": ["a"]},
    ],
)
def test_junk_shapes_never_raise(payload: dict[str, Any]) -> None:
    summary = summarize(payload)
    assert summary.level == "error" and summary.value == "<no message>" and summary.location == ""


def test_one_line_neutralises_controls_and_cuts_long_text() -> None:
    assert one_line("a\nb\t c\x1b[31m \u202eevil\u200b!") == "a b c [31m evil !"
    assert one_line("x" * 10, 5) == "xxxx\u2026"
    assert one_line("\ud800") == "\\ud800"
    assert one_line(None) == one_line(3) == ""


def test_line_is_cleaned_for_terminals() -> None:
    payload = {"level": "warning\n", "exception": [{"type": "E", "value": "two\nlines", "stacktrace": {"frames": []}}]}
    summary = summarize(payload)
    assert summary.level == "warning"
    assert summary.line() == "E: two lines"


def test_event_line_counts_server_redactions() -> None:
    assert format_event_line("0123456789abcdef", "error", "E: x", None) == "[event] 01234567\u2026 error E: x"
    line = format_event_line("0123456789abcdef", "error", "E: x", {"slack": 2, "openai": 1})
    assert line.endswith(" [server redacted 3]")
