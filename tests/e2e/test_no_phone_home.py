"""Nothing leaves the process except to the DSN's host: no phone-home, no update check."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import sdk_core
from tests.support.loopback import LoopbackServer


def test_only_the_dsn_host_is_contacted(monkeypatch: pytest.MonkeyPatch) -> None:
    contacted: list[Any] = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def spy_connect(self: socket.socket, address: Any) -> Any:
        contacted.append(("connect", address))
        return real_connect(self, address)

    def spy_create(address: Any, *args: Any, **kwargs: Any) -> Any:
        contacted.append(("create_connection", address))
        return real_create(address, *args, **kwargs)

    def spy_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        contacted.append(("resolve", host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr(socket, "create_connection", spy_create)
    monkeypatch.setattr(socket, "getaddrinfo", spy_getaddrinfo)

    with LoopbackServer() as server:
        sdk_core.init(server.dsn(), release="x@1")  # every default integration on
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sdk_core.capture_exception()
        sdk_core.capture_message("hello")
        assert sdk_core.flush(5)
        sdk_core.close(2)
        assert len(server.events) == 2

    assert contacted, "the spy saw no network activity at all"
    for kind, target in contacted:
        host = target[0] if isinstance(target, tuple) else target
        assert host in ("127.0.0.1", "localhost"), f"{kind} to {target!r}"
