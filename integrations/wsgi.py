"""WSGI middleware: one isolated scope per request, its trace continued, its failures captured.

The application's status, headers, body and exceptions pass through untouched: exceptions are
captured (mechanism ``wsgi``, unhandled) and re-raised as they were, including those raised while
the server iterates or closes the response. Django and Flask reuse ``run_wsgi`` through their
integrations rather than wrapping the app twice.

The raw ``wsgi.input`` stream cannot be read twice, so this middleware attaches no request body;
the Django and Flask integrations add it from their framework's request object.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from integrations._request import (
    Extracted,
    Policy,
    RequestScope,
    TransactionName,
    current_request,
    from_environ,
    request_scope,
)
from sdk_core.integration import is_enabled, start_server_span, tracing_enabled

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["WsgiMiddleware", "run_wsgi"]


class WsgiMiddleware:
    """Wrap any WSGI application: ``app = WsgiMiddleware(app)``.

    Costs a scope fork per request while the SDK is initialised and nothing otherwise; request
    data is read only when an event is captured. Nested use (a framework integration plus this
    middleware) opens one scope and captures each exception once.
    """

    def __init__(self, app: WSGIApplication, *, mechanism_type: str = "wsgi") -> None:
        self.app = app
        self.mechanism_type = mechanism_type

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return run_wsgi(self.app, environ, start_response, self.mechanism_type)


def run_wsgi(
    app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]],
    environ: WSGIEnvironment,
    start_response: StartResponse,
    mechanism_type: str,
) -> Iterable[bytes]:
    """Call ``app`` inside a request scope; the shared core of every WSGI-based integration."""
    if not is_enabled() or current_request() is not None:
        return app(environ, start_response)
    with request_scope(
        _environ_extractor(environ),
        _path_transaction(environ),
        environ.get("HTTP_SENTRY_TRACE"),
        environ.get("HTTP_TRACEPARENT"),
    ) as state:
        server = state.server_span = _server_span(environ, mechanism_type)
        if server is not None:
            start_response = _status_recorder(start_response, server)
        try:
            result = app(environ, start_response)
        except Exception as exc:
            state.capture(exc, mechanism_type)
            if server is not None:
                server.finish(exc)
                server.detach()
            raise
        plain = isinstance(result, (list, tuple)) or _is_file_wrapper(environ, result)
        context = contextvars.copy_context()
        if server is not None:
            server.detach()
            if plain:
                server.finish()  # inside the request's scope: the transaction gets its data
    if plain:
        # Nothing can fail while a list is sent; a file wrapper is left alone so the server keeps sendfile().
        return result
    if hasattr(result, "__len__"):
        return _SizedScopedResponse(result, context, state, mechanism_type)
    return _ScopedResponse(result, context, state, mechanism_type)


def _server_span(environ: Mapping[str, Any], mechanism_type: str) -> Any:
    """The request's ``http.server`` root span (None when tracing is off), named by path until routed."""
    if not tracing_enabled():
        return None
    path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "")
    return start_server_span(
        str(environ.get("REQUEST_METHOD") or "GET").upper(),
        path or "/",
        origin=f"auto.http.{mechanism_type}",
        sentry_trace=environ.get("HTTP_SENTRY_TRACE"),
        traceparent=environ.get("HTTP_TRACEPARENT"),
        baggage=environ.get("HTTP_BAGGAGE"),
        tracestate=environ.get("HTTP_TRACESTATE"),
    )


def _status_recorder(start_response: StartResponse, server: Any) -> StartResponse:
    def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        try:
            server.set_status_code(int(status[:3]))
        except ValueError:
            pass
        return start_response(status, headers, exc_info)

    return recording_start_response


def _environ_extractor(environ: Mapping[str, Any]) -> Callable[[Policy], Extracted]:
    def extract(policy: Policy) -> Extracted:
        return from_environ(environ, policy)

    return extract


def _path_transaction(environ: Mapping[str, Any]) -> Callable[[], TransactionName | None]:
    def transaction() -> TransactionName | None:
        path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "")
        return (path or "/", "url")

    return transaction


def _is_file_wrapper(environ: Mapping[str, Any], result: object) -> bool:
    wrapper = environ.get("wsgi.file_wrapper")
    return isinstance(wrapper, type) and isinstance(result, wrapper)


class _ScopedResponse:
    """The app's response iterable, iterated and closed inside the request's scope.

    Exceptions raised by the iterable (a streaming generator) or by its ``close()`` are captured
    and re-raised; ``close()`` is always forwarded, as PEP 3333 requires.
    """

    __slots__ = ("_context", "_iterator", "_mechanism", "_result", "_state")

    def __init__(
        self, result: Iterable[bytes], context: contextvars.Context, state: RequestScope, mechanism: str
    ) -> None:
        self._result = result
        self._context = context
        self._state = state
        self._mechanism = mechanism
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return self._context.run(self._next)

    def _next(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = iter(self._result)
            return next(self._iterator)
        except StopIteration:
            raise
        except Exception as exc:
            self._state.capture(exc, self._mechanism)
            server = self._state.server_span
            if server is not None:
                server.finish(exc)
            raise

    def close(self) -> None:
        self._context.run(self._close)

    def _close(self) -> None:
        server = self._state.server_span
        close = getattr(self._result, "close", None)
        try:
            if close is not None:
                close()
        except Exception as exc:
            self._state.capture(exc, self._mechanism)
            if server is not None:
                server.finish(exc)
            raise
        if server is not None:
            server.finish()


class _SizedScopedResponse(_ScopedResponse):
    """Keeps ``len()`` (servers use a one-block length to set Content-Length)."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)  # type: ignore[arg-type]
