"""The only wrapt user: wrap and unwrap with a ledger, so uninstall restores every original."""

from __future__ import annotations

import threading
from typing import Any, Callable

import wrapt

_lock = threading.Lock()
_ledger: dict[tuple[int, str], tuple[Any, str, Any]] = {}


def wrap(owner: Any, name: str, wrapper: Callable[..., Any]) -> bool:
    """Wrap ``owner.name`` with ``wrapper(wrapped, instance, args, kwargs)``; idempotent."""
    key = (id(owner), name)
    with _lock:
        if key in _ledger:
            return False
        original = owner.__dict__[name] if isinstance(owner, type) and name in owner.__dict__ else getattr(owner, name)
        _ledger[key] = (owner, name, original)
        wrapt.wrap_function_wrapper(owner, name, wrapper)
        return True


def unwrap(owner: Any, name: str) -> bool:
    with _lock:
        entry = _ledger.pop((id(owner), name), None)
    if entry is None:
        return False
    setattr(owner, name, entry[2])
    return True


def is_wrapped(owner: Any, name: str) -> bool:
    return (id(owner), name) in _ledger


def unwrap_all() -> None:
    with _lock:
        entries = list(_ledger.values())
        _ledger.clear()
    for owner, name, original in entries:
        setattr(owner, name, original)
