"""A minimal loopback ingest endpoint for the benchmarks, and a load generator to measure its ceiling.

Run in a process of its own so that it never competes with the SDK under test for the GIL::

    python -m benchmarks._receiver serve [--port 0]      # prints "PORT <n>", runs until killed
    python -m benchmarks._receiver ceiling [--seconds 2]  # starts a receiver, floods it, prints JSON

The server speaks just enough HTTP/1.1: keep-alive, ``Content-Length`` (and chunked) bodies, gzip
request bodies. For every envelope it answers ``200 {}`` and counts envelopes that carry an
``event`` item. ``GET /stats`` returns the counters as JSON, ``POST /reset`` zeroes them.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from typing import Any, Optional

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_OK_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
_MAX_BODY = 50 * 1024 * 1024

try:
    import orjson

    _loads: Any = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency of the SDK
    _loads = json.loads


class Counters:
    __slots__ = ("bytes", "envelopes", "errors", "events", "first", "last", "requests")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.envelopes = 0
        self.events = 0
        self.errors = 0
        self.bytes = 0
        self.first = 0.0
        self.last = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "envelopes": self.envelopes,
            "events": self.events,
            "errors": self.errors,
            "bytes": self.bytes,
            "first": self.first,
            "last": self.last,
            "now": time.time(),
        }


def count_event_items(envelope: bytes) -> int:
    """Number of ``event`` items in one envelope (0 for client reports, sessions, ...)."""
    _header, _sep, rest = envelope.partition(b"\n")
    pos = 0
    n = len(rest)
    events = 0
    while pos < n:
        end = rest.find(b"\n", pos)
        if end == -1:
            end = n
        line = rest[pos:end]
        pos = end + 1
        if not line.strip():
            continue
        headers = _loads(line)
        if headers.get("type") == "event":
            events += 1
        length = headers.get("length")
        if isinstance(length, int):
            pos += length + 1
        else:
            end = rest.find(b"\n", pos)
            pos = n + 1 if end == -1 else end + 1
    return events


class _Http(asyncio.Protocol):
    """One connection: a tiny incremental HTTP/1.1 request parser."""

    def __init__(self, counters: Counters, dump: Optional[str] = None) -> None:
        self.counters = counters
        self.dump = dump
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and self._one():
            pass

    def _one(self) -> bool:
        buf = self.buf
        head_end = buf.find(b"\r\n\r\n")
        if head_end == -1:
            return False
        head = bytes(buf[:head_end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            self._reply(_BAD, close=True)
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = head_end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parsed = _dechunk(buf, start)
            if parsed is None:
                return False
            body, end = parsed
        else:
            length = int(headers.get("content-length") or 0)
            if length > _MAX_BODY:
                self._reply(_BAD, close=True)
                return False
            if len(buf) < start + length:
                return False
            body = bytes(buf[start : start + length])
            end = start + length
        del buf[:end]
        close = headers.get("connection", "").lower() == "close"
        self._handle(method, target, headers, body, close)
        return True

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes, close: bool) -> None:
        c = self.counters
        if method == "GET" and target.startswith("/stats"):
            payload = json.dumps(c.as_dict()).encode()
            self._reply(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload),
                close,
            )
            return
        if method == "POST" and target.startswith("/reset"):
            c.reset()
            self._reply(_OK_CLOSE if close else _OK, close)
            return
        c.requests += 1
        c.bytes += len(body)
        try:
            if headers.get("content-encoding", "").lower() == "gzip":
                body = zlib.decompress(body, 47)
            events = count_event_items(body)
        except Exception:
            c.errors += 1
            self._reply(_OK_CLOSE if close else _OK, close)
            return
        c.envelopes += 1
        if self.dump and events and c.events < 3:
            with open(os.path.join(self.dump, f"envelope-{c.events}.txt"), "wb") as fh:
                fh.write(body)
        if events:
            now = time.time()
            if not c.events:
                c.first = now
            c.last = now
            c.events += events
        self._reply(_OK_CLOSE if close else _OK, close)

    def _reply(self, data: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        transport.write(data)
        if close:
            transport.close()
            self.transport = None

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.transport = None


def _dechunk(buf: bytearray, pos: int) -> Optional[tuple[bytes, int]]:
    out = bytearray()
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end == -1:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            if trailer_end == -1:
                return None
            return bytes(out), trailer_end + 2
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


async def _serve(port: int, ready: Any, dump: Optional[str] = None, stdin_stop: bool = False) -> None:
    counters = Counters()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(counters, dump), "127.0.0.1", port, backlog=512, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    ready(bound)
    stop = asyncio.Event()

    def wait_stdin() -> None:
        try:
            sys.stdin.read()
        except Exception:
            pass
        loop.call_soon_threadsafe(stop.set)

    if stdin_stop:
        threading.Thread(target=wait_stdin, daemon=True).start()
    async with server:
        await stop.wait()


def serve(port: int = 0, dump: Optional[str] = None, stdin_stop: bool = False) -> None:
    def ready(bound: int) -> None:
        sys.stdout.write(f"PORT {bound}\n")
        sys.stdout.flush()

    asyncio.run(_serve(port, ready, dump, stdin_stop))


# -- client side (used by the runner and the scenarios) -----------------------------------------


class Receiver:
    """A receiver subprocess; ``with Receiver() as r: r.dsn, r.stats(), r.reset()``."""

    def __init__(self, dump: Optional[str] = None) -> None:
        self.proc: Optional[subprocess.Popen[str]] = None
        self.port = 0
        self.dump = dump

    def start(self) -> Receiver:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks._receiver",
                "serve",
                "--stdin-stop",
                *(["--dump", self.dump] if self.dump else []),
            ],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    @property
    def dsn(self) -> str:
        return dsn_for(self.port)

    def stats(self) -> dict[str, Any]:
        return control(self.port, "GET", "/stats")

    def reset(self) -> None:
        control(self.port, "POST", "/reset")

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(5)
        except Exception:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dsn_for(port: int) -> str:
    return f"http://bench@127.0.0.1:{port}/1"


def control(port: int, method: str, path: str) -> dict[str, Any]:
    """One request on a fresh connection (keeps the SDK's keep-alive connection out of it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    _head, _sep, body = data.partition(b"\r\n\r\n")
    result: dict[str, Any] = json.loads(body or b"{}")
    return result


def wait_for_events(port: int, expected: int, timeout: float) -> dict[str, Any]:
    """Poll ``/stats`` until ``expected`` events arrived or ``timeout`` ran out; return the stats."""
    deadline = time.monotonic() + timeout
    stats = control(port, "GET", "/stats")
    while stats["events"] < expected and time.monotonic() < deadline:
        time.sleep(0.005)
        stats = control(port, "GET", "/stats")
    return stats


# -- ceiling ------------------------------------------------------------------------------------


def sample_envelope() -> bytes:
    """A gzip'ed envelope shaped and sized like the benchmark event (about 15 KB raw, 3-4 KB gzip)."""
    import random

    rng = random.Random(8)

    def word(n: int) -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 _-/") for _ in range(n))

    frames = [
        {
            "filename": f"app/{word(8)}.py",
            "abs_path": f"/srv/app/{word(8)}.py",
            "function": word(10),
            "module": f"app.{word(8)}",
            "lineno": rng.randint(10, 400),
            "pre_context": [word(40) for _ in range(5)],
            "context_line": word(50),
            "post_context": [word(40) for _ in range(5)],
            "in_app": True,
            "vars": {word(8): word(60) for _ in range(6)},
        }
        for _ in range(5)
    ]
    event = {
        "event_id": f"{rng.getrandbits(128):032x}",
        "level": "error",
        "platform": "python",
        "exception": {"values": [{"type": "PaymentError", "value": word(80), "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {
            "values": [
                {"category": "httpx", "message": "GET " + word(40), "data": {"url": word(40), "status_code": 200}}
                for _ in range(30)
            ]
        },
        "request": {
            "method": "POST",
            "url": "https://shop.example.com/" + word(30),
            "headers": {word(10): word(40) for _ in range(9)},
        },
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.7", "build": word(120)}},
    }
    payload = json.dumps(event).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    header = json.dumps({"event_id": event["event_id"]}).encode()
    return gzip.compress(header + b"\n" + item + b"\n" + payload + b"\n", 1)


def _flood(port: int, seconds: float, body: bytes) -> int:
    request = (
        b"POST /api/1/envelope/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-sentry-envelope\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            sock.sendall(request)
            got = b""
            while not got.endswith(b"{}"):
                chunk = sock.recv(4096)
                if not chunk:
                    return sent
                got += chunk
            sent += 1
    finally:
        sock.close()
    return sent


def ceiling(seconds: float = 2.0) -> dict[str, Any]:
    """Envelopes/s the receiver accepts from a client far cheaper than an SDK (raw sockets)."""
    body = sample_envelope()
    with Receiver() as receiver:
        _flood(receiver.port, 0.2, body)  # warm-up
        receiver.reset()
        started = time.perf_counter()
        _flood(receiver.port, seconds, body)
        elapsed = time.perf_counter() - started
        stats = receiver.stats()
    return {
        "events_per_s": stats["events"] / elapsed,
        "events": stats["events"],
        "seconds": elapsed,
        "body_bytes": len(body),
        "errors": stats["errors"],
    }


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._receiver")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--port", type=int, default=0)
    p_serve.add_argument("--stdin-stop", action="store_true", help="stop when stdin is closed")
    p_serve.add_argument("--dump", help="write the first 3 event envelopes (decompressed) into this folder")
    p_ceiling = sub.add_parser("ceiling")
    p_ceiling.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        serve(args.port, args.dump, args.stdin_stop)
    else:
        print(json.dumps(ceiling(args.seconds)))


if __name__ == "__main__":
    main()
