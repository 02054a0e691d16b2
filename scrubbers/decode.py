"""Encoded text, decoded for scanning: a hit in the decoded text is reported on the encoded span."""

from __future__ import annotations

import re
from typing import List, Tuple

__all__ = ["PCT_RE", "percent_decoded"]

PCT_RE = re.compile(r"%(?!00)[0-9A-Fa-f]{2}")


def percent_decoded(text: str) -> Tuple[str, List[int]] | None:
    """``text`` with each ``%XX`` turned into one character, and where each decoded one sits.

    One character per escape (bytes as Latin-1, not UTF-8) keeps the offset arithmetic simple:
    a position ``p`` in the decoded text is ``p + 2 * (escapes before p)`` in the original.
    ``%00`` stays encoded, so decoding never adds the separator of the joined scan.
    """
    pieces: list[str] = []
    escapes: list[int] = []
    last = 0
    size = 0
    for m in PCT_RE.finditer(text):
        s = m.start()
        pieces.append(text[last:s])
        size += s - last
        escapes.append(size)
        pieces.append(chr(int(text[s + 1 : s + 3], 16)))
        size += 1
        last = m.end()
    if not escapes:
        return None
    pieces.append(text[last:])
    return "".join(pieces), escapes
