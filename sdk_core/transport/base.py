"""Lifecycle defaults for the ``Transport`` seam, and the adapter for three-method user transports."""

from __future__ import annotations

from ..types import BasicTransport, DropReason, Transport
from .envelope import Envelope


class BaseTransport:
    """No-op lifecycle hooks: subclass it and write ``send``/``flush``/``close``.

    A transport with nothing to retry, replay or reset (in memory, a test double) needs no more.
    """

    def send(self, envelope: Envelope) -> None:
        """Deliver one envelope (subclasses override)."""
        raise NotImplementedError

    def flush(self, timeout: float) -> bool:
        """Nothing is kept: always done."""
        return True

    def close(self, timeout: float) -> None:
        """Nothing to release."""

    def tick(self) -> float | None:
        """No idle work: the worker need not wake up for this transport."""
        return None

    def reset_after_fork(self) -> None:
        """No sockets or claims to forget."""

    def begin_close(self) -> None:
        """Nothing to stop early."""

    def shedding(self, queued: int = 0) -> DropReason | None:
        """Never drops by itself."""
        return None


class _Adapted(BaseTransport):
    """A user's send/flush/close object behind the full seam."""

    def __init__(self, inner: BasicTransport) -> None:
        self.inner = inner

    def send(self, envelope: Envelope) -> None:
        self.inner.send(envelope)

    def flush(self, timeout: float) -> bool:
        return bool(self.inner.flush(timeout))

    def close(self, timeout: float) -> None:
        self.inner.close(timeout)


def as_transport(transport: BasicTransport) -> Transport:
    """The object itself if it has the lifecycle hooks, else it wrapped with no-op ones."""
    if isinstance(transport, Transport):
        return transport
    return _Adapted(transport)
