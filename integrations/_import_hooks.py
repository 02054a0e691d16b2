"""Post-import hooks: call ``hook(module)`` right after a watched module is first imported.

PEP 369 style, as wrapt's ``register_post_import_hook``, but without importing wrapt, whose
package import (asyncio, importlib.metadata) would cost ``init`` more than the rest of the SDK.
A finder at the front of ``sys.meta_path`` answers only for watched names: it asks the other
finders for the spec and wraps the loader so that the hook runs once the module has executed.
The module keeps its real loader (``__loader__``, ``__spec__.loader``), so source lookups for
tracebacks and ``inspect`` are unaffected. A hook fires once; ``watch`` again to be called again.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any, Callable

Hook = Callable[[Any], None]

_lock = threading.Lock()
_watched: dict[str, Hook] = {}
_local = threading.local()  # names this thread is resolving, so the finder does not recurse


class _Loader:
    """The real loader, plus the hook after ``exec_module``; everything else is the real loader's."""

    def __init__(self, loader: Any, hook: Hook) -> None:
        self._loader = loader
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> Any:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        self._loader.exec_module(module)  # if it raises, the hook stays armed for a retry
        name = str(getattr(module, "__name__", ""))
        with _lock:
            if _watched.get(name) is self._hook:
                del _watched[name]  # fires once
        parent, _, child = name.rpartition(".")
        if parent and parent in sys.modules:
            # The import system binds ``http.client`` on ``http`` only after this returns; the hook
            # may already use the dotted name.
            setattr(sys.modules[parent], child, module)
        self._hook(module)


class _Finder:
    """A ``sys.meta_path`` entry that only ever answers for watched modules."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        hook = _watched.get(fullname)
        if hook is None:
            return None
        busy: set[str] = getattr(_local, "busy", None) or set()
        if fullname in busy:
            return None
        busy.add(fullname)
        _local.busy = busy
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader, hook)  # type: ignore[assignment]
        return spec


_finder = _Finder()


def watch(name: str, hook: Hook) -> bool:
    """Call ``hook(module)`` after module ``name`` is imported. False if it already is
    (then the caller acts at once); a later ``watch`` of the same name replaces the hook."""
    if name in sys.modules:
        return False
    with _lock:
        _watched[name] = hook
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
    return True


def unwatch_all() -> None:
    """Forget every hook not fired yet (the finder stays: it answers nothing)."""
    with _lock:
        _watched.clear()
