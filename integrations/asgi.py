"""ASGI 3 middleware: one isolated scope per ``http``/``websocket`` connection, failures captured.

Exceptions raised by the application are captured (mechanism ``asgi``, unhandled) and re-raised
unchanged; ``send`` is wrapped only with tracing on, to note the status (messages pass unchanged),
so status, headers and body are the application's own.
``lifespan`` and other scope types pass straight through. The request body is recorded, up to
``max_request_body_size``, only as the application itself reads it through ``receive``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping

from integrations._request import (
    Extracted,
    Policy,
    TransactionName,
    current_policy,
    current_request,
    decode_body,
    foreign_request,
    from_asgi,
    qualified_name,
    request_scope,
    set_oversize_body,
)
from sdk_core.integration import is_enabled, log_internal_error, start_server_span, tracing_enabled

__all__ = ["AsgiMiddleware", "run_asgi"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_STYLES = ("url", "endpoint")

_REQUEST_KEY = "coderadar.request_key"
"""Scope key holding the identity of one request across nested ASGI layers."""


class AsgiMiddleware:
    """Wrap any ASGI 3 application: ``app = AsgiMiddleware(app)``.

    ``transaction_style="url"`` names events after the matched route template when the router
    records one in ``scope["route"]`` (Starlette, FastAPI), else the path; ``"endpoint"`` uses the
    dotted name of ``scope["endpoint"]``.
    """

    def __init__(self, app: ASGIApp, *, transaction_style: str = "url", mechanism_type: str = "asgi") -> None:
        if transaction_style not in _STYLES:
            raise ValueError(f"transaction_style: expected one of {', '.join(_STYLES)}, got {transaction_style!r}")
        self.app = app
        self.transaction_style = transaction_style
        self.mechanism_type = mechanism_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_asgi(self.app, scope, receive, send, self.mechanism_type, self.transaction_style)


async def run_asgi(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    mechanism_type: str,
    transaction_style: str = "url",
    record_body: bool = True,
) -> None:
    """Call ``app`` inside a request scope; the shared core of every ASGI-based integration.

    ``record_body=False`` is for frameworks that keep the body themselves (Django does).
    """
    kind = scope.get("type")
    if kind not in ("http", "websocket") or not is_enabled():
        await app(scope, receive, send)
        return
    key = scope.get(_REQUEST_KEY)
    if key is None:
        # Identity of this request, kept by the scope copies nested layers make. Not the headers
        # list: Starlette's ``Headers(scope=...)`` replaces it the first time headers are read.
        key = scope[_REQUEST_KEY] = object()
    leaving = foreign_request(key)
    if leaving is None and current_request() is not None:
        await app(scope, receive, send)  # an outer layer opened this request's scope
        return
    headers = _pick_headers(scope.get("headers") or ())
    recorder: _BodyRecorder | None = None
    if kind == "http" and record_body:
        limit = current_policy().body_limit
        if limit != 0:
            recorder = _BodyRecorder(receive, limit, headers.get(b"content-length"))
    with request_scope(
        _Extractor(scope, recorder, headers.get(b"content-type")),
        _Transaction(scope, transaction_style),
        headers.get(b"sentry-trace"),
        headers.get(b"traceparent"),
        key=key,
        leaving=leaving,
    ) as state:
        server = state.server_span = _server_span(scope, headers, mechanism_type) if tracing_enabled() else None
        route = None
        if server is not None:
            send = _status_recorder(send, server)
            route = _Transaction(scope, "url")  # before mounts rewrite root_path: keeps their prefixes
            # FastAPI's native telemetry would open a second, unrelated server span (a second
            # transaction): like for OpenTelemetry's own ASGI middleware, it stands aside.
            scope.setdefault("fastapi.telemetry", None)
        try:
            await app(scope, recorder if recorder is not None else receive, send)
        except Exception as exc:
            state.capture(exc, mechanism_type)
            _end_span(server, route, exc)
            raise
        _end_span(server, route, None)


_WANTED = frozenset((b"content-length", b"content-type", b"sentry-trace", b"traceparent", b"baggage", b"tracestate"))


def _server_span(scope: Scope, headers: dict[bytes, str], mechanism_type: str) -> Any:
    """The connection's ``http.server`` root span, named by path until the router's template is known."""
    method = "GET" if scope.get("type") == "websocket" else str(scope.get("method") or "GET")
    return start_server_span(
        method,
        str(scope.get("root_path") or "") + str(scope.get("path") or "/"),
        origin=f"auto.http.{mechanism_type}",
        sentry_trace=headers.get(b"sentry-trace"),
        traceparent=headers.get(b"traceparent"),
        baggage=headers.get(b"baggage"),
        tracestate=headers.get(b"tracestate"),
    )


def _status_recorder(send: Send, server: Any) -> Send:
    """Only with tracing on: notes the response status as it passes (the message is not changed)."""

    async def recording_send(message: Message) -> None:
        if message.get("type") == "http.response.start":
            status = message.get("status")
            if isinstance(status, int):
                server.set_status_code(status)
        await send(message)

    return recording_send


def _end_span(server: Any, route: _Transaction | None, exc: BaseException | None) -> None:
    if server is None or route is None:
        return
    try:
        name = route()
        if name is not None and name[1] == "route":
            server.set_route(name[0])
        server.finish(exc)
        server.detach()
    except Exception as error:
        log_internal_error("asgi request span", error)


def _pick_headers(raw: Any) -> dict[bytes, str]:
    """Only the headers needed up front; the rest are decoded if an event is captured."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        key = bytes(name).lower()
        if key in _WANTED:
            found[key] = bytes(value).decode("latin-1")
    return found


