"""Delivery: envelopes, the background worker and the transports behind the ``Transport`` seam."""

from ..types import BasicTransport, Transport
from .base import BaseTransport, as_transport
from .envelope import Envelope, Item
from .memory import InMemoryTransport

__all__ = ["BaseTransport", "BasicTransport", "Envelope", "InMemoryTransport", "Item", "Transport", "as_transport"]
