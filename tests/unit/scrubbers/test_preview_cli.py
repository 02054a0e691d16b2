"""``python -m scrubbers preview`` in a subprocess: redactions listed, secrets never printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SECRETS = {
    "password": "hunter2-very-secret",
    "email": "jane.doe@example.org",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "card": "4111 1111 1111 1111",
    "bearer": "abcdef0123456789abcdef",
}


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrubbers", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def event_file(tmp_path: Path) -> Path:
    event = {
        "request": {
            "headers": {"Authorization": f"Bearer {SECRETS['bearer']}"},
            "data": {"password": SECRETS["password"]},
        },
        "exception": {"values": [{"value": f"user {SECRETS['email']} paid with {SECRETS['card']}"}]},
        "extra": {"note": f"key {SECRETS['aws']} used", "password_attempts": 3},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


class TestPreviewCli:
    def test_lists_redactions_and_never_prints_secrets(self, event_file: Path) -> None:
        """Each redaction is a path and a rule id; no secret value appears on stdout or stderr."""
        proc = _run("preview", str(event_file))
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout + proc.stderr
        for secret in SECRETS.values():
            assert secret not in out
            assert secret[:8] not in out
        assert "request.headers.Authorization\tauth-header" in out
        assert "request.data.password\tpassword-field" in out
        assert "\temail\t" in out and "\tcredit-card\t" in out and "\taws-access-key-id\t" in out
        scrubbed = json.loads(out.split("Scrubbed event:\n", 1)[1])
        assert scrubbed["extra"]["password_attempts"] == 3

    def test_reads_stdin(self, event_file: Path) -> None:
        """'-' reads the event from standard input."""
        proc = _run("preview", "-", stdin=event_file.read_text(encoding="utf-8"))
        assert proc.returncode == 0 and SECRETS["aws"] not in proc.stdout

    def test_bad_json_does_not_echo_the_input(self, tmp_path: Path) -> None:
        """A parse error reports a position, not the file's content."""
        bad = tmp_path / "bad.json"
        bad.write_text('{"password": "hunter2-very-secret",', encoding="utf-8")
        proc = _run("preview", str(bad))
        assert proc.returncode == 2
        assert "hunter2" not in proc.stdout + proc.stderr

    def test_rules_command_prints_the_table(self) -> None:
        """'rules' prints the Markdown rule table."""
        proc = _run("rules")
        assert proc.returncode == 0 and "| `password-field` |" in proc.stdout
