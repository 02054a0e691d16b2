"""``python -m sdk_core events --type log|check_in|session|attachment`` over a receiver database
filled by the SDK itself, in a child process like a user would run it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sdk_core
from sdk_core.devserver import Receiver, events_main

REPO_ROOT = Path(__file__).resolve().parents[2]


def fill(db: str) -> str:
    with Receiver(db) as receiver:
        app = logging.getLogger("cli.app")
        app.setLevel(logging.INFO)
        sdk_core.init(receiver.dsn, enable_logs=True, release="cli@1", default_integrations=True)
        app.warning("disk %d%% full", 91)
        sdk_core.capture_checkin("nightly", status="ok", duration=3.0)
        event_id = sdk_core.capture_message(
            "with a file", attachments=[sdk_core.Attachment(bytes=b"hi", filename="a.txt")]
        )
        from werkzeug.test import Client

        from integrations.wsgi import WsgiMiddleware

        Client(WsgiMiddleware(lambda environ, start: (start("200 OK", []), [b"ok"])[1])).get("/")
        sdk_core.close()
        app.setLevel(logging.NOTSET)
        assert event_id is not None
        return event_id


def run_cli(*args: str) -> list[dict[str, object]]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "sdk_core", "events", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_events_type_prints_each_kind_as_json_lines(tmp_path: Path) -> None:
    db = str(tmp_path / "items.db")
    event_id = fill(db)
    (log,) = run_cli("--db", db, "--json", "--type", "log")
    assert log["kind"] == "log" and log["payload"]["body"] == "disk 91% full"  # type: ignore[index]
    (check_in,) = run_cli("--db", db, "--json", "--type", "check_in")
    assert check_in["payload"]["status"] == "ok" and check_in["label"] == "nightly"  # type: ignore[index]
    (session,) = run_cli("--db", db, "--json", "--type", "session")
    assert session["payload"]["attrs"]["release"] == "cli@1"  # type: ignore[index]
    assert session["payload"]["aggregates"][0]["exited"] == 1  # type: ignore[index]
    (attachment,) = run_cli("--db", db, "--json", "--type", "attachment")
    assert attachment["event_id"] == event_id
    assert attachment["payload"] == {  # metadata; the bytes stay in the database
        "filename": "a.txt",
        "content_type": "text/plain",
        "attachment_type": "event.attachment",
        "size": 2,
        "event_id": event_id,
    }
    (event,) = run_cli("--db", db, "--json")  # without --type: events, as before
    assert event["event_id"] == event_id


def test_events_type_text_lines_and_bad_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "items.db")
    fill(db)
    assert events_main(["--db", db, "--type", "check_in"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith("[check_in] nightly ok 3.000 s")
    assert events_main(["--db", db, "--type", "span"]) == 2


def test_serve_prints_a_line_per_item(tmp_path: Path) -> None:
    import io

    out = io.StringIO()
    with Receiver(verbose=True, stream=out) as receiver:
        sdk_core.init(receiver.dsn, enable_logs=True, release="cli@2", default_integrations=False)
        sdk_core.logger.warning("disk {pct}% full", pct=91)
        sdk_core.capture_checkin("nightly", status="error", duration=0.25)
        sdk_core.capture_message("m", attachments=[sdk_core.Attachment(bytes=b"hi", filename="a.txt")])
        sdk_core.close()
    lines = out.getvalue().splitlines()
    assert "[log] warn disk 91% full" in lines
    assert "[check_in] nightly error 0.250 s" in lines
    assert "[attachment] a.txt text/plain 2 bytes" in lines
    assert any(line.startswith("[event] ") for line in lines)
