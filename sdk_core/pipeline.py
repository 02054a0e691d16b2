"""The worker-side stages, in order: finalise -> scrub -> before_send. Each drop is counted once."""

from __future__ import annotations

from typing import Any, Callable, Optional

from ._internal_errors import log_internal_error, logger
from .before_send import run_before_send
from .event import format_timestamp, level_name, set_meta
from .normalize import Normalizer
from .options import Options
from .stacktrace import add_source_context
from .telemetry import Stats
from .transport.client_reports import DiscardCounter
from .types import DropReason, Event, Hint

Scrub = Callable[[Event], dict[str, int]]


class Pipeline:
    def __init__(
        self,
        options: Options,
        static: dict[str, Any],
        normalizer: Normalizer,
        scrub: Optional[Scrub],
        stats: Stats,
        discards: DiscardCounter,
    ) -> None:
        self._options = options
        self._static = static
        self._normalizer = normalizer
        self._scrub = scrub
        self._stats = stats
        self._discards = discards

    def run(self, event: Event, hint: Hint) -> Optional[Event]:
        try:
            self._finalise(event)
        except Exception as exc:
            log_internal_error("finalise event", exc)
            self._drop(DropReason.INTERNAL_SDK_ERROR)
            return None
        if self._scrub is not None:
            try:
                self._stats.add_redactions(self._scrub(event))
            except Exception as exc:
                # Never send what we could not scrub.
                log_internal_error("scrub", exc)
                self._drop(DropReason.INTERNAL_SDK_ERROR)
                return None
        hook = self._options.before_send
        if hook is not None:
            result = run_before_send(hook, event, hint)
            if result is None:
                self._drop(DropReason.BEFORE_SEND)
                return None
            event = result
        return event

    def _drop(self, reason: DropReason) -> None:
        self._discards.record(reason.value, "error")
        if self._options.debug:
            logger.debug("event dropped: %s", reason.value)

    def _finalise(self, event: Event) -> None:
        if self._options.include_source_context:
            add_source_context(event)
        for key, value in self._static.items():
            if key not in event:
                event[key] = value
        ts = event.get("timestamp")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            event["timestamp"] = format_timestamp(float(ts))
        event["level"] = level_name(event.get("level", "error"))
        crumbs = event.get("breadcrumbs")
        if isinstance(crumbs, dict):
            values = crumbs.get("values")
            if isinstance(values, list):
                crumbs["values"] = [self._breadcrumb(c) for c in values if isinstance(c, dict)]
        for key in ("extra", "contexts", "user", "request"):
            value = event.get(key)
            if value is not None:
                meta: dict[str, Any] = {}
                event[key] = self._normalizer.normalize(value, meta)
                if meta:
                    set_meta(event, (key,), meta)
        tags = event.get("tags")
        if isinstance(tags, dict):
            event["tags"] = {str(k): v if isinstance(v, str) else str(v) for k, v in tags.items()}

    def _breadcrumb(self, crumb: dict[str, Any]) -> dict[str, Any]:
        out = self._normalizer.normalize(crumb)
        ts = out.get("timestamp")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            out["timestamp"] = format_timestamp(float(ts))
        return out  # type: ignore[no-any-return]
