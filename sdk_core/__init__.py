"""CodeRadar SDK: capture errors and send them, scrubbed, to a Sentry-protocol endpoint."""

from __future__ import annotations

from . import logger
from ._api import (
    add_breadcrumb,
    capture_event,
    capture_exception,
    capture_message,
    close,
    flush,
    get_client,
    init,
    is_initialized,
    last_event_id,
    set_context,
    set_extra,
    set_level,
    set_tag,
    set_tags,
    set_transaction_name,
    set_user,
    shutdown,
    stats,
)
from ._tracing_api import start_span, trace
from ._version import VERSION
from .attachments import Attachment, add_attachment
from .monitors import MonitorConfigError, capture_checkin, monitor
from .scope import Scope, get_current_scope, get_global_scope, get_isolation_scope, isolation_scope, new_scope
from .types import DropReason, Event, Hint, Transport

__version__ = VERSION

__all__ = [
    "Attachment",
    "DropReason",
    "Event",
    "Hint",
    "MonitorConfigError",
    "Scope",
    "Transport",
    "__version__",
    "add_attachment",
    "add_breadcrumb",
    "capture_checkin",
    "capture_event",
    "capture_exception",
    "capture_message",
    "close",
    "flush",
    "get_client",
    "get_current_scope",
    "get_global_scope",
    "get_isolation_scope",
    "init",
    "is_initialized",
    "isolation_scope",
    "last_event_id",
    "logger",
    "monitor",
    "new_scope",
    "set_context",
    "set_extra",
    "set_level",
    "set_tag",
    "set_tags",
    "set_transaction_name",
    "set_user",
    "shutdown",
    "start_span",
    "stats",
    "trace",
]
