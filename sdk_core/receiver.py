"""Embedded local receiver for development: a Sentry-protocol ingest endpoint on loopback.

``python -m sdk_core serve`` (see :func:`serve_main`) prints a DSN; point the SDK at it and every
event lands in a SQLite file you can read with ``python -m sdk_core events`` (:func:`events_main`).

It behaves like a strict real server (protocol facts: Sentry envelopes, Relay limits, Bugsink's
answers), so SDK bugs show up here first:

* ``POST /api/<project_id>/envelope/`` and the legacy ``POST /api/<project_id>/store/``; bodies plain,
  ``gzip``/``x-gzip``, or ``br`` when the ``brotli`` module is importable. Other encodings: 400.
* Auth, first match wins: ``X-Sentry-Auth``/``Authorization: Sentry sentry_key=...``, the
  ``sentry_key`` query parameter, then the envelope header ``dsn``. Missing or wrong key, or a wrong
  project id: 403.
* Malformed envelope: 400. Body over 20 MiB (before or after decompression) or an event over 1 MiB:
  413. More than one event-like item in one envelope: 413 and nothing stored (current Relay).
* The key is write-only: no HTTP endpoint reads anything back with it. Reading is local
  (:func:`read_events`, or the console below).
* No ``X-Sentry-Rate-Limits`` header, ever.

The web console (``Receiver(console=True)``; ``serve`` turns it on, ``--no-console`` off) adds
``GET``/``HEAD`` routes outside ``/api/`` to the table built in :meth:`Receiver._build_routes`
(pages and JSON in :mod:`sdk_core.console`). Every console request passes
:meth:`Receiver._console_guard` first: a ``Host`` that is not a loopback name gets 421 (DNS
rebinding: a web page can make a browser talk to 127.0.0.1 under a hostname the attacker
controls), a request carrying the DSN key gets 403 (the key reads nothing, here either), a
cross-site subresource request gets 403; answers carry a strict Content-Security-Policy,
``nosniff`` and friends, and never contain the key. The console needs no key: it is a local tool
on a loopback-only port, like the SQLite file it reads.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import sqlite3
import sys
import threading
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable, TextIO, cast
from urllib.parse import parse_qs, urlsplit

import orjson

from sdk_core._receiver_store import (
    NotAReceiverDatabase,
    ReceiverStore,
    StoreClosed,
    dumps,
    read_client_reports,
    read_events,
    read_stats,
)
from sdk_core.console import CONTENT_SECURITY_POLICY, Console, ConsoleResponse

try:  # optional, as on real servers: accept "br" only when we can decode it
    import brotli as _brotli_module  # type: ignore[import-not-found,import-untyped,unused-ignore]

    _brotli: Any = _brotli_module
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None

__all__ = [
    "DEFAULT_DB_PATH",
    "DEFAULT_PORT",
    "MAX_BODY_SIZE",
    "MAX_EVENT_SIZE",
    "EnvelopeError",
    "EnvelopeItem",
    "Receiver",
    "ScrubHook",
    "events_main",
    "parse_envelope",
    "read_client_reports",
    "read_events",
    "read_stats",
    "serve_main",
]

ScrubHook = Callable[[dict[str, Any]], Mapping[str, int]]
"""Second-layer scrubber: mutates an event payload in place, returns redaction counts per rule."""

DEFAULT_PORT = 8030
DEFAULT_DB_PATH = "coderadar-events.db"
MAX_BODY_SIZE = 20 * 1024 * 1024  # per request, before and after decompression
MAX_EVENT_SIZE = 1024 * 1024  # Relay's max_event_size; Bugsink's MAX_EVENT_SIZE
_DRAIN_LIMIT = 100 * 1024 * 1024  # read and discard this much of a refused body so the 413 arrives
_HANDLER_TIMEOUT = 30.0

# Relay sizes.rs: these share one `total_count: 1` limit; a second one fails the envelope with 413.
_EVENT_LIKE = frozenset({"event", "transaction", "security", "raw_security", "replay_event", "feedback", "form_data"})
_API_ENVELOPE = re.compile(r"/api/(?P<project_id>[0-9]{1,18})/envelope/?")
_API_STORE = re.compile(r"/api/(?P<project_id>[0-9]{1,18})/store/?")
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# C0/C1 controls plus bidi overrides: a summary line must not drive the terminal or reorder text.
_CONSOLE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _HTTPError(Exception):
    def __init__(self, status: int, detail: str, *, close: bool = False) -> None:
        super().__init__(detail)
        self.status, self.detail, self.close = status, detail, close


class _ClientGone(Exception):
    """The client went away mid-request; there is nobody to answer."""


class EnvelopeError(ValueError):
    """The bytes are not a well-formed Sentry envelope."""


@dataclass
class _Response:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    raw: bytes | None = None  # sent as is (with content_type) instead of ``body`` as JSON
    content_type: str = "application/json"


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    params: dict[str, str]
    body: _Body


_RouteHandler = Callable[[_Request], _Response]


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: _RouteHandler
    counted: bool = True  # console reads stay out of the ingest counters (requests, status_*)


@dataclass
class EnvelopeItem:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers["type"])


# -- request bodies ---------------------------------------------------------------------------


class _Body:
    """The request body, read at most once, bounded; drained when a handler did not want it."""

    def __init__(self, rfile: BinaryIO, headers: Message) -> None:
        self._rfile = rfile
        self.received = 0
        self.done = False
        self.broken = False  # stream position unknown: the connection must close after the answer
        self.error: str | None = None
        self._chunked = False
        self._length = 0
        te = headers.get_all("Transfer-Encoding") or []
        cl = headers.get_all("Content-Length") or []
        if te:
            if ",".join(te).strip().lower() != "chunked" or cl:
                self.error, self.broken = "unsupported Transfer-Encoding / Content-Length combination", True
            else:
                self._chunked = True
        elif cl:
            values = {v.strip() for v in cl}
            value = values.pop() if len(values) == 1 else ""
            if not (value.isascii() and value.isdigit()):
                self.error, self.broken = "invalid Content-Length", True
            else:
                self._length = int(value)

    def _read_exact(self, n: int) -> bytes:
        data = self._rfile.read(n) if n else b""
        if len(data) != n:
            raise _ClientGone()
        self.received += n
        return data

    def _chunks(self) -> Iterator[bytes]:
        while True:
            line = self._rfile.readline(1026)
            if not line:
                raise _ClientGone()
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE_LINE.fullmatch(size_text):
                self.broken = True
                raise _HTTPError(400, "malformed chunked body", close=True)
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):
                    trailer = self._rfile.readline(65537)
                    if not trailer:
                        raise _ClientGone()
                    if trailer in (b"\r\n", b"\n"):
                        return
                self.broken = True
                raise _HTTPError(400, "malformed chunked body", close=True)
            yield self._read_exact(size)
            if self._rfile.readline(3) not in (b"\r\n", b"\n"):
                self.broken = True
                raise _HTTPError(400, "malformed chunked body", close=True)

    def _pieces(self) -> Iterator[bytes]:
        if self._chunked:
            yield from self._chunks()
            return
        remaining = self._length
        while remaining:
            piece = self._read_exact(min(remaining, 1 << 16))
            remaining -= len(piece)
            yield piece

    def _consume(self, keep: int) -> tuple[bytes, int]:
        """Read the body to its end (up to the drain limit), keeping it only if it fits in ``keep``."""
        if self.error is not None:
            raise _HTTPError(400, self.error, close=True)
        if self.done:
            raise RuntimeError("request body already consumed")
        self.done = True
        if not self._chunked and self._length > _DRAIN_LIMIT:
            self.broken = True
            return b"", self._length
        parts: list[bytes] = []
        total = 0
        for piece in self._pieces():
            total += len(piece)
            if total <= keep:
                parts.append(piece)
            if total > _DRAIN_LIMIT:
                self.broken = True
                break
        return (b"".join(parts) if total <= keep else b""), total

    def read(self, limit: int) -> bytes:
        """The whole body; 413 (after draining it, so the client hears the answer) when over ``limit``."""
        data, total = self._consume(limit)
        if total > limit:
            raise _HTTPError(413, f"request body larger than {limit} bytes", close=self.broken)
        return data

    def drain(self) -> None:
        """Discard what a handler did not read so keep-alive works; too much marks the connection broken."""
        if not (self.done or self.broken or self.error is not None):
            self._consume(0)


def _gunzip(data: bytes, limit: int) -> bytes:
    out: list[bytes] = []
    total = 0
    while True:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        while True:
            try:
                chunk = decoder.decompress(pending, limit + 1 - total)
            except zlib.error:
                raise _HTTPError(400, "invalid gzip body") from None
            total += len(chunk)
            if total > limit:
                raise _HTTPError(413, f"decompressed body larger than {limit} bytes")
            out.append(chunk)
            pending = decoder.unconsumed_tail
            if not pending:
                break
        if not decoder.eof:
            raise _HTTPError(400, "truncated gzip body")
        data = decoder.unused_data
        if not data.strip(b"\x00"):
            return b"".join(out)
        if not data.startswith(b"\x1f\x8b"):
            raise _HTTPError(400, "trailing bytes after the gzip body")


def _unbrotli(data: bytes, limit: int) -> bytes:
    decoder = _brotli.Decompressor()
    out: list[bytes] = []
    total = 0

    def take(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)
        if total > limit:
            raise _HTTPError(413, f"decompressed body larger than {limit} bytes")
        out.append(chunk)

    try:
        try:
            take(decoder.process(data, output_buffer_limit=limit + 1))
        except TypeError:  # brotli < 1.2 has no output limit: feed small steps, check as we go
            for i in range(0, len(data), 256):
                take(decoder.process(data[i : i + 256]))
        else:
            while not (decoder.is_finished() or decoder.can_accept_more_data()):
                take(decoder.process(b"", output_buffer_limit=limit + 1 - total))
    except _HTTPError:
        raise
    except Exception:  # brotli.error, or whatever an odd brotli build raises
        raise _HTTPError(400, "invalid br body") from None
    if not decoder.is_finished():
        raise _HTTPError(400, "truncated br body")
    return b"".join(out)


def _decode_body(content_encoding: str | None, raw: bytes) -> bytes:
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(raw, MAX_BODY_SIZE)
    if encoding == "br" and _brotli is not None:
        return _unbrotli(raw, MAX_BODY_SIZE)
    raise _HTTPError(400, f"unsupported Content-Encoding {_clean(encoding, 40)!r}")


# -- envelope parsing (Sentry envelope format; Relay relay-server/src/envelope/) ------------------


def _json(data: bytes) -> Any:
    """Parse strict JSON (no NaN/Infinity, valid UTF-8); raises ValueError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # orjson refuses some valid JSON (lone surrogate escapes); the stdlib decides

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=no_constants)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = _json(data)
    except ValueError:
        raise EnvelopeError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return value


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[EnvelopeItem]]:
    """Split an envelope into its header and items; raises :class:`EnvelopeError` when malformed.

    ``Envelope = Headers { "\\n" Item } [ "\\n" ]``; an item's payload is ``length`` bytes, or runs
    to the next newline when the item header has no ``length``.
    """
    end = len(data)
    nl = data.find(b"\n")
    headers = _json_object(data if nl < 0 else data[:nl], "envelope header")
    pos = end if nl < 0 else nl + 1
    items: list[EnvelopeItem] = []
    while pos < end:
        if data[pos] == 0x0A or data.startswith(b"\r\n", pos):  # blank line: tolerated, like a trailing \n
            pos += 1 if data[pos] == 0x0A else 2
            continue
        nl = data.find(b"\n", pos)
        line_end = end if nl < 0 else nl
        item_headers = _json_object(data[pos:line_end], "item header")
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeError("item header without a 'type'")
        start = end if nl < 0 else nl + 1
        length = item_headers.get("length")
        if length is None:
            nl = data.find(b"\n", start)
            stop = end if nl < 0 else nl
            payload, pos = data[start:stop], (end if nl < 0 else nl + 1)
        else:
            if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                raise EnvelopeError("item 'length' is not a non-negative integer")
            stop = start + length
            if stop > end:
                raise EnvelopeError("item 'length' runs past the end of the envelope")
            payload = data[start:stop]
            if stop == end:
                pos = end
            elif data[stop] == 0x0A:
                pos = stop + 1
            elif data.startswith(b"\r\n", stop):
                pos = stop + 2
            else:
                raise EnvelopeError("no newline after an item payload of the declared 'length'")
        items.append(EnvelopeItem(item_headers, payload))
    return headers, items


