"""The seam for the optional disk spool: the HTTP transport writes an envelope before retrying it."""

from __future__ import annotations

from typing_extensions import Protocol

from .envelope import Envelope


class Spool(Protocol):
    def write(self, envelope: Envelope) -> str | None: ...

    def remove(self, key: str) -> None: ...
