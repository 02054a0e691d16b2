"""The HTTP side of the development server: request and response shapes, the threaded server,
and the request handler that hands each request to the receiver and writes its answer.

No protocol knowledge lives here: the :class:`App` (the receiver) routes and answers.
"""

from __future__ import annotations

import os
import re
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable, Protocol, cast

import orjson

from sdk_core.devserver.body import Body, ClientGone
from sdk_core.devserver.summaries import one_line

__all__ = ["App", "Request", "RequestHandler", "Response", "Route", "RouteHandler", "Server"]

_HANDLER_TIMEOUT = 30.0


@dataclass
class Response:
    """An answer: JSON ``body`` by default, or ``raw`` bytes sent as is with ``content_type``."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    raw: bytes | None = None
    content_type: str = "application/json"


@dataclass
class Request:
    """One routed request: ``params`` are the route pattern's named groups."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    params: dict[str, str]
    body: Body


RouteHandler = Callable[[Request], Response]
"""Answers one routed request; may raise :class:`~sdk_core.devserver.body.HttpError`."""


@dataclass(frozen=True)
class Route:
    """Methods and a full-match path pattern for one handler."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: RouteHandler
    counted: bool = True  # console reads stay out of the ingest counters (requests, status_*)


class App(Protocol):
    """What the server needs from the receiver: one answer per request, never raising except
    :class:`~sdk_core.devserver.body.ClientGone` or ``OSError`` (nobody to answer)."""

    def handle(self, method: str, target: str, headers: Message, body: Body) -> Response:
        """Answer one request."""
        ...


class Server(ThreadingHTTPServer):
    """A threaded loopback server that can drop its open keep-alive connections on stop."""

    daemon_threads = True
    allow_reuse_address = os.name != "nt"  # on Windows SO_REUSEADDR lets two servers share a port
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's getfqdn(), a reverse DNS lookup that can take seconds."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection so :meth:`close_connections` can reach it."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection once its thread is done with it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection (idle keep-alive ones would otherwise outlive stop)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: resets and timeouts are the client's business; request errors are answered."""


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler: every method goes to :meth:`App.handle`; stdlib faults answer in JSON."""

    protocol_version = "HTTP/1.1"  # keep-alive: SDKs batch by reusing one connection
    server_version = "coderadar-receiver/1"
    default_request_version = "HTTP/1.0"  # even a garbled request line gets a status line, never HTTP/0.9
    timeout = _HANDLER_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are two writes; Nagle + delayed ACK would add 40 ms

    def _dispatch(self) -> None:
        app = cast(Server, self.server).app
        body = Body(cast(BinaryIO, self.rfile), self.headers)
        try:
            response = app.handle(self.command, self.path, self.headers, body)
        except (ClientGone, OSError):
            self.close_connection = True
            return
        payload = orjson.dumps(response.body) if response.raw is None else response.raw
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        if response.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def version_string(self) -> str:
        """The ``Server`` header: a name, no Python version."""
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level faults (bad request line, 414, 431, 501) answered in JSON like every other
        refusal, with the standard reason phrase rather than an echo of the input."""
        reason = self.responses.get(code, ("error", ""))[0]
        payload = orjson.dumps({"detail": one_line(message or reason, 160)})
        self.close_connection = True
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the receiver reports on its own terms (ids and statuses, never payloads or the key)."""