def _event_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


# -- summaries --------------------------------------------------------------------------------


def _clean(text: str, limit: int = 200) -> str:
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def _location(frames: list[dict[str, Any]]) -> str:
    if not frames:
        return ""
    in_app = [f for f in frames if f.get("in_app") is True]
    frame = (in_app or frames)[-1]  # crashing frame last
    name = _str(frame.get("filename")) or os.path.basename(_str(frame.get("abs_path")))
    name = name or _str(frame.get("module"))
    lineno = frame.get("lineno")
    if name and isinstance(lineno, int) and not isinstance(lineno, bool):
        return f"{name}:{lineno}"
    return name


def _summarize(payload: dict[str, Any]) -> tuple[str, str]:
    """``(level, summary)`` for the one-line display, e.g. ``("error", "ValueError: x (demo.py:12)")``."""
    level = _clean(_str(payload.get("level")), 16) or "error"
    exc = payload.get("exception")
    values = exc.get("values") if isinstance(exc, dict) else exc
    values = [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []
    title, frames = "", []
    if values:
        etype, evalue = _str(values[-1].get("type")), _str(values[-1].get("value"))
        title = f"{etype}: {evalue}" if etype and evalue else etype or evalue
        frames = _frames(values[-1].get("stacktrace"))
    if not title:
        logentry = payload.get("logentry")
        message = payload.get("message")
        for candidate in (logentry, message):
            if isinstance(candidate, dict):
                title = _str(candidate.get("formatted")) or _str(candidate.get("message"))
            elif isinstance(candidate, str):
                title = candidate
            if title:
                break
    if not frames:
        frames = _frames(payload.get("stacktrace"))
    if not frames:
        threads = payload.get("threads")
        tvalues = threads.get("values") if isinstance(threads, dict) else None
        for thread in tvalues if isinstance(tvalues, list) else []:
            frames = _frames(thread.get("stacktrace")) if isinstance(thread, dict) else []
            if frames:
                break
    where = _location(frames)
    summary = _clean(title or _str(payload.get("transaction")) or "<no message>")
    return level, f"{summary} ({_clean(where, 120)})" if where else summary


def _format_event_line(event_id: str, level: str, summary: str, redactions: Mapping[str, int] | None) -> str:
    line = f"[event] {event_id[:8]}\u2026 {level} {summary}"
    redacted = sum(redactions.values()) if redactions else 0
    return f"{line} [server redacted {redacted}]" if redacted else line


def _write_line(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
    except UnicodeEncodeError:
        stream.write(line.encode("ascii", "backslashreplace").decode("ascii") + "\n")
    stream.flush()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_loopback_host(host: str | None) -> bool:
    """The console answers only requests addressed to a loopback name (DNS rebinding defence)."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.strip("[]").lower() in ("127.0.0.1", "localhost", "::1")


# -- auth ------------------------------------------------------------------------------------


def _key_from_auth_headers(headers: Message) -> str | None:
    """``sentry_key`` from ``X-Sentry-Auth`` or ``Authorization: Sentry ...``; "" when unusable."""
    for name in ("X-Sentry-Auth", "Authorization"):
        value = headers.get(name)
        if value is None:
            continue
        scheme, _, params = str(value).strip().partition(" ")
        if scheme.lower() != "sentry":
            if name == "Authorization":
                continue  # somebody else's scheme; not an attempt at our auth
            return ""
        for part in params.split(","):
            key, _, val = part.strip().partition("=")
            if key.strip() == "sentry_key":
                return val.strip()
        return ""
    return None


def _request_key(req: _Request) -> str | None:
    key = _key_from_auth_headers(req.headers)
    if key is None and "sentry_key" in req.query:
        key = req.query["sentry_key"][0]
    return key


# -- the receiver ----------------------------------------------------------------------------


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
        self._scrub = scrub
        self._stream = stream
        self._requested_port = port
        self._store = ReceiverStore(db_path)
        try:
            self._public_key = self._store.public_key(public_key, lambda: secrets.token_hex(16))
        except BaseException:
            self._store.close()
            raise
        self._console = Console(self._store) if console else None
        self._lock = threading.Lock()
        self._print_lock = threading.Lock()
        self._server: _Server | None = None
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
                server = _Server(("127.0.0.1", self._requested_port), self)
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

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Receiver is not started")
        return int(self._server.server_port)

    @property
    def public_key(self) -> str:
        return self._public_key

    @property
    def dsn(self) -> str:
        return f"http://{self._public_key}@127.0.0.1:{self.port}/{self.project_id}"

    @property
    def console_url(self) -> str | None:
        """``http://127.0.0.1:<port>/`` when the console is on, else ``None``."""
        return f"http://127.0.0.1:{self.port}/" if self._console is not None else None

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events, oldest first (the last ``limit`` ones when given); see :func:`read_events`."""
        return self._store.events(limit)

    def client_reports(self) -> list[dict[str, Any]]:
        """Aggregated client-report outcomes: ``[{"reason", "category", "quantity"}]``."""
        return self._store.client_reports()

    def stats(self) -> dict[str, Any]:
        """Counters: requests, bytes_received, status_<code>, events_stored, item_<type>, ..."""
        return self._store.stats()

    # -- dispatch ----------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        post = frozenset({"POST"})
        routes = [
            _Route(post, _API_ENVELOPE, self._handle_envelope),
            _Route(post, _API_STORE, self._handle_store),
        ]
        console = self._console
        if console is not None:
            read = frozenset({"GET", "HEAD"})

            def row_id(req: _Request) -> int:
                return int(req.params["row_id"])

            pages: list[tuple[str, Callable[[_Request], ConsoleResponse]]] = [
                (r"/", lambda req: console.list_page(req.query)),
                (r"/poll", lambda req: console.poll(req.query)),
                (r"/event/(?P<row_id>[0-9]{1,18})", lambda req: console.event_page(row_id(req))),
                (r"/event/(?P<row_id>[0-9]{1,18})\.json", lambda req: console.event_json(row_id(req), download=False)),
                (
                    r"/event/(?P<row_id>[0-9]{1,18})/download",
                    lambda req: console.event_json(row_id(req), download=True),
                ),
                (r"/static/(?P<name>[a-z0-9][a-z0-9.-]{0,63})", lambda req: console.asset(req.params["name"])),
            ]
            routes += [_Route(read, re.compile(p), self._console_guard(h), counted=False) for p, h in pages]
        return routes

    def _route(self, method: str, path: str) -> tuple[_RouteHandler, dict[str, str]] | _Response:
        """The handler for a request, or the refusal (404, or 405 on the write-only API paths)."""
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if method not in route.methods:
                allow = ", ".join(sorted(route.methods))
                detail = "method not allowed: the DSN key is write-only" if path.startswith("/api/") else ""
                return _Response(405, {"detail": detail or "method not allowed"}, [("Allow", allow)])
            return route.handler, match.groupdict()
        return _Response(404, {"detail": "not found"})

    def _handle(self, method: str, target: str, headers: Message, body: _Body) -> _Response:
        """Answer one request; never raises except :class:`_ClientGone` / OSError (no one to answer)."""
        if target.startswith("/"):
            path, _, query = target.partition("?")
        else:
            split = urlsplit(target)
            path, query = split.path, split.query
        routed = self._route(method, path.partition("#")[0])
        counted = True
        if isinstance(routed, _Response):
            response = routed
            # with a browser around, stray GETs (/favicon.ico, /robots.txt) are not ingest refusals
            counted = self._console is None or path.startswith("/api/")
        else:
            handler, params = routed
            counted = next((r.counted for r in self._routes if r.handler == handler), True)
            req = _Request(method, path, parse_qs(query.partition("#")[0]), headers, params, body)
            try:
                response = handler(req)
            except _HTTPError as exc:
                response = _Response(exc.status, {"detail": exc.detail}, close=exc.close)
            except StoreClosed:
                response = _Response(503, {"detail": "receiver is shutting down"}, close=True)
            except (_ClientGone, OSError):
                raise
            except Exception as exc:
                self._note(f"[receiver] internal error {type(exc).__name__} on {method} {_clean(path, 80)}", force=True)
                response = _Response(500, {"detail": "internal receiver error"})
        try:
            body.drain()
        except _HTTPError as exc:
            response = _Response(exc.status, {"detail": exc.detail}, close=True)
        if body.broken:
            response.close = True
        if response.status >= 400:
            detail = _clean(str(response.body.get("detail", "")), 160)
            self._note(f"[rejected] {response.status} {method} {_clean(path, 80)}: {detail}")
        if counted:
            try:
                self._store.bump({"requests": 1, "bytes_received": body.received, f"status_{response.status}": 1})
            except Exception:
                pass  # stats must never turn an answer into an error (store closing, disk full)
        return response

    # -- the console ---------------------------------------------------------------------------

    def _console_guard(self, page: Callable[[_Request], ConsoleResponse]) -> _RouteHandler:
        """Wrap a console handler: refuse what must not read, add the security headers."""

        def handler(req: _Request) -> _Response:
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
                result = page(req)
            body = result.body
            key = self._public_key.encode()
            if len(key) >= 8 and key in body:  # the console never hands out the key, whatever the data holds
                body = body.replace(key, b"[DSN key]")
            headers = [*_CONSOLE_HEADERS, *result.headers]
            if not any(name.lower() == "cache-control" for name, _ in result.headers):
                headers.append(("Cache-Control", "no-store"))
            return _Response(result.status, headers=headers, raw=body, content_type=result.content_type)

        return handler

    def _carries_key(self, req: _Request) -> bool:
        """Any attempt at Sentry auth, or the key itself anywhere in the query or the headers."""
        if _request_key(req) is not None or req.headers.get("X-Sentry-Auth") is not None:
            return True
        key = self._public_key
        if len(key) < 8:
            return False
        values = [v for vs in req.query.values() for v in vs] + [str(v) for v in req.headers.values()]
        return any(key in v for v in values)

    def _note(self, line: str, *, force: bool = False) -> None:
        """Diagnostics go to stderr: ids, statuses and paths only, never payloads or the key."""
        if self.verbose or force:
            with self._print_lock:
                try:
                    _write_line(sys.stderr, line)
                except (OSError, ValueError):
                    pass

    # -- handlers ----------------------------------------------------------------------------

    def _check_project(self, req: _Request) -> None:
        if int(req.params["project_id"]) != self.project_id:
            raise _HTTPError(403, "project not found or key incorrect")

    def _check_key(self, key: str) -> None:
        if not hmac.compare_digest(key.encode("utf-8", "backslashreplace"), self._public_key.encode()):
            raise _HTTPError(403, "project not found or key incorrect")

    def _check_dsn_header(self, envelope_headers: dict[str, Any]) -> None:
        dsn = envelope_headers.get("dsn")
        try:
            split = urlsplit(dsn) if isinstance(dsn, str) else None
            key = split.username if split is not None else None
            project = split.path.rstrip("/").rsplit("/", 1)[-1] if split is not None else ""
        except ValueError:
            key, project = None, ""
        if not key:
            raise _HTTPError(403, "no authentication: send X-Sentry-Auth, ?sentry_key= or an envelope 'dsn'")
        self._check_key(key)
        if project != str(self.project_id):
            raise _HTTPError(403, "project not found or key incorrect")

    def _handle_envelope(self, req: _Request) -> _Response:
        self._check_project(req)
        key = _request_key(req)
        if key is not None:
            self._check_key(key)
        raw = req.body.read(MAX_BODY_SIZE)
        try:
            data = _decode_body(req.headers.get("Content-Encoding"), raw)
            envelope_headers, items = parse_envelope(data)
        except (_HTTPError, EnvelopeError) as exc:
            if key is None:  # an anonymous client learns nothing beyond "authenticate"
                raise _HTTPError(403, "no authentication found") from None
            if isinstance(exc, _HTTPError):
                raise
            raise _HTTPError(400, f"malformed envelope: {exc}") from None
        if key is None:
            self._check_dsn_header(envelope_headers)
        event_like = [item for item in items if item.type in _EVENT_LIKE]
        if len(event_like) > 1:
            kinds = "/".join(sorted({item.type for item in event_like}))
            raise _HTTPError(413, f"envelope exceeded size limits for type '{kinds}': one event per envelope")
        for item in event_like:
            if len(item.payload) > MAX_EVENT_SIZE:
                raise _HTTPError(413, f"{item.type} item larger than {MAX_EVENT_SIZE} bytes")
        raw_id = envelope_headers.get("event_id")
        event_id = _event_id(raw_id)
        if raw_id is not None and event_id is None:
            raise _HTTPError(400, "envelope header 'event_id' is not a UUID")
        counters: dict[str, int] = {"envelopes_accepted": 1}
        for item in items:
            name = f"item_{_clean(item.type, 40)}"
            counters[name] = counters.get(name, 0) + 1
        events: list[dict[str, Any]] = []
        for item in items:
            if item.type != "event":
                continue
            if event_id is None:  # Relay would invent one; Bugsink refuses, and so do we
                raise _HTTPError(400, "event_id not found in envelope headers")
            payload = _event_payload(item.payload)
            events.append(self._prepare_event(payload, event_id, envelope_headers, "envelope", len(item.payload)))
        reports = _client_report_outcomes(items, counters)
        counters["events_stored"] = len(events)
        self._store.store(events, reports, counters)
        self._announce(events)
        return _Response(200, {"id": event_id} if events and event_id else {})

    def _handle_store(self, req: _Request) -> _Response:
        self._check_project(req)
        key = _request_key(req)
        if key is None:
            raise _HTTPError(403, "no authentication: send X-Sentry-Auth or ?sentry_key=")
        self._check_key(key)
        data = _decode_body(req.headers.get("Content-Encoding"), req.body.read(MAX_BODY_SIZE))
        if data.lstrip()[:1] not in (b"{", b""):  # pre-envelope SDKs sent base64(zlib(json))
            try:
                data = _inflate(base64.b64decode(data, validate=True), MAX_BODY_SIZE)
            except (binascii.Error, ValueError):
                raise _HTTPError(400, "store body is neither JSON nor base64+zlib JSON") from None
        if len(data) > MAX_EVENT_SIZE:
            raise _HTTPError(413, f"event larger than {MAX_EVENT_SIZE} bytes")
        payload = _event_payload(data)
        raw_id = payload.get("event_id")
        event_id = _event_id(raw_id)
        if raw_id is not None and event_id is None:
            raise _HTTPError(400, "'event_id' is not a UUID")
        event_id = event_id or uuid.uuid4().hex
        event = self._prepare_event(payload, event_id, {}, "store", len(data))
        self._store.store([event], [], {"events_stored": 1, "item_event": 1})
        self._announce([event])
        return _Response(200, {"id": event_id})

    def _prepare_event(
        self, payload: dict[str, Any], event_id: str, envelope_headers: dict[str, Any], endpoint: str, size: int
    ) -> dict[str, Any]:
        redactions = self._apply_scrub(payload)
        level, summary = _summarize(payload)
        try:
            payload_json, header_json = dumps(payload), dumps(envelope_headers)
        except (ValueError, TypeError, RecursionError):
            raise _HTTPError(400, "event payload cannot be stored (nested too deeply?)") from None
        return {
            "event_id": event_id,
            "received_at": _now(),
            "project_id": self.project_id,
            "endpoint": endpoint,
            "level": level,
            "summary": summary,
            "size": size,
            "envelope_header": header_json,
            "payload": payload_json,
            "server_redactions": None if redactions is None else dumps(redactions),
        }

    def _apply_scrub(self, payload: dict[str, Any]) -> dict[str, int] | None:
        if self._scrub is None:
            return None
        try:
            counts = self._scrub(payload)
        except Exception as exc:  # fail closed: an unscrubbed payload is never stored
            self._note(f"[receiver] scrub hook raised {type(exc).__name__}; event not stored", force=True)
            raise _HTTPError(500, "server-side scrubbing failed; event not stored") from None
        if not isinstance(counts, Mapping):
            return {}
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}

    def _announce(self, events: list[dict[str, Any]]) -> None:
        if not self.verbose:
            return
        for event in events:
            redactions = None if event["server_redactions"] is None else orjson.loads(event["server_redactions"])
            line = _format_event_line(event["event_id"], event["level"], event["summary"], redactions)
            with self._print_lock:
                try:
                    _write_line(self._stream or sys.stdout, line)
                except (OSError, ValueError):
                    pass  # a closed or broken stdout must not fail the request


def _event_payload(data: bytes) -> dict[str, Any]:
    try:
        payload = _json(data)
    except ValueError:
        raise _HTTPError(400, "event payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _HTTPError(400, "event payload is not a JSON object")
    return payload


def _inflate(data: bytes, limit: int) -> bytes:
    decoder = zlib.decompressobj()
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error:
        raise ValueError("invalid zlib data") from None
    if len(out) > limit:
        raise _HTTPError(413, f"decompressed body larger than {limit} bytes")
    if not decoder.eof:
        raise ValueError("truncated zlib data")
    return out


def _client_report_outcomes(items: list[EnvelopeItem], counters: dict[str, int]) -> list[tuple[str, str, int]]:
    """``(reason, category, quantity)`` from ``client_report`` items; bad reports are counted, not fatal."""
    out: list[tuple[str, str, int]] = []
    for item in items:
        if item.type != "client_report":
            continue
        try:
            report = _json(item.payload)
        except ValueError:
            report = None
        discarded = report.get("discarded_events") if isinstance(report, dict) else None
        if not isinstance(discarded, list):
            counters["client_reports_invalid"] = counters.get("client_reports_invalid", 0) + 1
            continue
        for entry in discarded:
            if not isinstance(entry, dict):
                continue
            reason, category, quantity = entry.get("reason"), entry.get("category"), entry.get("quantity")
            if (
                isinstance(reason, str)
                and isinstance(category, str)
                and isinstance(quantity, int)
                and not isinstance(quantity, bool)
                and 0 <= quantity < 2**31
            ):
                out.append((_clean(reason, 64), _clean(category, 64), quantity))
    return out


# -- HTTP plumbing ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = os.name != "nt"  # on Windows SO_REUSEADDR lets two servers share a port
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and timeouts are the client's business; request errors are answered in _handle


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDKs batch by reusing one connection
    server_version = "coderadar-receiver/1"
    default_request_version = "HTTP/1.0"  # even a garbled request line gets a status line, never HTTP/0.9
    timeout = _HANDLER_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are two writes; Nagle + delayed ACK would add 40 ms

    def _dispatch(self) -> None:
        receiver = cast(_Server, self.server).receiver
        body = _Body(cast(BinaryIO, self.rfile), self.headers)
        try:
            response = receiver._handle(self.command, self.path, self.headers, body)
        except (_ClientGone, OSError):
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
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The stdlib calls this for protocol-level faults (bad request line, 414, 431, 501): answer in
        # JSON like every other refusal, with the standard reason phrase rather than an echo of the input.
        reason = self.responses.get(code, ("error", ""))[0]
        payload = orjson.dumps({"detail": _clean(message or reason, 160)})
        self.close_connection = True
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the receiver reports through _note/_announce instead


# -- CLI helpers (wired into ``python -m sdk_core`` by __main__) --------------------------------


def _port_arg(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 2


def credential_scrub() -> ScrubHook:
    """The server-side second layer: provider-credential rules over every stored event, whatever
    the client did (scrubbing off, another SDK), so no provider key lands in the store."""
    import scrubbers

    return scrubbers.compile_rules(scrubbers.CREDENTIALS).scrub_in_place


def serve_main(argv: list[str] | None = None, *, stop_event: threading.Event | None = None) -> int:
    """``serve``: print ``DSN: <dsn>`` first, ``Console: <url>`` second, then one line per event,
    until SIGINT/SIGTERM; returns 0.

    ``stop_event`` lets a caller that is not the main thread (no signal handlers there) stop it.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sdk_core serve",
        description="Local development receiver: prints a DSN, stores received events in SQLite, "
        "and serves a web console for them on the same loopback port.",
    )
    parser.add_argument(
        "--port", type=_port_arg, default=None,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one if it is taken; 0 = any free port)",
    )  # fmt: skip
    parser.add_argument("--db", default=DEFAULT_DB_PATH, help=f"SQLite file (default ./{DEFAULT_DB_PATH})")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per event")
    parser.add_argument("--project-id", type=_positive_int, default=1, help="project id in the DSN (default 1)")
    parser.add_argument("--key", default=None, help="public key to use (default: the stored one, or a new one)")
    parser.add_argument("--no-console", action="store_true", help="ingest only: no web console at /")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    stop = stop_event or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():  # before the DSN line: a supervisor
        for sig in (signal.SIGINT, signal.SIGTERM):  # may signal as soon as it has read it
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        return _serve(args, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    err = sys.stderr
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        receiver = Receiver(
            args.db,
            port,
            args.key,
            args.project_id,
            scrub=credential_scrub(),
            verbose=not args.quiet,
            stream=sys.stdout,
            console=not args.no_console,
        )
    except (OSError, ValueError, sqlite3.Error) as exc:
        _write_line(err, f"error: cannot open {args.db}: {exc}")
        return 1
    try:
        try:
            receiver.start()
        except OSError as exc:
            if args.port is not None:
                _write_line(err, f"error: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
                return 1
            receiver._requested_port = 0
            receiver.start()
            _write_line(err, f"port {DEFAULT_PORT} is taken; using {receiver.port}")
        try:
            _write_line(sys.stdout, f"DSN: {receiver.dsn}")
            if receiver.console_url is not None:
                _write_line(sys.stdout, f"Console: {receiver.console_url}")
        except (OSError, ValueError):
            pass
        where = os.path.abspath(args.db)
        _write_line(err, f"coderadar receiver on 127.0.0.1:{receiver.port}, storing events in {where}; Ctrl-C to stop")
        while not stop.wait(0.25):
            pass
    finally:
        receiver.stop()
    return 0


def _format_row(row: Mapping[str, Any]) -> str:
    line = _format_event_line(str(row["event_id"]), str(row["level"]), str(row["summary"]), row["server_redactions"])
    return f"{row['received_at']} {line}"


def events_main(argv: list[str] | None = None) -> int:
    """``events``: print stored events, one per line (``--json`` for JSON lines); 1 when no database."""
    parser = argparse.ArgumentParser(prog="python -m sdk_core events", description="Print events the receiver stored.")
    parser.add_argument("--db", default=DEFAULT_DB_PATH, help=f"SQLite file (default ./{DEFAULT_DB_PATH})")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, full payloads")
    parser.add_argument("--last", type=_positive_int, default=None, metavar="N", help="only the last N events")
    parser.add_argument("--client-reports", action="store_true", help="also print aggregated client reports")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        rows = read_events(args.db, args.last)
        reports = read_client_reports(args.db) if args.client_reports else []
    except FileNotFoundError as exc:
        _write_line(sys.stderr, f"error: {exc} (start one with: python -m sdk_core serve --db {args.db})")
        return 1
    except (NotAReceiverDatabase, sqlite3.Error) as exc:
        _write_line(sys.stderr, f"error: {exc}")
        return 1
    try:
        for row in rows:
            _write_line(sys.stdout, dumps(row) if args.json else _format_row(row))
        for report in reports:
            text = f"[client_report] {report['reason']} {report['category']} x{report['quantity']}"
            _write_line(sys.stdout, dumps({"client_report": report}) if args.json else text)
    except BrokenPipeError:  # `events | head`
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    return 0