class _BodyRecorder:
    """A ``receive`` that keeps a copy of the body the application reads, up to ``limit`` bytes."""

    __slots__ = ("_receive", "chunks", "complete", "declared", "limit", "overflow", "size")

    def __init__(self, receive: Receive, limit: int | None, content_length: str | None) -> None:
        self._receive = receive
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.declared = 0
        if content_length is not None:
            try:
                self.declared = max(0, int(content_length))
            except ValueError:
                pass
        # A declared length over the limit is enough: nothing is copied at all.
        self.overflow = limit is not None and self.declared > limit

    async def __call__(self) -> Message:
        message = await self._receive()
        if message.get("type") == "http.request" and not self.complete:
            body = message.get("body") or b""
            self.size += len(body)
            if not self.overflow:
                if self.limit is not None and self.size > self.limit:
                    self.overflow, self.chunks = True, []
                elif body:
                    self.chunks.append(bytes(body))
            if not message.get("more_body", False):
                self.complete = True
        return message


class _Extractor:
    __slots__ = ("_content_type", "_recorder", "_scope")

    def __init__(self, scope: Scope, recorder: _BodyRecorder | None, content_type: str | None) -> None:
        self._scope = scope
        self._recorder = recorder
        self._content_type = content_type

    def __call__(self, policy: Policy) -> Extracted:
        extracted = from_asgi(self._scope, policy)
        recorder = self._recorder
        if recorder is not None and policy.body_limit != 0:
            if recorder.overflow:
                set_oversize_body(extracted, max(recorder.size, recorder.declared) or None)
            elif recorder.complete:
                decode_body(extracted, b"".join(recorder.chunks), self._content_type, policy)
        return extracted


class _Transaction:
    __slots__ = ("_path", "_root_path", "_scope", "_style")

    def __init__(self, scope: Scope, style: str) -> None:
        self._scope = scope
        self._style = style
        # Routers rewrite root_path/path in place as they descend into mounts: keep the originals.
        self._root_path = str(scope.get("root_path") or "")
        self._path = str(scope.get("path") or "/")

    def __call__(self) -> TransactionName | None:
        scope = self._scope
        if self._style == "endpoint":
            name = qualified_name(scope["endpoint"]) if scope.get("endpoint") is not None else None
            if name:
                return (name, "component")
        template = getattr(scope.get("route"), "path", None)
        if isinstance(template, str):
            root_path = str(scope.get("root_path") or "")
            prefix = root_path[len(self._root_path) :] if root_path.startswith(self._root_path) else ""
            return (prefix + template, "route")
        router = scope.get("router")
        if router is not None:
            # Routers that record only themselves (Starlette before 1.0): match the request again.
            request = {key: scope[key] for key in _MATCH_KEYS if key in scope}
            request.update(path=self._path, root_path=self._root_path)
            template = _route_template(router, request, "")
            if template:
                return (template, "route")
        return (self._path, "url")


_MATCH_KEYS = ("type", "method", "headers", "scheme", "server", "query_string")


def _route_template(router: Any, request: Scope, prefix: str, depth: int = 0) -> str | None:
    """The path template of the route that fully matches ``request``, through nested mounts."""
    for route in getattr(router, "routes", None) or ():
        try:
            match, child = route.matches(request)
        except Exception:
            continue
        if getattr(match, "name", None) != "FULL":
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            return None
        nested = getattr(route, "routes", None)
        if nested and depth < 8:
            return _route_template(route, {**request, **child}, prefix + path, depth + 1)
        return prefix + path
    return None
