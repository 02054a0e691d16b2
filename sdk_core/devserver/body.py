"""Ingest, part one: reading a request body (bounded, chunked or not) and decompressing it.

Everything here answers with :class:`HttpError` (status and detail for the client) or
:class:`ClientGone` (nobody left to answer); the server turns those into responses.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from email.message import Message
from typing import Any, BinaryIO

from sdk_core.devserver.summaries import one_line

try:  # optional, as on real servers: accept "br" only when we can decode it
    import brotli as _brotli_module  # type: ignore[import-not-found,import-untyped,unused-ignore]

    _brotli: Any = _brotli_module
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None

__all__ = ["DRAIN_LIMIT", "MAX_BODY_SIZE", "Body", "ClientGone", "HttpError", "decode_body", "inflate"]

MAX_BODY_SIZE = 20 * 1024 * 1024  # per request, before and after decompression
DRAIN_LIMIT = 100 * 1024 * 1024  # read and discard this much of a refused body so the 413 arrives
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class HttpError(Exception):
    """A refusal to answer with: ``status``, a JSON ``detail``, and whether to close the connection."""

    def __init__(self, status: int, detail: str, *, close: bool = False) -> None:
        super().__init__(detail)
        self.status, self.detail, self.close = status, detail, close


class ClientGone(Exception):
    """The client went away mid-request; there is nobody to answer."""


class Body:
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
            raise ClientGone()
        self.received += n
        return data

    def _chunks(self) -> Iterator[bytes]:
        while True:
            line = self._rfile.readline(1026)
            if not line:
                raise ClientGone()
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE_LINE.fullmatch(size_text):
                self.broken = True
                raise HttpError(400, "malformed chunked body", close=True)
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):
                    trailer = self._rfile.readline(65537)
                    if not trailer:
                        raise ClientGone()
                    if trailer in (b"\r\n", b"\n"):
                        return
                self.broken = True
                raise HttpError(400, "malformed chunked body", close=True)
            yield self._read_exact(size)
            if self._rfile.readline(3) not in (b"\r\n", b"\n"):
                self.broken = True
                raise HttpError(400, "malformed chunked body", close=True)

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
            raise HttpError(400, self.error, close=True)
        if self.done:
            raise RuntimeError("request body already consumed")
        self.done = True
        if not self._chunked and self._length > DRAIN_LIMIT:
            self.broken = True
            return b"", self._length
        parts: list[bytes] = []
        total = 0
        for piece in self._pieces():
            total += len(piece)
            if total <= keep:
                parts.append(piece)
            if total > DRAIN_LIMIT:
                self.broken = True
                break
        return (b"".join(parts) if total <= keep else b""), total

    def read(self, limit: int) -> bytes:
        """The whole body; 413 (after draining it, so the client hears the answer) when over ``limit``."""
        data, total = self._consume(limit)
        if total > limit:
            raise HttpError(413, f"request body larger than {limit} bytes", close=self.broken)
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
                raise HttpError(400, "invalid gzip body") from None
            total += len(chunk)
            if total > limit:
                raise HttpError(413, f"decompressed body larger than {limit} bytes")
            out.append(chunk)
            pending = decoder.unconsumed_tail
            if not pending:
                break
        if not decoder.eof:
            raise HttpError(400, "truncated gzip body")
        data = decoder.unused_data
        if not data.strip(b"\x00"):
            return b"".join(out)
        if not data.startswith(b"\x1f\x8b"):
            raise HttpError(400, "trailing bytes after the gzip body")


def _unbrotli(data: bytes, limit: int) -> bytes:
    decoder = _brotli.Decompressor()
    out: list[bytes] = []
    total = 0

    def take(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)
        if total > limit:
            raise HttpError(413, f"decompressed body larger than {limit} bytes")
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
    except HttpError:
        raise
    except Exception:  # brotli.error, or whatever an odd brotli build raises
        raise HttpError(400, "invalid br body") from None
    if not decoder.is_finished():
        raise HttpError(400, "truncated br body")
    return b"".join(out)


def decode_body(content_encoding: str | None, raw: bytes) -> bytes:
    """The body per ``Content-Encoding``: identity, gzip/x-gzip, or br when brotli is importable; else 400."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(raw, MAX_BODY_SIZE)
    if encoding == "br" and _brotli is not None:
        return _unbrotli(raw, MAX_BODY_SIZE)
    raise HttpError(400, f"unsupported Content-Encoding {one_line(encoding, 40)!r}")


def inflate(data: bytes, limit: int) -> bytes:
    """zlib-inflate a legacy ``/store/`` body, at most ``limit`` bytes (413 past it); ValueError when bad."""
    decoder = zlib.decompressobj()
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error:
        raise ValueError("invalid zlib data") from None
    if len(out) > limit:
        raise HttpError(413, f"decompressed body larger than {limit} bytes")
    if not decoder.eof:
        raise ValueError("truncated zlib data")
    return out
