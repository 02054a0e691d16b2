"""``python -m sdk_core check``: explains the DSN, sends a test event, says what the server answered."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

from sdk_core.devserver import Receiver
from tests.support.loopback import LoopbackServer, Reply


def run_check(dsn: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sdk_core", "check", "--dsn", dsn, "--timeout", "3", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_accepted_by_the_local_receiver(tmp_path: Any) -> None:
    with Receiver(db_path=str(tmp_path / "e.db")) as receiver:
        out = run_check(receiver.dsn)
        stored = receiver.events()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Result:     accepted" in out.stdout
    assert f"Project id: {receiver.project_id}" in out.stdout
    assert f"/api/{receiver.project_id}/envelope/" in out.stdout
    assert receiver.public_key not in out.stdout + out.stderr
    assert len(stored) == 1 and "test event" in stored[0]["summary"]


def test_wrong_key(tmp_path: Any) -> None:
    with Receiver(db_path=str(tmp_path / "e.db")) as receiver:
        bad = receiver.dsn.replace(receiver.public_key, "0" * 32)
        out = run_check(bad)
    assert out.returncode == 1
    assert "wrong key" in out.stdout and "HTTP 403" in out.stdout
    assert "0" * 32 not in out.stdout


def test_rate_limited() -> None:
    with LoopbackServer(Reply(429, {"Retry-After": "42"})) as server:
        out = run_check(server.dsn())
    assert out.returncode == 1
    assert "rate limited" in out.stdout and "42" in out.stdout


def test_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run_check(f"http://{'a' * 32}@127.0.0.1:{port}/1")
    assert out.returncode == 1
    assert "unreachable" in out.stdout


def test_invalid_dsn_is_explained_without_the_key() -> None:
    out = run_check("https://mykeyvalue123@host/notanumber")
    assert out.returncode == 2
    assert "project id must be numeric" in out.stdout
    assert "mykeyvalue123" not in out.stdout
