"""Stack frames from a traceback: module, in-app, source context and a snapshot of local variables."""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from types import FrameType, TracebackType
from typing import Any, Iterator

from .normalize import Normalizer

CONTEXT_LINES = 5
MAX_FRAMES = 100
MAX_VARS = 50
_SDK_PACKAGES = ("sdk_core", "integrations", "scrubbers")


def _library_roots() -> tuple[str, ...]:
    roots = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            path = sysconfig.get_path(name)
        except Exception:
            continue
        if path:
            roots.add(os.path.abspath(path) + os.sep)
    return tuple(roots)


_LIBRARY_ROOTS = _library_roots()


class FrameBuilder:
    """Built once per client: the in-app rules and limits it needs for every frame."""

    def __init__(
        self,
        normalizer: Normalizer,
        *,
        in_app_include: tuple[str, ...] = (),
        in_app_exclude: tuple[str, ...] = (),
        include_local_variables: bool = True,
        include_source_context: bool = True,
    ) -> None:
        self._normalizer = normalizer
        self._include = in_app_include
        self._exclude = in_app_exclude
        self._locals = include_local_variables
        self._source = include_source_context
        self._in_app_cache: dict[tuple[str, str], bool] = {}

    def in_app(self, module: str, abs_path: str) -> bool:
        """Whether a module is the application's own code (in_app_include/exclude, site-packages)."""
        key = (module, abs_path)
        cached = self._in_app_cache.get(key)
        if cached is not None:
            return cached
        result = self._compute_in_app(module, abs_path)
        if len(self._in_app_cache) < 10_000:
            self._in_app_cache[key] = result
        return result

    def _compute_in_app(self, module: str, abs_path: str) -> bool:
        def matches(prefixes: tuple[str, ...]) -> bool:
            return any(module == p or module.startswith(p + ".") for p in prefixes)

        if self._include and matches(self._include):
            return True
        if self._exclude and matches(self._exclude):
            return False
        if module.split(".", 1)[0] in _SDK_PACKAGES:
            return False
        if "site-packages" in abs_path or "dist-packages" in abs_path:
            return False
        if abs_path.startswith(_LIBRARY_ROOTS) or abs_path.startswith("<"):
            return False
        return True

    def frame(self, frame: FrameType, lineno: int, meta: dict[str, Any] | None) -> dict[str, Any]:
        """One protocol frame from a Python frame: location, in_app and, if enabled, a locals snapshot."""
        code = frame.f_code
        abs_path = code.co_filename
        module = frame.f_globals.get("__name__")
        if not isinstance(module, str):
            module = "<unknown>"
        function = getattr(code, "co_qualname", code.co_name)
        data: dict[str, Any] = {
            "filename": _relative_filename(abs_path, module),
            "abs_path": abs_path,
            "module": module,
            "function": function,
            "lineno": lineno,
            "in_app": self.in_app(module, abs_path),
        }
        if self._source and lineno > 0 and not abs_path.startswith("<"):
            # Only register how to load the source (no I/O); the worker reads the lines later.
            linecache.lazycache(abs_path, frame.f_globals)
        if self._locals:
            data["vars"] = self._snapshot_locals(frame, meta)
        return data

    def _snapshot_locals(self, frame: FrameType, meta: dict[str, Any] | None) -> dict[str, Any]:
        try:
            local_vars = dict(frame.f_locals)
        except Exception:
            return {}
        if frame.f_code.co_name == "<module>":
            local_vars = {k: v for k, v in local_vars.items() if not (isinstance(k, str) and k.startswith("__"))}
        out: dict[str, Any] = {}
        var_meta: dict[str, Any] = {}
        for i, (name, value) in enumerate(local_vars.items()):
            if i >= MAX_VARS:
                var_meta[""] = {"len": len(local_vars)}
                break
            item_meta: dict[str, Any] = {}
            out[str(name)] = self._normalizer.normalize(value, item_meta)
            if item_meta:
                var_meta[str(name)] = item_meta
        if meta is not None and var_meta:
            meta["vars"] = var_meta
        return out

    def from_traceback(self, tb: TracebackType | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames caller first, crashing frame last; plus ``_meta`` for trimmed locals by frame index."""
        entries = list(_walk_tb(tb))
        if len(entries) > MAX_FRAMES:
            half = MAX_FRAMES // 2
            entries = entries[:half] + entries[-half:]
        return self._frames(entries)

    def from_stack(self, frame: FrameType | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The current stack (for messages that ask for one), outside the SDK's own frames."""
        entries: list[tuple[FrameType, int]] = []
        while frame is not None and len(entries) < MAX_FRAMES:
            module = frame.f_globals.get("__name__", "")
            if not (isinstance(module, str) and module.split(".", 1)[0] in _SDK_PACKAGES):
                entries.append((frame, frame.f_lineno))
            frame = frame.f_back
        entries.reverse()
        return self._frames(entries)

    def _frames(self, entries: list[tuple[FrameType, int]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        frames = []
        frames_meta: dict[str, Any] = {}
        for index, (frame, lineno) in enumerate(entries):
            frame_meta: dict[str, Any] = {}
            frames.append(self.frame(frame, lineno, frame_meta))
            if frame_meta:
                frames_meta[str(index)] = frame_meta
        return frames, frames_meta


def _walk_tb(tb: TracebackType | None) -> Iterator[tuple[FrameType, int]]:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno if tb.tb_lineno is not None else 0
        tb = tb.tb_next


def _relative_filename(abs_path: str, module: str) -> str:
    if abs_path.startswith("<") or not module or module in ("__main__", "<unknown>"):
        return os.path.basename(abs_path) if not abs_path.startswith("<") else abs_path
    top = module.split(".", 1)[0]
    idx = abs_path.rfind(os.sep + top + os.sep)
    if idx == -1:
        idx = abs_path.rfind(os.sep + top + ".py")
    return abs_path[idx + 1 :] if idx != -1 else os.path.basename(abs_path)


def add_source_context(event: dict[str, Any]) -> None:
    """Fill ``pre_context``/``context_line``/``post_context`` of every frame (worker thread).

    Reading source lines here, not at capture, keeps the caller fast and the queue small.
    """
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else None
    if not isinstance(values, list):
        return
    for value in values:
        stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
        frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
        if not isinstance(frames, list):
            continue
        for frame in frames:
            if not isinstance(frame, dict) or "context_line" in frame:
                continue
            abs_path, lineno = frame.get("abs_path"), frame.get("lineno")
            if isinstance(abs_path, str) and isinstance(lineno, int) and lineno > 0 and not abs_path.startswith("<"):
                _add_source_context(frame, abs_path, lineno)


def _add_source_context(data: dict[str, Any], abs_path: str, lineno: int) -> None:
    try:
        lines = linecache.getlines(abs_path)
    except Exception:
        return
    if not lines or lineno > len(lines):
        return
    index = lineno - 1
    first = max(0, index - CONTEXT_LINES)

    def clean(line: str) -> str:
        line = line.rstrip("\r\n")
        return line if len(line) <= 300 else line[:297] + "..."

    data["pre_context"] = [clean(line) for line in lines[first:index]]
    data["context_line"] = clean(lines[index])
    data["post_context"] = [clean(line) for line in lines[index + 1 : index + 1 + CONTEXT_LINES]]


def current_frame(depth: int = 0) -> FrameType | None:
    """The caller's frame, ``depth`` frames further up, or None where frames are unavailable."""
    try:
        return sys._getframe(depth + 1)
    except Exception:
        return None
