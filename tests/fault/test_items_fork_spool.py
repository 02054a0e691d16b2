"""Logs, check-ins and sessions under faults: a fork does not duplicate what the parent buffered,
and an outage spools them (already scrubbed) for the next process to deliver."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import sdk_core
from sdk_core import sessions
from tests.fault.test_fork_safety import fork_child, wait_child
from tests.support.loopback import LoopbackServer

CARD = "4111 1111 1111 1111"


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("fault.app")
    log.setLevel(logging.INFO)
    yield log
    log.setLevel(logging.NOTSET)


def log_bodies(server: LoopbackServer) -> list[str]:
    out = []
    for request in server.requests:
        for item in request.envelope.items if request.envelope else []:
            if item.type == "log":
                assert item.headers["item_count"] == len(orjson.loads(item.payload)["items"])
                out.extend(log["body"] for log in orjson.loads(item.payload)["items"])
    return sorted(out)


def session_total(server: LoopbackServer) -> int:
    return sum(
        bucket.get("exited", 0) for request in server.requests for agg in request.items_of("sessions")
        for bucket in agg["aggregates"]
    )  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_sends_its_own_logs_and_sessions_not_the_parents(
    loopback: LoopbackServer, app_logger: logging.Logger
) -> None:
    sdk_core.init(loopback.dsn(), enable_logs=True, release="fork@1", default_integrations=True)
    app_logger.info("parent, buffered at the fork")
    with sdk_core.isolation_scope() as scope:
        sessions.end_request(sessions.start_request(scope))  # counted in the parent

    def child() -> bool:
        app_logger.info("child line")
        sdk_core.close(10)
        return True

    pid = fork_child(child)
    assert wait_child(pid) == 0
    sdk_core.close(10)
    assert loopback.wait_for(lambda: len(log_bodies(loopback)) >= 2)
    assert log_bodies(loopback) == ["child line", "parent, buffered at the fork"]
    assert session_total(loopback) == 1


def test_an_outage_spools_scrubbed_items_and_the_next_process_delivers_them(
    tmp_path: Path, app_logger: logging.Logger
) -> None:
    server = LoopbackServer().start()
    try:
        server.stop()  # the endpoint is down
        options: dict[str, Any] = {"enable_logs": True, "spool_dir": str(tmp_path), "shutdown_timeout": 3.0}
        sdk_core.init(server.dsn(), **options)
        app_logger.info("paid with %s", CARD)
        sdk_core.capture_checkin("nightly", status="ok", duration=1.0)
        sdk_core.close()
        spooled = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
        assert b"paid with [Filtered]" in spooled and CARD.encode() not in spooled  # scrubbed before the disk
        server.restart()
        sdk_core.init(server.dsn(), **options)  # the next process replays the spool
        assert server.wait_for(
            lambda: bool(log_bodies(server)) and any(r.items_of("check_in") for r in server.requests)
        )
        assert log_bodies(server) == ["paid with [Filtered]"]
        sdk_core.close()
    finally:
        server.stop()
