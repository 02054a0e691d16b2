"""Scope merging on the caller thread: global -> isolation -> current (-> an extra scope) onto an event.

It runs at capture because scopes are context-local: by the time the worker sees the event, the
request or task that set the tags and breadcrumbs may be gone.
"""

from __future__ import annotations

from typing import Any

from ._internal_errors import log_internal_error
from .scope import Scope, scopes
from .telemetry import trace_context
from .types import Event, EventProcessor, Hint


def apply_scopes(
    event: Event,
    hint: Hint,
    extra_scope: Scope | None,
    base_contexts: dict[str, Any],
    max_breadcrumbs: int,
    *,
    transaction: bool = False,
) -> Event | None:
    """Merge scope data into ``event`` (the event's own fields win) and run scope event processors.

    ``transaction=True`` (a finished transaction): no breadcrumbs, level or fingerprint.

    Returns the event, or None when a processor dropped it (the caller counts the drop).
    """
    global_scope, isolation, current = scopes()
    layers = [s for s in (global_scope, isolation, current, extra_scope) if s is not None]
    tags: dict[str, str] = {}
    contexts: dict[str, Any] = dict(base_contexts)
    extras: dict[str, Any] = {}
    crumbs: list[dict[str, Any]] = []
    user = None
    processors: list[EventProcessor] = []
    for layer in layers:
        if layer.tags:
            tags.update(layer.tags)
        if layer.contexts:
            contexts.update(layer.contexts)
        if layer.extras:
            extras.update(layer.extras)
        if layer.breadcrumbs and not transaction:
            crumbs.extend(layer.breadcrumbs)
        if layer.user is not None:
            user = layer.user
        if layer.level and "level_override" not in hint and not transaction:
            event["level"] = layer.level
        if layer.fingerprint and "fingerprint" not in event and not transaction:
            event["fingerprint"] = layer.fingerprint
        if layer.transaction and "transaction" not in event:
            event["transaction"] = layer.transaction
        if layer.processors:
            processors.extend(layer.processors)
    if "trace" not in contexts:
        contexts["trace"] = trace_context(isolation)
    if event.get("contexts"):
        contexts.update(event["contexts"])
    event["contexts"] = contexts
    if tags:
        tags.update(event.get("tags") or {})
        event["tags"] = tags
    if extras:
        extras.update(event.get("extra") or {})
        event["extra"] = extras
    if user is not None and "user" not in event:
        event["user"] = dict(user)
    if crumbs:
        if len(crumbs) > 1 and len(layers) > 1:
            crumbs.sort(key=_crumb_time)
        event["breadcrumbs"] = {"values": crumbs[-max_breadcrumbs:] if max_breadcrumbs else []}
    for processor in processors:
        try:
            result = processor(event, hint)
        except Exception as exc:
            log_internal_error("event processor", exc)
            continue
        if result is None:
            return None
        event = result
    return event


def _crumb_time(crumb: dict[str, Any]) -> float:
    ts = crumb.get("timestamp")
    return float(ts) if isinstance(ts, (int, float)) else 0.0
