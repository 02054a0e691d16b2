"""The development receiver: a Sentry-protocol ingest endpoint and web console on loopback.

``python -m sdk_core serve`` (:mod:`sdk_core.devserver.cli`) prints a DSN; point the SDK at it and
every event lands in a SQLite file (:mod:`sdk_core.devserver.store`) you can read with
``python -m sdk_core events``, or in the console.

It behaves like a strict real server (protocol facts: Sentry envelopes, Relay limits, Bugsink's
answers), so SDK bugs show up here first: see :mod:`sdk_core.devserver.ingest` for the endpoints,
auth and limits, :mod:`sdk_core.devserver.body` for bodies and compression. The key is write-only:
no HTTP endpoint reads anything back with it. No ``X-Sentry-Rate-Limits`` header, ever.

The web console (``Receiver(console=True)``; ``serve`` turns it on, ``--no-console`` off) adds
``GET``/``HEAD`` routes outside ``/api/`` (:func:`sdk_core.devserver.console.pages`). Every console
request passes :meth:`Receiver._console_guard` first: a ``Host`` that is not a loopback name gets
421 (DNS rebinding: a web page can make a browser talk to 127.0.0.1 under a hostname the attacker
controls), a request carrying the DSN key gets 403 (the key reads nothing, here either), a
cross-site subresource request gets 403; answers carry a strict Content-Security-Policy,
``nosniff`` and friends, and never contain the key. The console needs no key: it is a local tool
on a loopback-only port, like the SQLite file it reads.
"""

from __future__ import annotations

import re
import secrets
import sys
import threading
from email.message import Message
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

import orjson

from sdk_core.devserver.body import Body, ClientGone, HttpError
from sdk_core.devserver.console import CONTENT_SECURITY_POLICY, Console, ConsoleResponse, pages
from sdk_core.devserver.console.routes import Page
from sdk_core.devserver.ingest import Ingest, ScrubHook, request_key
from sdk_core.devserver.items import ItemRow, item_line
from sdk_core.devserver.server import Request, Response, Route, RouteHandler, Server
from sdk_core.devserver.store import ReceiverStore, StoreClosed
from sdk_core.devserver.summaries import format_event_line, one_line, write_line
from sdk_core.devserver.traces import format_transaction_line

__all__ = ["Receiver"]

