"""A dependency-free PNG bar chart of the ratios (zlib + struct, a built-in 5x7 pixel font).

One horizontal bar per metric on a log scale, drawn from the 1.0 reference line to the ratio
(ours / sentry-sdk): green where the target is met, red where it is missed, grey where a metric
has no target. A black tick marks each target.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Optional, Sequence

RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
GRID: RGB = (215, 215, 215)
TEXT: RGB = (40, 40, 40)
GREEN: RGB = (46, 160, 67)
RED: RGB = (207, 34, 46)
GREY: RGB = (150, 150, 150)

# 5x7 glyphs, one int per row, bit 4 is the leftmost pixel.
_FONT: dict[str, tuple[int, ...]] = {
    "A": (0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
    "B": (0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
    "C": (0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E),
    "D": (0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C),
    "E": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F),
    "F": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
    "G": (0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F),
    "H": (0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
    "I": (0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "J": (0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
    "K": (0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11),
    "L": (0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
    "M": (0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11),
    "N": (0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
    "O": (0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
    "P": (0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
    "Q": (0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D),
    "R": (0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
    "S": (0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E),
    "T": (0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
    "U": (0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
    "V": (0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
    "W": (0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A),
    "X": (0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
    "Y": (0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04),
    "Z": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
    "0": (0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E),
    "1": (0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "2": (0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F),
    "3": (0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
    "4": (0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02),
    "5": (0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
    "6": (0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E),
    "7": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
    "8": (0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E),
    "9": (0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
    " ": (0, 0, 0, 0, 0, 0, 0),
    ".": (0, 0, 0, 0, 0, 0x0C, 0x0C),
    ",": (0, 0, 0, 0, 0x0C, 0x04, 0x08),
    "-": (0, 0, 0, 0x1F, 0, 0, 0),
    "_": (0, 0, 0, 0, 0, 0, 0x1F),
    "/": (0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10),
    "(": (0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02),
    ")": (0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
    ":": (0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0),
    "%": (0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
    "=": (0, 0, 0x1F, 0, 0x1F, 0, 0),
    "<": (0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02),
    ">": (0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08),
    "+": (0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0),
    "|": (0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
}


class Canvas:
    def __init__(self, width: int, height: int, background: RGB = WHITE) -> None:
        self.width = width
        self.height = height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        span = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][x0 * 3 : x1 * 3] = span

    def text(self, x: int, y: int, text: str, color: RGB = TEXT, scale: int = 2) -> int:
        """Draw ``text`` (upper-cased) with its top-left corner at (x, y); return the x after it."""
        for ch in text.upper():
            glyph = _FONT.get(ch, _FONT[" "])
            for row, bits in enumerate(glyph):
                for col in range(5):
                    if bits & (0x10 >> col):
                        self.rect(x + col * scale, y + row * scale, x + (col + 1) * scale, y + (row + 1) * scale, color)
            x += 6 * scale
        return x

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        )


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 6 * scale


class Bar:
    def __init__(
        self, label: str, ratio: Optional[float], target: Optional[float], met: Optional[bool], note: str = ""
    ) -> None:
        self.label = label
        self.ratio = ratio
        self.target = target
        self.met = met
        self.note = note


def _fmt(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:.0f}"
    if ratio >= 10:
        return f"{ratio:.1f}"
    if ratio >= 0.01:
        return f"{ratio:.2f}"
    return f"{ratio:.4f}"


def bar_chart(bars: Sequence[Bar], title: str) -> bytes:
    """Render the ratio chart and return the PNG bytes."""
    values = [b.ratio for b in bars if b.ratio is not None and b.ratio > 0]
    values += [b.target for b in bars if b.target]
    values.append(1.0)
    lo = math.floor(math.log10(max(1e-4, min(values))))
    hi = math.ceil(math.log10(min(1e4, max(values) * 1.25)))
    if hi - lo < 2:
        lo, hi = lo - 1, hi + 1
    label_w = max([text_width(b.label) for b in bars] + [200]) + 24
    plot_w = 560
    value_w = 190
    row_h = 30
    top = 64
    bottom = 64
    width = label_w + plot_w + value_w
    height = top + row_h * len(bars) + bottom
    c = Canvas(width, height)
    c.text(16, 14, title, BLACK)
    legend_y = 40
    x = 16
    c.rect(x, legend_y, x + 14, legend_y + 14, GREEN)
    x = c.text(x + 20, legend_y, "TARGET MET", TEXT) + 18
    c.rect(x, legend_y, x + 14, legend_y + 14, RED)
    x = c.text(x + 20, legend_y, "MISSED", TEXT) + 18
    c.rect(x, legend_y, x + 14, legend_y + 14, GREY)
    x = c.text(x + 20, legend_y, "NO TARGET", TEXT) + 18
    c.rect(x + 6, legend_y - 2, x + 9, legend_y + 16, BLACK)
    c.text(x + 16, legend_y, "TARGET", TEXT)

    def xpos(value: float) -> int:
        v = min(max(value, 10.0**lo), 10.0**hi)
        return label_w + round((math.log10(v) - lo) / (hi - lo) * plot_w)

    plot_top, plot_bottom = top, top + row_h * len(bars)
    for exp in range(lo, hi + 1):
        gx = xpos(10.0**exp)
        c.rect(gx, plot_top, gx + 1, plot_bottom, GRID)
        label = f"{10.0**exp:g}" if exp < 0 else f"{10**exp:d}"
        c.text(gx - text_width(label) // 2, plot_bottom + 8, label, TEXT)
    axis = "RATIO OURS / SENTRY-SDK (LOG SCALE)"
    c.text(label_w + plot_w // 2 - text_width(axis) // 2, plot_bottom + 32, axis, TEXT)
    one = xpos(1.0)
    for i, b in enumerate(bars):
        y = top + i * row_h
        c.text(label_w - 12 - text_width(b.label), y + 8, b.label, TEXT)
        if b.ratio is None or b.ratio <= 0:
            c.text(label_w + plot_w + 10, y + 8, b.note or "N/A", GREY)
            continue
        color = GREY if b.met is None else (GREEN if b.met else RED)
        end = xpos(b.ratio)
        c.rect(min(one, end), y + 6, max(one, end) + (1 if end >= one else 0), y + row_h - 6, color)
        if b.target:
            tx = xpos(b.target)
            c.rect(tx - 1, y + 2, tx + 2, y + row_h - 2, BLACK)
        c.text(label_w + plot_w + 10, y + 8, _fmt(b.ratio) + ("" if not b.note else " " + b.note), TEXT)
    c.rect(one - 1, plot_top - 4, one + 2, plot_bottom + 4, BLACK)
    return c.png()
