"""Where a value sits in the event, as the walk knows it: a linked chain, turned into a path only when needed."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeAlias

__all__ = ["Chain", "path_of"]

Chain: TypeAlias = "tuple[Any, Any] | None"
"""``(parent chain, key)``, or ``None`` for the event root: one small tuple per container, shared
by everything inside it, instead of a path tuple per value."""


def path_of(chain: Chain, key: object = None, with_key: bool = False) -> tuple[Any, ...]:
    """Materialise a chain (plus ``key``) into a path tuple from the event root."""
    out: list[Any] = [key] if with_key else []
    while chain is not None:
        chain, k = chain
        out.append(k)
    out.reverse()
    return tuple(out)
