"""A fault-injecting ingest server on 127.0.0.1 for transport tests.

Each request is recorded (headers, decompressed body, parsed envelope, client port). What it
answers is decided per request by ``behaviour``: a status with headers, or one of the faults
``hang`` (no answer until the client gives up), ``reset`` (close the socket), ``garbage``.

``stop()`` closes the listening socket and every open connection (keep-alive ones included), so
the endpoint is really gone; ``restart()`` listens again on the same port, as a server that comes
back after an outage.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union

import orjson

from sdk_core.transport.envelope import Envelope, parse


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"
    fault: Optional[str] = None  # "hang" | "reset" | "garbage"
    hang_seconds: float = 10.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: bytes
    envelope: Optional[Envelope]
    client_port: int
    at: float

    @property
    def events(self) -> list[dict[str, Any]]:
        if self.envelope is None:
            return []
        return [orjson.loads(i.payload) for i in self.envelope.items if i.type == "event"]

    def items_of(self, kind: str) -> list[dict[str, Any]]:
        if self.envelope is None:
            return []
        return [orjson.loads(i.payload) for i in self.envelope.items if i.type == kind]


Behaviour = Callable[[int, "Received"], Reply]


class LoopbackServer:
    def __init__(self, behaviour: Union[Behaviour, Reply, None] = None, port: int = 0) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.set_behaviour(behaviour)
        self._port = port
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._connections: set[socket.socket] = set()

    def set_behaviour(self, behaviour: Union[Behaviour, Reply, None]) -> None:
        if behaviour is None:
            behaviour = Reply()
        if isinstance(behaviour, Reply):
            fixed = behaviour
            self._behaviour: Behaviour = lambda n, r: fixed
        else:
            self._behaviour = behaviour

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with outer._lock:
                    outer._connections.add(self.connection)

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with outer._lock:
                        outer._connections.discard(self.connection)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = raw
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(raw)
                try:
                    envelope: Optional[Envelope] = parse(body)
                except Exception:
                    envelope = None
                rec = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    raw,
                    body,
                    envelope,
                    self.client_address[1],
                    time.monotonic(),
                )
                with outer._lock:
                    outer.requests.append(rec)
                    n = len(outer.requests)
                reply = outer._behaviour(n, rec)
                if reply.fault == "hang":
                    outer._release.wait(reply.hang_seconds)
                    self.close_connection = True
                    return
                if reply.fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                if reply.fault == "garbage":
                    self.wfile.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass

    def restart(self) -> LoopbackServer:
        """Listen again on the same port (the DSN stays valid): an endpoint back from an outage."""
        self.stop()
        self._release = threading.Event()
        return self.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    def dsn(self, key: str = "0123456789abcdef0123456789abcdef", project: int = 42) -> str:
        return f"http://{key}@127.0.0.1:{self._port}/{project}"

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for r in self.requests for e in r.events]

    @property
    def event_ids(self) -> list[str]:
        return [str(e.get("event_id")) for e in self.events]

    def client_reports(self) -> list[dict[str, Any]]:
        with self._lock:
            return [report for r in self.requests for report in r.items_of("client_report")]

    def discarded(self) -> dict[tuple[str, str], int]:
        """All client reports received, summed by (reason, category)."""
        totals: dict[tuple[str, str], int] = {}
        for report in self.client_reports():
            for row in report.get("discarded_events", []):
                key = (row["reason"], row["category"])
                totals[key] = totals.get(key, 0) + int(row["quantity"])
        return totals

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()
