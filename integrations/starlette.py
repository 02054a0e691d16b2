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

import contextvars
import sys
from typing import Any, Awaitable, Callable, Iterable, Optional

import sdk_core
from integrations._patch import unwrap, wrap
from integrations._request import DEFAULT_FAILED_REQUEST_STATUS_CODES, Policy, current_request, failed_status_codes
from integrations.asgi import Message, Receive, Scope, Send, run_asgi
from sdk_core.integration import DidNotEnable, log_internal_error

__all__ = ["DEFAULT_FAILED_REQUEST_STATUS_CODES", "StarletteIntegration"]

_STYLES = ("url", "endpoint")

# The request (its ASGI ``headers`` object, which scope copies share) being handled by an
# instrumented Starlette app: nested apps (mounts, sub-apps) of the same request pass straight
# through, so it is described and reported once. A server that starts the next request from the
# previous one's context (uvicorn, for pipelined requests) hands it a different headers object.
_active: contextvars.ContextVar[object] = contextvars.ContextVar("coderadar_starlette", default=None)


class StarletteIntegration:
    """Instrument every Starlette (and so FastAPI) application in the process.

    ``transaction_style``: ``"url"`` (default) names events after the route template,
    ``"endpoint"`` after the endpoint function. ``failed_request_status_codes``: the response
    statuses reported as errors (default 500-599; pass ``set()`` to report exceptions only).
    """

    identifier = "starlette"

    def __init__(
        self,
        transaction_style: str = "url",
        failed_request_status_codes: Optional[Iterable[Any]] = None,
    ) -> None:
        if transaction_style not in _STYLES:
            raise ValueError(f"transaction_style: expected one of {', '.join(_STYLES)}, got {transaction_style!r}")
        self.transaction_style = transaction_style
        self.failed_request_status_codes = failed_status_codes(failed_request_status_codes)

    def setup_once(self) -> None:
        try:
            from starlette.applications import Starlette
        except ImportError as exc:
            raise DidNotEnable("starlette is not installed") from exc
        _config.update(style=self.transaction_style, failed=self.failed_request_status_codes)
        wrap(Starlette, "__call__", _starlette_call)

    def uninstall(self) -> None:
        try:
            from starlette.applications import Starlette
        except ImportError:
            return
        unwrap(Starlette, "__call__")


_config: dict[str, Any] = {"style": "url", "failed": DEFAULT_FAILED_REQUEST_STATUS_CODES}


def _starlette_call(
    wrapped: Callable[[Scope, Receive, Send], Awaitable[None]], instance: Any, args: Any, kwargs: Any
) -> Awaitable[None]:
    if kwargs or len(args) != 3 or args[0].get("type") not in ("http", "websocket"):
        return wrapped(*args, **kwargs)
    key = args[0].get("headers")
    if key is not None and _active.get() is key:
        return wrapped(*args, **kwargs)
    scope, receive, send = args
    return run_asgi(_Instrumented(wrapped), scope, receive, send, "starlette", _config["style"])


class _Instrumented:
    """The application as ``run_asgi`` calls it, inside the request's scope."""

    __slots__ = ("_app",)

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _active.set(scope.get("headers"))
        try:
            state = current_request()
            failed: frozenset[int] = _config["failed"]
            if state is not None:
                state.user = _user_of(scope)
            if state is None or not failed or scope.get("type") != "http":
                await self._app(scope, receive, send)
                return

            async def watching_send(message: Message) -> None:
                if message.get("type") == "http.response.start":
                    status = message.get("status")
                    if isinstance(status, int) and status in failed:
                        _report(status)
                await send(message)

            await self._app(scope, receive, watching_send)
        finally:
            _active.reset(token)


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


def _user_of(scope: Scope) -> Callable[[Policy], Optional[dict[str, Any]]]:
    def user(policy: Policy) -> Optional[dict[str, Any]]:
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