_KEY_SHAPE = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_CONSOLE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def _is_loopback_host(host: str | None) -> bool:
    """The console answers only requests addressed to a loopback name (DNS rebinding defence)."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.strip("[]").lower() in ("127.0.0.1", "localhost", "::1")


class Receiver:
    """A loopback-only Sentry-protocol ingest server storing events in SQLite.

    ``db_path=None`` keeps events in memory; a file keeps them, and the public key, across
    restarts. The server runs on a daemon thread between :meth:`start` and :meth:`stop` (or as a
    context manager). All methods are thread-safe. :attr:`port` and :attr:`dsn` need a started
    receiver. A stopped receiver cannot be restarted.
    """

    def __init__(
        self,
        db_path: str | None = None,
        port: int = 0,
        public_key: str | None = None,
        project_id: int = 1,
        *,
        scrub: ScrubHook | None = None,
        verbose: bool = False,
        stream: TextIO | None = None,
        console: bool = False,
    ) -> None:
        if isinstance(project_id, bool) or not isinstance(project_id, int) or project_id <= 0:
            raise ValueError(f"project_id must be a positive integer, got {project_id!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in 0..65535, got {port!r}")
        if public_key is not None and not _KEY_SHAPE.fullmatch(public_key):
            raise ValueError("public_key must be 1-128 characters of [A-Za-z0-9_.~-]")
        self.project_id = project_id
        self.db_path = db_path
        self.verbose = verbose
        self._stream = stream
        self._requested_port = port
        self._store = ReceiverStore(db_path)
        try:
            self._public_key = self._store.public_key(public_key, lambda: secrets.token_hex(16))
        except BaseException:
            self._store.close()
            raise
        self._console = Console(self._store) if console else None
        self._ingest = Ingest(
            self._store,
            project_id,
            self._public_key,
            scrub=scrub,
            note=self._note,
            announce=self._announce,
            announce_items=self._announce_items,
            announce_transactions=self._announce_transactions,
        )
        self._lock = threading.Lock()
        self._print_lock = threading.Lock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Receiver:
        """Bind 127.0.0.1 and serve on a daemon thread; raises OSError when the port is taken."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("a stopped Receiver cannot be restarted")
            if self._server is None:
                server = Server(("127.0.0.1", self._requested_port), self)
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"coderadar-receiver:{server.server_port}",
                    daemon=True,
                )
                thread.start()
                self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and close the database; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
            thread.join(5.0)
        self._store.close()

    close = stop
    """Alias of :meth:`stop`."""

    def __enter__(self) -> Receiver:
        """Start; ``with Receiver() as r:`` stops on exit."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (needs a started receiver)."""
        if self._server is None:
            raise RuntimeError("Receiver is not started")
        return int(self._server.server_port)

    @property
    def public_key(self) -> str:
        """The DSN's public key: write-only, it authenticates ingest and reads nothing."""
        return self._public_key

    @property
    def dsn(self) -> str:
        """``http://<key>@127.0.0.1:<port>/<project>``: what the SDK is pointed at."""
        return f"http://{self._public_key}@127.0.0.1:{self.port}/{self.project_id}"

    @property
    def console_url(self) -> str | None:
        """``http://127.0.0.1:<port>/`` when the console is on, else ``None``."""
        return f"http://127.0.0.1:{self.port}/" if self._console is not None else None

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events, oldest first (the last ``limit`` ones when given); see :func:`read_events`."""
        return self._store.events(limit)

    def transactions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored transactions, oldest first, payloads decoded (tests read them here)."""
        return self._store.transactions(limit)

    def client_reports(self) -> list[dict[str, Any]]:
        """Aggregated client-report outcomes: ``[{"reason", "category", "quantity"}]``."""
        return self._store.client_reports()

    def items(self, kind: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Stored logs (``"log"``), check-ins, session aggregates (``"session"``) or attachments,
        oldest first; filters: ``event_id=``, ``trace_id=``, ``label=``, ``limit=``."""
        return self._store.items(kind, **filters)

    def stats(self) -> dict[str, Any]:
        """Counters: requests, bytes_received, status_<code>, events_stored, item_<type>, ..."""
        return self._store.stats()

    # -- dispatch ----------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
        routes = self._ingest.routes()
        if self._console is not None:
            read = frozenset({"GET", "HEAD"})
            for pattern, page in pages(self._console):
                routes.append(Route(read, re.compile(pattern), self._console_guard(page), counted=False))
        return routes

    def _route(self, method: str, path: str) -> tuple[RouteHandler, dict[str, str]] | Response:
        """The handler for a request, or the refusal (404, or 405 on the write-only API paths)."""
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if method not in route.methods:
                allow = ", ".join(sorted(route.methods))
                detail = "method not allowed: the DSN key is write-only" if path.startswith("/api/") else ""
                return Response(405, {"detail": detail or "method not allowed"}, [("Allow", allow)])
            return route.handler, match.groupdict()
        return Response(404, {"detail": "not found"})

    def handle(self, method: str, target: str, headers: Message, body: Body) -> Response:
        """Answer one request; never raises except :class:`ClientGone` / OSError (no one to answer)."""
        if target.startswith("/"):
            path, _, query = target.partition("?")
        else:
            split = urlsplit(target)
            path, query = split.path, split.query
        routed = self._route(method, path.partition("#")[0])
        counted = True
        if isinstance(routed, Response):
            response = routed
            # with a browser around, stray GETs (/favicon.ico, /robots.txt) are not ingest refusals
            counted = self._console is None or path.startswith("/api/")
        else:
            handler, params = routed
            counted = next((r.counted for r in self._routes if r.handler == handler), True)
            req = Request(method, path, parse_qs(query.partition("#")[0]), headers, params, body)
            try:
                response = handler(req)
            except HttpError as exc:
                response = Response(exc.status, {"detail": exc.detail}, close=exc.close)
            except StoreClosed:
                response = Response(503, {"detail": "receiver is shutting down"}, close=True)
            except (ClientGone, OSError):
                raise
            except Exception as exc:
                where = f"{method} {one_line(path, 80)}"
                self._note(f"[receiver] internal error {type(exc).__name__} on {where}", force=True)
                response = Response(500, {"detail": "internal receiver error"})
        try:
            body.drain()
        except HttpError as exc:
            response = Response(exc.status, {"detail": exc.detail}, close=True)
        if body.broken:
            response.close = True
        if response.status >= 400:
            detail = one_line(str(response.body.get("detail", "")), 160)
            self._note(f"[rejected] {response.status} {method} {one_line(path, 80)}: {detail}")
        if counted:
            try:
                self._store.bump({"requests": 1, "bytes_received": body.received, f"status_{response.status}": 1})
            except Exception:
                pass  # stats must never turn an answer into an error (store closing, disk full)
        return response

    # -- the console ---------------------------------------------------------------------------

    def _console_guard(self, page: Page) -> RouteHandler:
        """Wrap a console handler: refuse what must not read, add the security headers."""

        def handler(req: Request) -> Response:
            hosts = req.headers.get_all("Host") or []
            site = str(req.headers.get("Sec-Fetch-Site", "")).strip().lower()
            mode = str(req.headers.get("Sec-Fetch-Mode", "")).strip().lower()
            if len(hosts) != 1 or not _is_loopback_host(str(hosts[0]).strip()):
                result = ConsoleResponse(
                    421,
                    b"421 Misdirected Request: the console answers only to Host 127.0.0.1, localhost or [::1]\n",
                    "text/plain; charset=utf-8",
                )
            elif self._carries_key(req):
                result = ConsoleResponse(
                    403,
                    b"403 Forbidden: the DSN key is write-only and reads nothing; the console takes no key\n",
                    "text/plain; charset=utf-8",
                )
            elif site in ("cross-site", "same-site") and mode != "navigate":
                result = ConsoleResponse(403, b"403 Forbidden: cross-site request\n", "text/plain; charset=utf-8")
            else:
                result = page(req.query, req.params)
            body = result.body
            key = self._public_key.encode()
            if len(key) >= 8 and key in body:  # the console never hands out the key, whatever the data holds
                body = body.replace(key, b"[DSN key]")
            headers = [*_CONSOLE_HEADERS, *result.headers]
            if not any(name.lower() == "cache-control" for name, _ in result.headers):
                headers.append(("Cache-Control", "no-store"))
            return Response(result.status, headers=headers, raw=body, content_type=result.content_type)

        return handler

    def _carries_key(self, req: Request) -> bool:
        """Any attempt at Sentry auth, or the key itself anywhere in the query or the headers."""
        if request_key(req) is not None or req.headers.get("X-Sentry-Auth") is not None:
            return True
        key = self._public_key
        if len(key) < 8:
            return False
        values = [v for vs in req.query.values() for v in vs] + [str(v) for v in req.headers.values()]
        return any(key in v for v in values)

    def _note(self, line: str, *, force: bool = False) -> None:
        """Diagnostics go to stderr: ids, statuses and paths only, never payloads or the key."""
        if self.verbose or force:
            self._print(line, sys.stderr)

    def _print(self, line: str, stream: Any = None) -> None:
        with self._print_lock:
            try:
                write_line(stream or self._stream or sys.stdout, line)
            except (OSError, ValueError):
                pass  # a closed or broken stream must not fail the request

    def _announce_items(self, rows: list[ItemRow]) -> None:
        """One line per stored log, check-in, session aggregate or attachment (``verbose`` only)."""
        if not self.verbose:
            return
        for row in rows:
            self._print(item_line(row.kind, row.label, orjson.loads(row.payload)))

    def _announce_transactions(self, rows: list[tuple[Any, ...]]) -> None:
        """``[transaction] 9f2b3c4d… GET /orders/<id> 12.3 ms, 3 spans, ok`` per stored transaction."""
        if not self.verbose:
            return
        for row in rows:
            self._print(format_transaction_line(row))

    def _announce(self, events: list[dict[str, Any]]) -> None:
        if not self.verbose:
            return
        for event in events:
            redactions = None if event["server_redactions"] is None else orjson.loads(event["server_redactions"])
            self._print(format_event_line(event["event_id"], event["level"], event["summary"], redactions))
