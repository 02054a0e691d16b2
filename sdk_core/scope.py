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
from typing import Any, Iterator

from .types import Breadcrumb, EventProcessor

DEFAULT_MAX_BREADCRUMBS = 100


def _plain_text(value: Any) -> str | None:
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
    """User, tags, contexts, extras, breadcrumbs and processors that an event picks up; copy-on-write between forks."""
    __slots__ = (
        "_owned",
        "attachments",
        "breadcrumbs",
        "contexts",
        "extras",
        "fingerprint",
        "level",
        "parent_span_id",
        "processors",
        "session",
        "span_id",
        "tags",
        "trace_id",
        "transaction",
        "user",
    )

    def __init__(self, max_breadcrumbs: int = DEFAULT_MAX_BREADCRUMBS) -> None:
        self.user: dict[str, Any] | None = None
        self.tags: dict[str, str] = {}
        self.contexts: dict[str, Any] = {}
        self.extras: dict[str, Any] = {}
        self.breadcrumbs: deque[Breadcrumb] = deque(maxlen=max_breadcrumbs)
        self.fingerprint: list[str] | None = None
        self.level: str | None = None
        self.transaction: str | None = None
        self.processors: list[EventProcessor] = []
        self.attachments: list[Any] = []
        self.session: list[int] | None = None  # release health: this request's outcome
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self.parent_span_id: str | None = None
        self._owned = True

    def fork(self, breadcrumbs: bool = True) -> Scope:
        """A copy-on-write child; ``breadcrumbs=False`` starts it with none of this scope's trail."""
        child = Scope.__new__(Scope)
        child.user = self.user
        child.tags = self.tags
        child.contexts = self.contexts
        child.extras = self.extras
        child.breadcrumbs = self.breadcrumbs if breadcrumbs else deque(maxlen=self.breadcrumbs.maxlen)
        child.fingerprint = self.fingerprint
        child.level = self.level
        child.transaction = self.transaction
        child.processors = self.processors
        child.attachments = self.attachments
        child.session = self.session
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
            self.attachments = list(self.attachments)
            self._owned = True

    # -- setters (the public API writes to the isolation scope) ----------------------------
    def set_user(self, user: dict[str, Any] | None) -> None:
        """Set (or with None clear) the user of events captured in this scope."""
        self.user = dict(user) if user else None

    def set_tag(self, key: str, value: Any) -> None:
        """Set one searchable tag; values are sent as strings."""
        self._own()
        self.tags[str(key)] = value if isinstance(value, str) else str(value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags at once."""
        self._own()
        for key, value in tags.items():
            self.tags[str(key)] = value if isinstance(value, str) else str(value)

    def remove_tag(self, key: str) -> None:
        """Remove a tag if it is set."""
        self._own()
        self.tags.pop(key, None)

    def set_context(self, key: str, value: dict[str, Any] | None) -> None:
        """Set (or with None remove) a named context such as ``device`` or ``celery``."""
        self._own()
        if value is None:
            self.contexts.pop(key, None)
        else:
            self.contexts[str(key)] = value

    def set_extra(self, key: str, value: Any) -> None:
        """Attach arbitrary extra data (normalised and scrubbed like everything else)."""
        self._own()
        self.extras[str(key)] = value

    def set_level(self, level: str | None) -> None:
        """Override the level of events captured in this scope."""
        self.level = _plain_text(level)

    def set_fingerprint(self, fingerprint: list[str] | None) -> None:
        """Override how the server groups events of this scope."""
        self.fingerprint = list(fingerprint) if fingerprint else None

    def set_transaction_name(self, name: str | None) -> None:
        """Name the transaction (route, task) events of this scope belong to."""
        self.transaction = _plain_text(name)

    def add_event_processor(self, processor: EventProcessor) -> None:
        """Run ``processor(event, hint)`` on events of this scope; returning None drops the event."""
        self._own()
        self.processors.append(processor)

    def add_attachment(self, attachment: Any) -> None:
        """Send ``attachment`` (an ``sdk_core.Attachment``) with every event captured in this scope."""
        self._own()
        self.attachments.append(attachment)

    def clear_attachments(self) -> None:
        """Stop sending the attachments added to this scope."""
        self._own()
        self.attachments.clear()

    def append_breadcrumb(self, crumb: Breadcrumb, max_breadcrumbs: int) -> None:
        """Append a breadcrumb, keeping at most ``max_breadcrumbs`` (oldest dropped first)."""
        if not self._owned:
            self._own()
        if self.breadcrumbs.maxlen != max_breadcrumbs:
            self.breadcrumbs = deque(self.breadcrumbs, maxlen=max_breadcrumbs)
        self.breadcrumbs.append(crumb)

    def clear_breadcrumbs(self) -> None:
        """Forget every breadcrumb of this scope."""
        self._own()
        self.breadcrumbs.clear()

    def set_propagation_context(self, trace_id: str | None = None, parent_span_id: str | None = None) -> None:
        """Start a trace for this scope (a request, a task), continuing an incoming one if given."""
        self.trace_id = trace_id or new_trace_id()
        self.parent_span_id = parent_span_id
        self.span_id = new_span_id()

    def clear(self) -> None:
        """Reset the scope to empty, keeping its breadcrumb limit."""
        self.__init__(self.breadcrumbs.maxlen or DEFAULT_MAX_BREADCRUMBS)  # type: ignore[misc]


_global = Scope()
_default_isolation = Scope()
_isolation: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("coderadar_isolation", default=None)
_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("coderadar_current", default=None)


def get_global_scope() -> Scope:
    """The process-wide scope: data every event gets."""
    return _global


def get_isolation_scope() -> Scope:
    """The scope of the current request or task (contextvars), or the default one outside them."""
    scope = _isolation.get()
    return _default_isolation if scope is None else scope


def get_current_scope() -> Scope | None:
    """The innermost ``new_scope()``, or None outside of one."""
    return _current.get()


def scopes() -> tuple[Scope, Scope, Scope | None]:
    """(global, isolation, current) for merging into an event, in that order."""
    return _global, get_isolation_scope(), _current.get()


@contextlib.contextmanager
def _entered(scope: Scope, current: Scope | None) -> Iterator[Scope]:
    """Make ``scope`` the isolation scope (and a fork of ``current`` the current one) for the block."""
    iso_token = _isolation.set(scope)
    cur_token = _current.set(current.fork() if current is not None else None)
    try:
        yield scope
    finally:
        _current.reset(cur_token)
        _isolation.reset(iso_token)


@contextlib.contextmanager
def isolation_scope() -> Iterator[Scope]:
    """Isolate everything set inside the block (a request, a task) from the rest of the process."""
    with _entered(get_isolation_scope().fork(), _current.get()) as scope:
        yield scope


@contextlib.contextmanager
def unit_scope(parent: Scope | None = None) -> Iterator[Scope]:
    """An isolation scope for one request or task: the data of ``parent`` (default: the current
    isolation scope) but none of its breadcrumbs, so an event carries only its own unit's trail.

    With an explicit ``parent`` (leaving another unit's scope that the context inherited), no
    ``new_scope()`` of the context applies either.
    """
    scope = (get_isolation_scope() if parent is None else parent).fork(breadcrumbs=False)
    with _entered(scope, _current.get() if parent is None else None) as entered:
        yield entered


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
