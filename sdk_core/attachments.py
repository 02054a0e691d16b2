"""Attachments: files sent as ``attachment`` items in the envelope of the event they belong to.

Off unless the application adds one (``sdk_core.add_attachment`` on the scope, or
``attachments=[...]`` on a ``capture_*`` call): a file cannot be scrubbed in general, so the SDK
never attaches anything by itself. Text attachments (``text/*``, JSON, XML) are decoded as UTF-8
and scrubbed by the same engine and rules as events (JSON by key and value, as structured data);
binary attachments are sent as they are.

Limits: ``MAX_ATTACHMENT_SIZE`` per attachment and ``MAX_ENVELOPE_ATTACHMENTS`` for all the
attachments of one event (before compression). What does not fit is left out, logged on the
``sdk_core`` logger and counted as ``send_error`` in category ``attachment`` (in bytes, as the
protocol counts attachments); the event itself is always sent.
"""

from __future__ import annotations

import builtins
import json
import mimetypes
import os
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ._internal_errors import log_internal_error, logger
from .scope import scopes
from .transport.envelope import Envelope, Item
from .types import DropReason, Hint

if TYPE_CHECKING:
    from .pipeline import Scrub

MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024
"""Bytes: a bigger attachment is left out (counted), the event is still sent."""
MAX_ENVELOPE_ATTACHMENTS = 20 * 1024 * 1024
"""Bytes: all attachments of one event together; later ones that do not fit are left out (counted)."""
CATEGORY = "attachment"
_TEXT_TYPES = ("application/json", "application/xml", "application/x-ndjson", "application/yaml")


class Attachment:
    """A file to send with events: ``bytes=`` (taken as they are now) or ``path=`` (read when sent).

    ``filename`` defaults to the path's base name; ``content_type`` is guessed from the file name.
    """

    __slots__ = ("content_type", "filename", "path", "payload")

    def __init__(
        self,
        bytes: bytes | str | None = None,
        filename: str | None = None,
        path: str | None = None,
        content_type: str | None = None,
    ) -> None:
        if (bytes is None) == (path is None):
            raise TypeError("Attachment: give exactly one of bytes= or path=")
        if isinstance(bytes, str):
            bytes = bytes.encode("utf-8")
            content_type = content_type or "text/plain"  # given as text: scrubbed as text
        if bytes is not None and not isinstance(bytes, (builtins.bytes, bytearray, memoryview)):
            raise TypeError(f"Attachment: bytes= must be bytes or str, got {type(bytes).__name__}")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"Attachment: path= must be a path, got {type(path).__name__}")
        name = filename if filename is not None else (os.path.basename(os.fspath(path)) if path is not None else None)
        if not isinstance(name, str) or not name:
            raise TypeError("Attachment: filename= is required with bytes=")
        self.payload = builtins.bytes(bytes) if bytes is not None else None
        self.path = os.fspath(path) if path is not None else None
        self.filename = name
        self.content_type = content_type or _guess_type(name)

    def read(self) -> builtins.bytes:
        """The content (a ``path=`` attachment is read now, on the worker)."""
        if self.payload is not None:
            return self.payload
        assert self.path is not None
        with open(self.path, "rb") as f:
            return f.read(MAX_ATTACHMENT_SIZE + 1)

    def is_text(self) -> bool:
        """Text is scrubbed; anything else is sent as it is."""
        ct = self.content_type.split(";", 1)[0].strip().lower()
        return ct.startswith("text/") or ct in _TEXT_TYPES or ct.endswith("+json") or ct.endswith("+xml")

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r})"


_TEXT_SUFFIXES = (".log", ".txt", ".out", ".err", ".cfg", ".conf", ".ini", ".toml", ".yaml", ".yml", ".env", ".md")


def _guess_type(name: str) -> str:
    """From the file name; log and config files count as text (scrubbed) whatever ``mimetypes`` says."""
    if name.lower().endswith(_TEXT_SUFFIXES):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def as_attachments(value: Any) -> list[Attachment]:
    """``attachments=`` of a capture call: ``Attachment`` objects (anything else is a TypeError)."""
    if value is None:
        return []
    if isinstance(value, Attachment):
        return [value]
    items = list(value)
    for item in items:
        if not isinstance(item, Attachment):
            raise TypeError(f"attachments: expected sdk_core.Attachment objects, got {type(item).__name__}")
    return items


def add_attachment(
    bytes: bytes | str | None = None,
    filename: str | None = None,
    path: str | None = None,
    content_type: str | None = None,
) -> None:
    """Attach a file to every event captured from now on in the current isolation scope (a request, a
    task). Raises ``TypeError`` for bad arguments, like sentry-sdk."""
    from .scope import get_isolation_scope

    get_isolation_scope().add_attachment(Attachment(bytes, filename, path, content_type))


def collect(hint: Hint) -> list[Attachment] | None:
    """The attachments of one capture: the scopes' (global, isolation, current), then the call's own."""
    found: list[Attachment] = []
    for layer in scopes():
        if layer is not None and layer.attachments:
            found.extend(layer.attachments)
    own = hint.get("attachments")
    if own:
        found.extend(own)
    return found or None


class AttachmentItems:
    """Worker side: read, scrub (text) and size-check the attachments of one event."""

    def __init__(self, scrub: Scrub | None, count_drop: Callable[[str, str, int], None]) -> None:
        self._scrub = scrub
        self._count_drop = count_drop

    def add_to(self, envelope: Envelope, attachments: Sequence[Attachment]) -> None:
        """Append an ``attachment`` item per attachment that can be read and fits the limits."""
        total = 0
        for attachment in attachments:
            try:
                data = attachment.read()
            except Exception as exc:
                log_internal_error(f"attachment {attachment.filename!r}", exc)
                self._count_drop(DropReason.INTERNAL_SDK_ERROR.value, CATEGORY, 1)
                continue
            if len(data) > MAX_ATTACHMENT_SIZE or total + len(data) > MAX_ENVELOPE_ATTACHMENTS:
                logger.warning(
                    "attachment %r left out: %d bytes is over the limit (%d per attachment, %d per event)",
                    attachment.filename,
                    len(data),
                    MAX_ATTACHMENT_SIZE,
                    MAX_ENVELOPE_ATTACHMENTS,
                )
                self._count_drop(DropReason.SEND_ERROR.value, CATEGORY, len(data))
                continue
            if attachment.is_text():
                try:
                    data = self._scrubbed(data, attachment)
                except Exception as exc:  # never send a text attachment unscrubbed
                    log_internal_error(f"scrub attachment {attachment.filename!r}", exc)
                    self._count_drop(DropReason.INTERNAL_SDK_ERROR.value, CATEGORY, len(data))
                    continue
            total += len(data)
            headers = {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "attachment_type": "event.attachment",
            }
            envelope.items.append(Item("attachment", data, headers))

    def _scrubbed(self, data: bytes, attachment: Attachment) -> bytes:
        if self._scrub is None:
            return data
        text = data.decode("utf-8", "replace")
        if "json" in attachment.content_type:
            try:
                document = json.loads(text)
            except ValueError:
                document = None
            else:
                holder = {"extra": {"attachment": document}}
                self._scrub(holder)
                return json.dumps(holder["extra"]["attachment"], ensure_ascii=False).encode("utf-8")
        holder = {"extra": {"attachment": text}}
        self._scrub(holder)
        return str(holder["extra"]["attachment"]).encode("utf-8")
