"""Body compression. gzip at level 1: on event-sized JSON it keeps most of level 9's saving at a
fraction of the CPU (see benchmarks). Never deflate: servers disagree on what it means."""

from __future__ import annotations

import zlib

GZIP_LEVEL = 1


def gzip_bytes(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """Gzip at level 1: most of the size win for a fraction of the CPU of higher levels."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()
