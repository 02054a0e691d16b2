"""Walk ``__cause__``/``__context__``/ExceptionGroup into ``exception.values``, oldest first."""

from __future__ import annotations

from typing import Any

from .normalize import safe_str, trim_string
from .stacktrace import FrameBuilder

MAX_EXCEPTIONS = 25


def _type_name(exc: BaseException) -> tuple[str, str | None]:
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    if module in ("builtins", "__builtin__"):
        module = None
    return getattr(cls, "__qualname__", cls.__name__), module


def _is_group(exc: BaseException) -> bool:
    return isinstance(getattr(exc, "exceptions", None), tuple) and type(exc).__name__.endswith("ExceptionGroup")


def exception_values(
    exc: BaseException,
    frames: FrameBuilder,
    mechanism: dict[str, Any] | None,
    max_value_length: int,
    meta: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The raised exception is last; each value carries a mechanism linking it to its parent."""
    base_mechanism = dict(mechanism or {"type": "generic", "handled": True})
    out: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    seen: set[int] = set()
    pending: list[tuple[BaseException, int | None, str | None]] = [(exc, None, None)]
    while pending and len(out) < MAX_EXCEPTIONS:
        current, parent_id, source = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        exception_id = len(out)
        type_name, module = _type_name(current)
        value_meta: dict[str, Any] = {}
        value: dict[str, Any] = {
            "type": type_name,
            "value": trim_string(safe_str(current, max_value_length * 4), max_value_length, value_meta, "value"),
        }
        if module:
            value["module"] = module
        mech = (
            dict(base_mechanism)
            if exception_id == 0
            else {"type": "chained", "handled": base_mechanism.get("handled", True)}
        )
        mech["exception_id"] = exception_id
        if parent_id is not None:
            mech["parent_id"] = parent_id
            if source:
                mech["source"] = source
        group = _is_group(current)
        if group:
            mech["is_exception_group"] = True
        value["mechanism"] = mech
        frame_list, frames_meta = frames.from_traceback(current.__traceback__)
        if frame_list:
            value["stacktrace"] = {"frames": frame_list}
            if frames_meta:
                value_meta["stacktrace"] = {"frames": frames_meta}
        out.append(value)
        metas.append(value_meta)
        if group:
            for i, child in enumerate(getattr(current, "exceptions", ())):
                if isinstance(child, BaseException):
                    pending.append((child, exception_id, f"exceptions[{i}]"))
        if current.__cause__ is not None:
            pending.append((current.__cause__, exception_id, "__cause__"))
        elif current.__context__ is not None and not current.__suppress_context__:
            pending.append((current.__context__, exception_id, "__context__"))
    out.reverse()
    metas.reverse()
    if meta is not None:
        for i, value_meta in enumerate(metas):
            if value_meta:
                meta[str(i)] = value_meta
    return out
