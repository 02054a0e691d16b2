"""One line per event: the headline and location both the receiver's output and the console show.

:func:`summarize` is the one place that decides what an event is "about": the last exception in
the chain (the one raised), else the log message, else the transaction; and where it happened:
the crashing in-app frame of that exception, else of the event's own stack trace, else of the
first thread with frames. :func:`one_line` makes any application string safe for a terminal
or a table cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Summary", "format_event_line", "one_line", "summarize", "write_line"]

# C0/C1 controls, zero-width and bidi characters: a summary must not drive a terminal or reorder text.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def one_line(value: object, limit: int = 200) -> str:
    """``value`` (when a string) on one line: controls become spaces, runs of space collapse, lone
    surrogates are escaped, and text over ``limit`` characters ends in an ellipsis."""
    text = value if isinstance(value, str) else ""
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _values(container: Any) -> list[dict[str, Any]]:
    """``{"values": [...]}`` or a bare list (both occur in the wild); dicts only."""
    values = container.get("values") if isinstance(container, dict) else container
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def _basename(path: str) -> str:
    """The file name of a POSIX or a Windows path (events arrive from either)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _location(frames: list[dict[str, Any]]) -> str:
    if not frames:
        return ""
    frame = ([f for f in frames if f.get("in_app") is True] or frames)[-1]  # crashing frame last
    name = _str(frame.get("filename")) or _basename(_str(frame.get("abs_path"))) or _str(frame.get("module"))
    lineno = frame.get("lineno")
    if name and isinstance(lineno, int) and not isinstance(lineno, bool):
        return f"{name}:{lineno}"
    return name


@dataclass(frozen=True)
class Summary:
    """What an event is about, as raw (uncleaned) strings; each display cleans and cuts its own way.

    ``type`` is empty for a message event; ``value`` then holds the message (or the transaction,
    or ``<no message>``). ``location`` is ``file:line`` of the crashing frame, or empty.
    """

    level: str
    type: str
    value: str
    location: str

    @property
    def headline(self) -> str:
        """``Type: value``, or whichever of the two there is."""
        if self.type and self.value:
            return f"{self.type}: {self.value}"
        return self.type or self.value

    def line(self) -> str:
        """The one-line form the receiver prints and stores: ``ValueError: x (demo.py:12)``."""
        headline = one_line(self.headline)
        return f"{headline} ({one_line(self.location, 120)})" if self.location else headline


def summarize(payload: Mapping[str, Any]) -> Summary:
    """The :class:`Summary` of an event payload; never raises, whatever shape the payload has."""
    level = one_line(payload.get("level"), 16) or "error"
    exceptions = _values(payload.get("exception"))
    etype = evalue = ""
    frames: list[dict[str, Any]] = []
    if exceptions:
        etype, evalue = _str(exceptions[-1].get("type")), _str(exceptions[-1].get("value"))
        frames = _frames(exceptions[-1].get("stacktrace"))
    if not (etype or evalue):
        for candidate in (payload.get("logentry"), payload.get("message")):
            if isinstance(candidate, dict):
                evalue = _str(candidate.get("formatted")) or _str(candidate.get("message"))
            else:
                evalue = _str(candidate)
            if evalue:
                break
        evalue = evalue or _str(payload.get("transaction")) or "<no message>"
    frames = frames or _frames(payload.get("stacktrace"))
    for thread in _values(payload.get("threads")):
        if frames:
            break
        frames = _frames(thread.get("stacktrace"))
    return Summary(level, etype, evalue, _location(frames))


def format_event_line(event_id: str, level: str, summary: str, redactions: Mapping[str, int] | None) -> str:
    """``[event] 9f2b3c4d… error ValueError: x (demo.py:12)``, plus the server-side redaction count."""
    line = f"[event] {event_id[:8]}\u2026 {level} {summary}"
    redacted = sum(redactions.values()) if redactions else 0
    return f"{line} [server redacted {redacted}]" if redacted else line


def write_line(stream: TextIO, line: str) -> None:
    """Write and flush one line; a terminal that cannot encode it gets backslash escapes instead."""
    try:
        stream.write(line + "\n")
    except UnicodeEncodeError:
        stream.write(line.encode("ascii", "backslashreplace").decode("ascii") + "\n")
    stream.flush()
