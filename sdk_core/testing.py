"""Helpers for users' own tests: a ``capture_events`` pytest fixture and ``assert_no_secrets``.

Registered as a pytest plugin (entry point ``pytest11``), so the fixture is available wherever
the package is installed.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

import orjson

from .transport.envelope import Envelope
from .transport.memory import InMemoryTransport


class _CollectingTransport(InMemoryTransport):
    """Appends each event, parsed back from its wire bytes, to a list the test holds."""

    def __init__(self, sink: list[dict[str, Any]]) -> None:
        super().__init__()
        self._sink = sink

    def send(self, envelope: Envelope) -> None:
        super().send(envelope)
        for item in envelope.items:
            if item.type == "event":
                self._sink.append(orjson.loads(item.payload))


@contextlib.contextmanager
def capture_events(**options: Any) -> Iterator[list[dict[str, Any]]]:
    """Initialise the SDK with an in-memory transport for the block and yield the sent events.

    Events are in the list once ``sdk_core.flush()`` returns (and at the end of the block).
    """
    from . import _api

    events: list[dict[str, Any]] = []
    previous = _api._client
    _api._client = None
    _api.init(transport=_CollectingTransport(events), **options)
    try:
        yield events
        _api.flush(5.0)
    finally:
        _api.close(1.0)
        _api._client = previous


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            child = f"{path}.{k}" if path else str(k)
            yield child + "<key>", str(k)
            yield from _walk(v, child)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}.{i}" if path else str(i))
    elif value is not None and not isinstance(value, bool):
        yield path, str(value)


def assert_no_secrets(events: Iterable[dict[str, Any]], values: Iterable[str], min_fragment: int = 8) -> None:
    """Fail naming the path (``exception.values.0.value``) of any secret found whole or in part.

    A part is any ``min_fragment``-character piece of the secret (the whole secret if shorter).
    """
    secrets = [v for v in values if v]
    for index, event in enumerate(events):
        for path, text in _walk(event, ""):
            if path.startswith("_meta"):
                continue
            for secret in secrets:
                size = min(min_fragment, len(secret))
                for start in range(len(secret) - size + 1):
                    piece = secret[start : start + size]
                    if piece in text:
                        where = path[: -len("<key>")] + " (a key)" if path.endswith("<key>") else path
                        raise AssertionError(
                            f"event {index}: secret fragment {piece[:2]}… of a {len(secret)}-character "
                            f"value leaked at {where}"
                        )


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional at runtime
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(name="capture_events")
    def _capture_events_fixture() -> Iterator[list[dict[str, Any]]]:
        """The SDK, initialised for this test with an in-memory transport; the sent events."""
        with capture_events() as events:
            yield events
