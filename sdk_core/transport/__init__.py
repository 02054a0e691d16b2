"""Delivery: envelopes, the background worker and the transports behind the ``Transport`` seam."""

from ..types import Transport
from .envelope import Envelope, Item
from .memory import InMemoryTransport

__all__ = ["Envelope", "InMemoryTransport", "Item", "Transport"]
