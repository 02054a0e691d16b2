"""Tracing with SQLAlchemy against a real sqlite database: a ``db`` span per statement, with
placeholders and never the bound values; a failed statement's span has status error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import integrations
import sdk_core
from integrations.sqlalchemy import SqlalchemyIntegration
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors
from tests.support.sdk import init_with

SECRET = "s3cr3t-Value-42"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


def _transactions(t: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(5)
    return t.transactions


def test_each_statement_is_a_db_span_with_placeholders_only(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    t = init_with(SqlalchemyIntegration(), traces_sample_rate=1.0)
    with sdk_core.start_span(op="task", name="report"):
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT)"))
            conn.execute(text("INSERT INTO users (nickname) VALUES (:nick)"), {"nick": SECRET})
            rows = conn.execute(text("SELECT id FROM users WHERE nickname = :nick"), {"nick": SECRET}).all()
            assert len(rows) == 1
        with pytest.raises(OperationalError):
            with engine.connect() as conn:
                conn.execute(text("SELECT nope FROM missing WHERE nickname = :nick"), {"nick": SECRET})
    (tx,) = _transactions(t)
    spans = [s for s in tx["spans"] if s["op"] == "db"]
    statements = [s["data"]["db.query.text"] for s in spans]
    assert "INSERT INTO users (nickname) VALUES (?)" in statements
    assert "SELECT id FROM users WHERE nickname = ?" in statements
    assert all(s["data"]["db.system"] == "sqlite" for s in spans)
    assert all(s["origin"] == "auto.db.sqlalchemy" for s in spans)
    assert all(s["parent_span_id"] == tx["contexts"]["trace"]["span_id"] for s in spans)
    failed = [s for s in spans if "missing" in s["data"]["db.query.text"]]
    assert [s["status"] for s in failed] == ["internal_error"]
    assert all(s["status"] == "ok" for s in spans if s not in failed)
    assert SECRET not in json.dumps(tx)
    assert conformance_errors(tx) == []


def test_statements_outside_a_trace_or_with_tracing_off_make_no_spans(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    t = init_with(SqlalchemyIntegration(), traces_sample_rate=1.0)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # no span open: no transaction of its own
    assert _transactions(t) == []
    t = init_with(SqlalchemyIntegration())  # tracing off
    with sdk_core.start_span(op="task", name="report"):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert _transactions(t) == []
    assert any(c.get("category") == "query" for c in _crumbs(t))


def _crumbs(t: InMemoryTransport) -> list[dict[str, Any]]:
    sdk_core.capture_message("after")
    assert sdk_core.flush(5)
    return list(t.events[-1].get("breadcrumbs", {}).get("values", []))
