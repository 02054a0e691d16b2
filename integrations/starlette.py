"""Starlette and FastAPI, automatically: every application is instrumented, no middleware to add.

``Starlette.__call__`` (which FastAPI's ``__call__`` ends in) runs through ``run_asgi``: one
isolated scope per request, the incoming trace continued, the body recorded as the application
reads it (up to ``max_request_body_size``), unhandled exceptions captured (mechanism
``starlette``). On top of the generic ASGI handling:

* Events are named after the route template (``/items/{item_id}``), through mounts.
* A response whose status is in ``failed_request_status_codes`` (default 500-599) is reported:
  the exception an exception handler turned into it (``HTTPException(503)``, or what
  ``ServerErrorMiddleware`` answers 500 for), else a message naming the status.
* ``request.user`` (set by ``AuthenticationMiddleware``) becomes the event's user when it is
  authenticated and ``send_default_pii`` is on.

Background tasks and ``Depends`` scopes run inside the application call, so they stay inside
the request's isolation scope; sync ones run in Starlette's thread pool, which copies the context.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Awaitable, Callable, Iterable

import sdk_core
from integrations._request import DEFAULT_FAILED_REQUEST_STATUS_CODES, Policy, current_request, failed_status_codes
from integrations.asgi import Message, Receive, Scope, Send, run_asgi
from sdk_core.integration import DidNotEnable, log_internal_error

__all__ = ["DEFAULT_FAILED_REQUEST_STATUS_CODES", "StarletteIntegration"]

_STYLES = ("url", "endpoint")

# Marks the ASGI scope of a request an instrumented Starlette app is handling, with the
# request's state: nested apps of the same request (mounts, sub-apps; Starlette passes them the
# same scope dict, and middlewares copy it with the mark) pass straight through, so the request
# is described and reported once. A server's next request is a fresh scope without the mark, even
# when the server starts it from the previous request's context (uvicorn, for pipelined requests).
# The headers list cannot serve as the key: Starlette's ``Headers(scope=...)`` replaces it.
_MARK = "coderadar.request"


class StarletteIntegration:
    """Instrument every Starlette (and so FastAPI) application in the process.

    ``transaction_style``: ``"url"`` (default) names events after the route template,
    ``"endpoint"`` after the endpoint function. ``failed_request_status_codes``: the response
    statuses reported as errors (default 500-599; pass ``set()`` to report exceptions only).
    """

    identifier = "starlette"
    framework_module = "starlette"

    def __init__(
        self,
        transaction_style: str = "url",
        failed_request_status_codes: Iterable[Any] | None = None,
    ) -> None:
        if transaction_style not in _STYLES:
            raise ValueError(f"transaction_style: expected one of {', '.join(_STYLES)}, got {transaction_style!r}")
        self.transaction_style = transaction_style
        self.failed_request_status_codes = failed_status_codes(failed_request_status_codes)

    def setup_once(self) -> None:
        """Patch ``__call__`` of Starlette and its subclasses (FastAPI too, now and later): no app escapes."""
        try:
            from starlette.applications import Starlette
        except ImportError as exc:
            raise DidNotEnable("starlette is not installed") from exc
        _config.update(style=self.transaction_style, failed=self.failed_request_status_codes)
        for cls in _with_own_call(Starlette):
            _patch_call(cls)
        _watch_subclasses(Starlette)

    def uninstall(self) -> None:
        """Restore every patched __call__ and stop watching new subclasses."""
        try:
            from starlette.applications import Starlette
        except ImportError:
            return
        _unwatch_subclasses(Starlette)
        for cls in list(_saved):
            _unpatch_call(cls)


_config: dict[str, Any] = {"style": "url", "failed": DEFAULT_FAILED_REQUEST_STATUS_CODES}
_OURS = "__coderadar_starlette__"
_saved: dict[type, Any] = {}
"""Each patched class (Starlette, and subclasses with their own ``__call__``: FastAPI) -> its original."""


def _with_own_call(root: type) -> list[type]:
    """``root`` and its loaded subclasses that define ``__call__`` themselves (FastAPI does)."""
    found, todo, seen = [], [root], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if "__call__" in cls.__dict__:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _watch_subclasses(root: Any) -> None:
    """Patch subclasses defined later (``import fastapi`` after ``init``) as their class is created.

    The outermost ``__call__`` must be ours: FastAPI's opens its own server span (its native
    OpenTelemetry telemetry) before calling Starlette's, and the request's root must continue the
    caller's trace and count its session before anything else runs.
    """
    if getattr(root.__dict__.get("__init_subclass__"), _OURS, False):
        return
    previous = root.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: Any, /, **kwargs: Any) -> None:
        if previous is not None:
            previous.__get__(None, cls)(**kwargs)
        else:
            super(root, cls).__init_subclass__(**kwargs)
        if _saved and "__call__" in cls.__dict__:
            try:
                _patch_call(cls)
            except Exception as exc:
                log_internal_error("starlette subclass", exc)

    setattr(__init_subclass__, _OURS, True)
    _saved_hooks[root] = previous
    setattr(root, "__init_subclass__", classmethod(__init_subclass__))  # noqa: B010


_saved_hooks: dict[type, Any] = {}


def _unwatch_subclasses(root: type) -> None:
    current = root.__dict__.get("__init_subclass__")
    if not getattr(getattr(current, "__func__", None), _OURS, False):
        return
    previous = _saved_hooks.pop(root, None)
    if previous is not None:
        setattr(root, "__init_subclass__", previous)  # noqa: B010
    else:
        delattr(root, "__init_subclass__")


def _patch_call(cls: type) -> None:
    """Replace ``cls.__call__`` by hand, keeping its exact parameters.

    uvicorn tells an app from an app factory by calling ``app()`` and watching for a TypeError,
    so the replacement must reject a call without ``scope, receive, send`` just as the original
    does; a generic ``*args`` wrapper would make every plain Starlette app look like a factory.
    """
    found = cls.__dict__.get("__call__")
    if found is None or getattr(found, _OURS, False):
        return
    original: Callable[..., Awaitable[None]] = found

    async def __call__(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        if _saved.get(cls) is not original or scope.get("type") not in ("http", "websocket"):
            await original(self, scope, receive, send)  # uninstalled (left in another patch's chain), or lifespan
            return
        mark = scope.get(_MARK)
        if mark is not None and mark is current_request():
            await original(self, scope, receive, send)  # a nested app of a request already handled
            return
        await run_asgi(_Instrumented(original, self), scope, receive, send, "starlette", _config["style"])

    functools.update_wrapper(__call__, original)
    setattr(__call__, _OURS, True)
    _saved[cls] = original
    setattr(cls, "__call__", __call__)  # noqa: B010


def _unpatch_call(cls: type) -> None:
    original = _saved.pop(cls, None)
    current = cls.__dict__.get("__call__")
    if original is not None and getattr(current, _OURS, False):
        setattr(cls, "__call__", original)  # noqa: B010
    # else another library patched over ours: ours stays in its chain, as a pass-through


class _Instrumented:
    """The application as ``run_asgi`` calls it, inside the request's scope."""

    __slots__ = ("_app", "_instance")

    def __init__(self, app: Callable[..., Awaitable[None]], instance: Any) -> None:
        self._app = app
        self._instance = instance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = current_request()
        failed: frozenset[int] = _config["failed"]
        if state is not None:
            scope[_MARK] = state
            state.user = _user_of(scope)
        if state is None or not failed or scope.get("type") != "http":
            await self._app(self._instance, scope, receive, send)
            return

        async def watching_send(message: Message) -> None:
            if message.get("type") == "http.response.start":
                status = message.get("status")
                if isinstance(status, int) and status in failed:
                    _report(status)
            await send(message)

        await self._app(self._instance, scope, receive, watching_send)


def _report(status: int) -> None:
    """Report a failing response: the exception being turned into it, else the status itself."""
    try:
        state = current_request()
        if state is None:
            return
        exc = sys.exc_info()[1]
        if exc is not None:
            state.capture(exc, "starlette")  # once per request: the ASGI layer will not repeat it
        else:
            sdk_core.capture_message(f"HTTP {status} response", level="error")
    except Exception as error:
        log_internal_error("starlette failed response", error)


def _user_of(scope: Scope) -> Callable[[Policy], dict[str, Any] | None]:
    def user(policy: Policy) -> dict[str, Any] | None:
        if not policy.pii:
            return None
        current = scope.get("user")
        if current is None or not getattr(current, "is_authenticated", False):
            return None
        info: dict[str, Any] = {}
        for key, attribute in (("id", "identity"), ("username", "display_name")):
            try:
                value = getattr(current, attribute, None)
            except NotImplementedError:  # BaseUser leaves both to subclasses
                continue
            if value not in (None, ""):
                info[key] = str(value)
        return info or None

    return user
