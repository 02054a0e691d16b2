"""Scope data and its isolation through contextvars (global -> isolation -> current).

``isolation_scope()`` is what integrations open per request or task; ``new_scope()`` is a local
change inside it. Forks share containers until the first write (copy on write), so opening a
scope per request costs a few attribute copies, not a copy of the breadcrumbs.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections import deque
from typing import Any, Iterator, Optional

from .types import Breadcrumb, EventProcessor

DEFAULT_MAX_BREADCRUMBS = 100


def _plain_text(value: Any) -> Optional[str]:
    """A plain ``str`` (or None): scope fields read on every capture must not be able to raise there."""
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    from .normalize import safe_str

    return safe_str(value, 200)


def new_trace_id() -> str:
    """32 hex digits, never all zero. Not os.urandom: it releases the GIL, and with a busy worker
    thread (tracing keeps it busy) getting it back costs the request up to a switch interval."""
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """16 hex digits, never all zero (see ``new_trace_id``)."""
    return f"{random.getrandbits(64) or 1:016x}"


class Scope:
    __slots__ = (
        "_owned",
        "breadcrumbs",
        "contexts",
        "extras",
        "fingerprint",
        "level",
        "parent_span_id",
        "processors",
        "span_id",
        "tags",
        "trace_id",
        "transaction",
        "user",
    )

    def __init__(self, max_breadcrumbs: int = DEFAULT_MAX_BREADCRUMBS) -> None:
        self.user: Optional[dict[str, Any]] = None
        self.tags: dict[str, str] = {}
        self.contexts: dict[str, Any] = {}
        self.extras: dict[str, Any] = {}
        self.breadcrumbs: deque[Breadcrumb] = deque(maxlen=max_breadcrumbs)
        self.fingerprint: Optional[list[str]] = None
        self.level: Optional[str] = None
        self.transaction: Optional[str] = None
        self.processors: list[EventProcessor] = []
        self.trace_id: Optional[str] = None
        self.span_id: Optional[str] = None
        self.parent_span_id: Optional[str] = None
        self._owned = True

    def fork(self) -> Scope:
        child = Scope.__new__(Scope)
        child.user = self.user
        child.tags = self.tags
        child.contexts = self.contexts
        child.extras = self.extras
        child.breadcrumbs = self.breadcrumbs
        child.fingerprint = self.fingerprint
        child.level = self.level
        child.transaction = self.transaction
        child.processors = self.processors
        child.trace_id = self.trace_id
        child.span_id = self.span_id
        child.parent_span_id = self.parent_span_id
        child._owned = False
        self._owned = False
        return child

    def _own(self) -> None:
        if not self._owned:
            self.tags = dict(self.tags)
            self.contexts = dict(self.contexts)
            self.extras = dict(self.extras)
            self.breadcrumbs = deque(self.breadcrumbs, maxlen=self.breadcrumbs.maxlen)
            self.processors = list(self.processors)
            self._owned = True

    # -- setters (the public API writes to the isolation scope) ----------------------------
    def set_user(self, user: Optional[dict[str, Any]]) -> None:
        self.user = dict(user) if user else None

    def set_tag(self, key: str, value: Any) -> None:
        self._own()
        self.tags[str(key)] = value if isinstance(value, str) else str(value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._own()
        for key, value in tags.items():
            self.tags[str(key)] = value if isinstance(value, str) else str(value)

    def remove_tag(self, key: str) -> None:
        self._own()
        self.tags.pop(key, None)

    def set_context(self, key: str, value: Optional[dict[str, Any]]) -> None:
        self._own()
        if value is None:
            self.contexts.pop(key, None)
        else:
            self.contexts[str(key)] = value

    def set_extra(self, key: str, value: Any) -> None:
        self._own()
        self.extras[str(key)] = value

    def set_level(self, level: Optional[str]) -> None:
        self.level = _plain_text(level)

    def set_fingerprint(self, fingerprint: Optional[list[str]]) -> None:
        self.fingerprint = list(fingerprint) if fingerprint else None

    def set_transaction_name(self, name: Optional[str]) -> None:
        self.transaction = _plain_text(name)

    def add_event_processor(self, processor: EventProcessor) -> None:
        self._own()
        self.processors.append(processor)

    def append_breadcrumb(self, crumb: Breadcrumb, max_breadcrumbs: int) -> None:
        if not self._owned:
            self._own()
        if self.breadcrumbs.maxlen != max_breadcrumbs:
            self.breadcrumbs = deque(self.breadcrumbs, maxlen=max_breadcrumbs)
        self.breadcrumbs.append(crumb)

    def clear_breadcrumbs(self) -> None:
        self._own()
        self.breadcrumbs.clear()

    def set_propagation_context(self, trace_id: Optional[str] = None, parent_span_id: Optional[str] = None) -> None:
        """Start a trace for this scope (a request, a task), continuing an incoming one if given."""
        self.trace_id = trace_id or new_trace_id()
        self.parent_span_id = parent_span_id
        self.span_id = new_span_id()

    def clear(self) -> None:
        self.__init__(self.breadcrumbs.maxlen or DEFAULT_MAX_BREADCRUMBS)  # type: ignore[misc]


_global = Scope()
_default_isolation = Scope()
_isolation: contextvars.ContextVar[Optional[Scope]] = contextvars.ContextVar("coderadar_isolation", default=None)
_current: contextvars.ContextVar[Optional[Scope]] = contextvars.ContextVar("coderadar_current", default=None)


def get_global_scope() -> Scope:
    return _global


def get_isolation_scope() -> Scope:
    scope = _isolation.get()
    return _default_isolation if scope is None else scope


def get_current_scope() -> Optional[Scope]:
    """The innermost ``new_scope()``, or None outside of one."""
    return _current.get()


def scopes() -> tuple[Scope, Scope, Optional[Scope]]:
    return _global, get_isolation_scope(), _current.get()


@contextlib.contextmanager
def isolation_scope() -> Iterator[Scope]:
    """Isolate everything set inside the block (a request, a task) from the rest of the process."""
    scope = get_isolation_scope().fork()
    current = _current.get()
    iso_token = _isolation.set(scope)
    cur_token = _current.set(current.fork() if current is not None else None)
    try:
        yield scope
    finally:
        _current.reset(cur_token)
        _isolation.reset(iso_token)


@contextlib.contextmanager
def new_scope() -> Iterator[Scope]:
    """A scope for a local change (a tag, a fingerprint) that ends with the block."""
    parent = _current.get()
    scope = parent.fork() if parent is not None else Scope()
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def _reset_for_tests() -> None:
    global _global, _default_isolation
    _global = Scope()
    _default_isolation = Scope()
