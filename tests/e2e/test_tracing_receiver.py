"""Transactions end to end: a traced Flask request over real HTTP to the receiver, read back by the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

import integrations
import sdk_core
from integrations.flask import FlaskIntegration
from sdk_core.devserver import Receiver
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


def _app() -> Flask:
    app = Flask(__name__)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> Any:
        with sdk_core.start_span(
            op="db",
            name="load user",
            attributes={"db.system": "sqlite", "db.query.text": f"SELECT * FROM users WHERE id = {user_id}"},
        ):
            pass
        if user_id == 13:
            raise LookupError("unlucky")
        return "ok"

    return app


def test_transactions_reach_the_receiver_and_the_cli_prints_them(tmp_path: Path) -> None:
    import io

    db = str(tmp_path / "r.db")
    lines_out = io.StringIO()
    with Receiver(db_path=db, verbose=True, stream=lines_out) as receiver:
        sdk_core.init(
            receiver.dsn, traces_sample_rate=1.0, default_integrations=False, integrations=[FlaskIntegration()]
        )
        client = _app().test_client()
        client.get("/users/7?password=hunter2").close()
        client.get("/users/13").close()
        assert sdk_core.flush(10)
        stored = receiver.transactions()
        assert len(stored) == 2
        assert len(receiver.events()) == 1
    printed = [line for line in lines_out.getvalue().splitlines() if line.startswith("[transaction]")]
    assert len(printed) == 2 and all("/users/<int:user_id>" in line and "1 spans" in line for line in printed)
    names = {row["name"] for row in stored}
    assert names == {"/users/<int:user_id>"}
    for row in stored:
        payload = row["payload"]
        assert conformance_errors(payload) == []
        assert row["envelope_header"]["trace"]["trace_id"] == row["trace_id"]
        (span,) = payload["spans"]
        assert span["description"] == "SELECT * FROM users WHERE id = ?"
        assert "hunter2" not in json.dumps(payload)
    failed = next(row for row in stored if row["status"] != "ok")
    assert failed["status"] == "internal_error"

    out = subprocess.run(
        [sys.executable, "-m", "sdk_core", "events", "--db", db, "--json", "--type", "transaction"],
        capture_output=True, text=True, cwd=str(REPO_ROOT), timeout=60, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 2 and all(line["payload"]["type"] == "transaction" for line in lines)
    default = subprocess.run(
        [sys.executable, "-m", "sdk_core", "events", "--db", db, "--json"],
        capture_output=True, text=True, cwd=str(REPO_ROOT), timeout=60, check=True,
    )  # fmt: skip
    (only_event,) = [json.loads(line) for line in default.stdout.splitlines()]
    assert only_event["payload"]["contexts"]["trace"]["trace_id"] == failed["trace_id"]
    plain = subprocess.run(
        [sys.executable, "-m", "sdk_core", "events", "--db", db, "--type", "transaction", "--last", "1"],
        capture_output=True, text=True, cwd=str(REPO_ROOT), timeout=60, check=True,
    )  # fmt: skip
    (line,) = plain.stdout.splitlines()
    assert "[http.server] /users/<int:user_id>" in line and f"trace={failed['trace_id']}" in line
