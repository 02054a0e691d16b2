"""Wrap and unwrap methods with a ledger, so uninstall restores every original.

``wrap(owner, name, wrapper)`` replaces the function ``owner.name`` with one that calls
``wrapper(wrapped, instance, args, kwargs)`` (wrapt's calling convention: ``wrapped`` is bound to
``instance``); coroutine functions stay coroutine functions and ``__wrapped__`` points at the
original. Written here rather than with wrapt, whose import (asyncio, importlib.metadata) would
cost ``init`` more than the rest of the SDK.

Patches compose with other libraries' patches of the same attribute (sentry-sdk's, during a
migration) in either order: if someone patched over ours after us, ``unwrap`` leaves their patch
in place, and ours, still inside their chain, turns into a pass-through.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

_lock = threading.Lock()
_ledger: dict[tuple[int, str], tuple[Any, str, Any, Any, bool]] = {}
_CO_COROUTINE = 0x80


def _is_coroutine_function(func: Any) -> bool:
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    return bool(code is not None and code.co_flags & _CO_COROUTINE)


def _bind(original: Any, instance: Any) -> Any:
    get = getattr(type(original), "__get__", None)
    return get(original, instance, type(instance)) if get is not None else functools.partial(original, instance)


def _patched(key: tuple[int, str], original: Any, wrapper: Callable[..., Any]) -> Callable[..., Any]:
    def active() -> bool:
        entry = _ledger.get(key)
        return entry is not None and entry[3] is patched  # unwrapped but kept in someone else's chain: inert

    patched: Callable[..., Any]
    if _is_coroutine_function(original):

        async def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not active():
                return await original(self, *args, **kwargs)
            return await wrapper(_bind(original, self), self, args, kwargs)

    else:

        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not active():
                return original(self, *args, **kwargs)
            return wrapper(_bind(original, self), self, args, kwargs)

    try:
        functools.update_wrapper(patched, original)
    except Exception:
        setattr(patched, "__wrapped__", original)  # noqa: B010
    return patched


def wrap(owner: type, name: str, wrapper: Callable[..., Any]) -> bool:
    """Wrap the method ``owner.name`` with ``wrapper(wrapped, instance, args, kwargs)``; idempotent."""
    key = (id(owner), name)
    with _lock:
        if key in _ledger:
            return False
        own = name in owner.__dict__
        original = owner.__dict__[name] if own else getattr(owner, name)
        patched = _patched(key, original, wrapper)
        _ledger[key] = (owner, name, original, patched, own)
        setattr(owner, name, patched)
        return True


def unwrap(owner: type, name: str) -> bool:
    with _lock:
        entry = _ledger.pop((id(owner), name), None)
    if entry is None:
        return False
    _restore(entry)
    return True


def _restore(entry: tuple[Any, str, Any, Any, bool]) -> None:
    owner, name, original, patched, own = entry
    if owner.__dict__.get(name) is not patched:
        # Another library patched over ours: removing ours would remove theirs too. Ours stays in
        # their chain and passes calls straight through (its ledger entry is gone).
        return
    if own:
        setattr(owner, name, original)
    else:
        delattr(owner, name)  # it was inherited: the base class's method shows through again


def is_wrapped(owner: type, name: str) -> bool:
    return (id(owner), name) in _ledger


def unwrap_all() -> None:
    with _lock:
        entries = list(_ledger.values())
        _ledger.clear()
    for entry in entries:
        _restore(entry)
