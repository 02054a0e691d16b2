"""The only wrapt user: wrap and unwrap with a ledger, so uninstall restores every original.

Patches compose with other libraries' patches of the same attribute (sentry-sdk's, during a
migration) in either order: if someone patched over ours after us, ``unwrap`` leaves their patch
in place, and ours, still inside their chain, turns into a pass-through.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import wrapt

_lock = threading.Lock()
_ledger: dict[tuple[int, str], tuple[Any, str, Any, Any]] = {}


def _current(owner: Any, name: str) -> Any:
    return owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)


def wrap(owner: Any, name: str, wrapper: Callable[..., Any]) -> bool:
    """Wrap ``owner.name`` with ``wrapper(wrapped, instance, args, kwargs)``; idempotent."""
    key = (id(owner), name)
    with _lock:
        if key in _ledger:
            return False
        original = owner.__dict__[name] if isinstance(owner, type) and name in owner.__dict__ else getattr(owner, name)
        token = object()

        def gated(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            entry = _ledger.get(key)
            if entry is None or entry[3] is not token:  # unwrapped, but kept in someone else's chain
                return wrapped(*args, **kwargs)
            return wrapper(wrapped, instance, args, kwargs)

        wrapt.wrap_function_wrapper(owner, name, gated)
        _ledger[key] = (owner, name, original, token)
        return True


def unwrap(owner: Any, name: str) -> bool:
    with _lock:
        entry = _ledger.pop((id(owner), name), None)
    if entry is None:
        return False
    _restore(entry)
    return True


def _restore(entry: tuple[Any, str, Any, Any]) -> None:
    owner, name, original, _token = entry
    current = _current(owner, name)
    if isinstance(current, wrapt.FunctionWrapper) and current.__wrapped__ is original:
        setattr(owner, name, original)
    # Otherwise another library patched over ours: removing ours would remove theirs too. Ours
    # stays in their chain and passes calls straight through (its ledger entry is gone).


def is_wrapped(owner: Any, name: str) -> bool:
    return (id(owner), name) in _ledger


def unwrap_all() -> None:
    with _lock:
        entries = list(_ledger.values())
        _ledger.clear()
    for entry in entries:
        _restore(entry)
