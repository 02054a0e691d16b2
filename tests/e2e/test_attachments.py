"""Attachments end to end: off unless added, sent beside their event, text scrubbed, size-limited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import sdk_core
from sdk_core import attachments as attachments_mod
from sdk_core.devserver import Receiver
from tests.support.loopback import LoopbackServer, Reply

CARD = "4111 1111 1111 1111"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"4111 1111 1111 1111"  # binary: sent as it is


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def attachments_of(receiver: Receiver, event_id: str) -> dict[str, tuple[dict[str, object], bytes]]:
    out = {}
    for row in receiver.items("attachment", event_id=event_id):
        found = receiver._store.attachment(row["id"])
        assert found is not None
        out[row["label"]] = found
    return out


def test_nothing_is_attached_unless_the_application_adds_it(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn)
    event_id = sdk_core.capture_message("plain")
    sdk_core.flush(5)
    assert event_id and receiver.events()[0]["event_id"] == event_id
    assert receiver.items("attachment") == []


def test_scope_and_call_attachments_travel_with_their_event(receiver: Receiver, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    report.write_text("id,total\n1,10\n")
    sdk_core.init(receiver.dsn)
    with sdk_core.isolation_scope():
        sdk_core.add_attachment(bytes=PNG, filename="screen.png")
        sdk_core.add_attachment(path=str(report))
        try:
            raise ValueError("bad total")
        except ValueError:
            note = sdk_core.Attachment(bytes="only here", filename="note.txt")
            inside = sdk_core.capture_exception(attachments=[note])
    outside = sdk_core.capture_message("after the request")
    sdk_core.flush(5)
    assert inside and outside
    got = attachments_of(receiver, inside)
    assert set(got) == {"screen.png", "report.csv", "note.txt"}
    assert got["screen.png"][1] == PNG and got["screen.png"][0]["content_type"] == "image/png"
    assert got["report.csv"][1] == b"id,total\n1,10\n" and got["report.csv"][0]["content_type"] == "text/csv"
    assert got["note.txt"][1] == b"only here"
    assert got["note.txt"][0]["attachment_type"] == "event.attachment"
    assert attachments_of(receiver, outside) == {}


def test_text_and_json_attachments_are_scrubbed_binary_ones_are_not(receiver: Receiver) -> None:
    sdk_core.init(receiver.dsn)
    text = f"charge {CARD} with {STRIPE}\nok\n"
    document = {"user": "bob", "password": "hunter2-pass", "token": STRIPE, "items": [1, 2]}
    event_id = sdk_core.capture_message(
        "with files",
        attachments=[
            sdk_core.Attachment(bytes=text, filename="trace.log", content_type="text/plain"),
            sdk_core.Attachment(bytes=json.dumps(document).encode(), filename="state.json"),
            sdk_core.Attachment(bytes=PNG, filename="raw.bin"),
        ],
    )
    sdk_core.flush(5)
    assert event_id
    got = attachments_of(receiver, event_id)
    log = got["trace.log"][1].decode()
    assert CARD not in log and STRIPE not in log and log.endswith("ok\n") and "[Filtered]" in log
    state = json.loads(got["state.json"][1])
    assert state["user"] == "bob" and state["items"] == [1, 2]
    assert "hunter2-pass" not in json.dumps(state) and STRIPE not in json.dumps(state)
    assert got["raw.bin"][1] == PNG  # the application chose to send it; the README says so


def test_size_limits_leave_the_attachment_out_and_count_it(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(attachments_mod, "MAX_ATTACHMENT_SIZE", 1000)
    monkeypatch.setattr(attachments_mod, "MAX_ENVELOPE_ATTACHMENTS", 1500)
    sdk_core.init(receiver.dsn)
    event_id = sdk_core.capture_message(
        "big files",
        attachments=[
            sdk_core.Attachment(bytes=b"a" * 1001, filename="too-big.bin"),
            sdk_core.Attachment(bytes=b"b" * 900, filename="fits.bin"),
            sdk_core.Attachment(bytes=b"c" * 700, filename="over-the-total.bin"),
        ],
    )
    sdk_core.flush(5)
    sdk_core.capture_message("carries the client report")
    sdk_core.flush(5)
    assert event_id and set(attachments_of(receiver, event_id)) == {"fits.bin"}
    assert any("too-big.bin" in r.getMessage() for r in caplog.records)
    reports = {(r["reason"], r["category"]): r["quantity"] for r in receiver.client_reports()}
    assert reports[("send_error", "attachment")] == 1001 + 700  # attachments are counted in bytes


def test_bad_arguments_raise_like_sentry_sdk() -> None:
    with pytest.raises(TypeError):
        sdk_core.Attachment()
    with pytest.raises(TypeError):
        sdk_core.Attachment(bytes=b"x")  # no filename
    with pytest.raises(TypeError):
        sdk_core.Attachment(bytes=b"x", path="/tmp/x")
    with pytest.raises(TypeError):
        sdk_core.add_attachment(bytes=123, filename="x")  # type: ignore[arg-type]


def test_an_unreadable_path_drops_only_that_attachment(receiver: Receiver, tmp_path: Path) -> None:
    sdk_core.init(receiver.dsn)
    event_id = sdk_core.capture_message("x", attachments=[sdk_core.Attachment(path=str(tmp_path / "gone.txt"))])
    sdk_core.flush(5)
    assert event_id and receiver.events()[0]["event_id"] == event_id
    assert receiver.items("attachment") == []


def test_rate_limited_attachments_are_dropped_but_the_event_is_sent() -> None:
    with LoopbackServer(Reply(200, {"X-Sentry-Rate-Limits": "60:attachment:organization"})) as server:
        sdk_core.init(server.dsn())
        sdk_core.capture_message("first")
        sdk_core.flush(5)
        sdk_core.capture_message("second", attachments=[sdk_core.Attachment(bytes=b"12345", filename="a.txt")])
        sdk_core.flush(5)
        sdk_core.capture_message("third")
        sdk_core.flush(5)
        assert len(server.events) == 3
        assert all(i.type != "attachment" for r in server.requests if r.envelope for i in r.envelope.items)
        assert server.discarded().get(("ratelimit_backoff", "attachment")) == 5


def test_log_files_and_strings_count_as_text_and_are_scrubbed(receiver: Receiver, tmp_path: Path) -> None:
    log_file = tmp_path / "worker.log"
    log_file.write_text(f"paid with {CARD}\n")
    sdk_core.init(receiver.dsn)
    event_id = sdk_core.capture_message(
        "x",
        attachments=[
            sdk_core.Attachment(path=str(log_file)),
            sdk_core.Attachment(bytes=f"key {STRIPE}", filename="dump"),  # a str: text, whatever the name
        ],
    )
    sdk_core.flush(5)
    assert event_id
    got = attachments_of(receiver, event_id)
    assert got["worker.log"][0]["content_type"] == "text/plain" and CARD.encode() not in got["worker.log"][1]
    assert got["dump"][0]["content_type"] == "text/plain" and STRIPE.encode() not in got["dump"][1]
