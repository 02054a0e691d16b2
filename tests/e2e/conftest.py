"""End-to-end fixtures: real servers on loopback. These tests never skip: a server that cannot be
installed or started is a test error, so CI cannot pass without having run them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bugsink import BugsinkError, BugsinkServer


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BugsinkServer]:
    """One Bugsink for the session (its state and logs stay in pytest's basetemp ``bugsink0``).

    Tests share it: isolate by ``event_id`` or ``since=`` when reading events back.
    """
    try:
        server = BugsinkServer.start(home=tmp_path_factory.mktemp("bugsink"))
    except BugsinkError as exc:
        failure = str(exc)  # failed outside the except block, so the report is this message alone
    else:
        failure = ""
    if failure:
        pytest.fail(f"Bugsink (the e2e server) could not be installed or started:\n{failure}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
