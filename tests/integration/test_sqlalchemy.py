"""SQLAlchemy against a real sqlite database: statement breadcrumbs without bound values, and the
failed statement on the error event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, declarative_base

import sdk_core
from integrations.sqlalchemy import _LISTENERS, SqlalchemyIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.support.sdk import init_with

SECRET = "s3cr3t-Value-42"
Base: Any = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    nickname = Column(String(50))


def _init(integration: SqlalchemyIntegration | None = None) -> InMemoryTransport:
    return init_with(integration or SqlalchemyIntegration())


def _event(transport: InMemoryTransport) -> dict[str, Any]:
    assert sdk_core.flush(5.0)
    (event,) = transport.events
    return event


def _queries(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "query"]


def test_statements_are_breadcrumbs_with_placeholders_duration_and_rowcount(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")  # created before init: still covered
    transport = _init()
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(User(name="alice", nickname=SECRET))
        session.commit()
        assert session.query(User).filter(User.nickname == SECRET).one().name == "alice"
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = :name WHERE nickname = :nick"), {"name": "bob", "nick": SECRET})
        conn.execute(
            text("INSERT INTO users (name, nickname) VALUES (:n, :k)"), [{"n": "c", "k": "d"}, {"n": "e", "k": "f"}]
        )
    sdk_core.capture_message("after queries")
    event = _event(transport)
    queries = _queries(event)
    insert = next(q for q in queries if q["message"].startswith("INSERT INTO users") and "executemany" not in q["data"])
    assert insert["message"] == "INSERT INTO users (name, nickname) VALUES (?, ?)"
    assert insert["data"]["db.system"] == "sqlite"
    assert insert["data"]["rowcount"] == 1
    assert insert["data"]["duration_ms"] >= 0
    select = next(q for q in queries if q["message"].startswith("SELECT"))
    assert "WHERE users.nickname = ?" in select["message"]
    update = next(q for q in queries if q["message"].startswith("UPDATE"))
    assert update["data"]["rowcount"] == 1
    many = next(q for q in queries if q["data"].get("executemany"))
    assert many["data"]["rowcount"] == 2
    assert_no_secrets(event, [SECRET])


def test_a_failed_statement_is_described_on_the_error_event_without_its_values() -> None:
    engine = create_engine("sqlite://")
    transport = _init()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM missing_table WHERE token = :token"), {"token": SECRET})
    except OperationalError as exc:
        assert SECRET in str(exc)  # SQLAlchemy's own message carries the bound values
        sdk_core.capture_exception(exc)
    event = _event(transport)
    assert event["contexts"]["sqlalchemy"] == {
        "statement": "SELECT * FROM missing_table WHERE token = ?",
        "dialect": "sqlite",
    }
    value = event["exception"]["values"][-1]["value"]
    assert "no such table: missing_table" in value and "[parameters: [filtered]]" in value
    failed = _queries(event)[-1]
    assert failed["level"] == "error" and failed["data"]["error"] == "OperationalError"
    assert_no_secrets(event, [SECRET])


def test_nothing_is_recorded_before_init_or_after_uninstall() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    integration = SqlalchemyIntegration()
    transport = _init(integration)
    integration.setup_once()  # idempotent: one breadcrumb per statement
    with engine.connect() as conn:
        conn.execute(text("SELECT 2"))
    integration.uninstall()
    assert not any(event.contains(Engine, name, listener) for name, listener in _LISTENERS)
    with engine.connect() as conn:
        conn.execute(text("SELECT 3"))
    sdk_core.capture_message("done")
    assert [q["message"] for q in _queries(_event(transport))] == ["SELECT 2"]


def test_statements_inside_a_scope_stay_in_it() -> None:
    engine = create_engine("sqlite://")
    transport = _init()
    with sdk_core.isolation_scope():
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    sdk_core.capture_message("outside")
    assert _queries(_event(transport)) == []
