"""aiohttp: the server's requests (one isolated scope each) and the client's requests (breadcrumbs).

Server, through ``Application._handle`` (every request of a root application, sub-applications
included, passes there once):

* One isolated scope per request, continuing its incoming trace.
* Events are named after the matched resource (``/items/{item_id}``, source ``route``).
* ``request`` data (method, URL, query, headers; cookies and the client address only with
  ``send_default_pii``), and the body the handler read (``await request.read()``/``json()``/
  ``post()``), parsed and size-limited per ``max_request_body_size``.
* Unhandled exceptions are captured (mechanism ``aiohttp``); an ``HTTPException`` raised or
  returned with a status in ``failed_request_status_codes`` (default 500-599) is captured too, and
  any other response with such a status is reported as a message.

aiohttp binds the handler when an application's runner starts (``web.run_app``,
``AppRunner.setup``): call ``init`` before that.

Client, through ``ClientSession._request``: one ``http`` breadcrumb per request with the method,
the URL without credentials and query values (the parameter names are kept) and the status, or
the error's type when it failed.

Tracing (``traces_sample_rate`` set): each server request is an ``http.server`` root span (origin
``auto.http.aiohttp``) continuing the incoming ``traceparent``/``sentry-trace``/``baggage``, named
after the matched resource (``/items/{item_id}``, source ``route``) with the response status; each
client request is an ``http.client`` span, and a request to one of ``trace_propagation_targets``
carries the trace headers (the SDK's own uploads never do).
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable

import sdk_core
from integrations._patch import unwrap, wrap
from integrations._request import (
    DEFAULT_FAILED_REQUEST_STATUS_CODES,
    Extracted,
    Policy,
    TransactionName,
    client_ip,
    current_request,
    decode_body,
    failed_status_codes,
    parse_cookies,
    quote_path,
    request_scope,
    set_oversize_body,
)
from integrations.stdlib import client_span, end_client_span, http_breadcrumb
from sdk_core.integration import (
    DidNotEnable,
    is_enabled,
    is_sdk_sending,
    log_internal_error,
    outgoing_trace_headers,
    start_server_span,
    tracing_enabled,
)

__all__ = ["DEFAULT_FAILED_REQUEST_STATUS_CODES", "AioHttpIntegration"]

_failed: frozenset[int] = DEFAULT_FAILED_REQUEST_STATUS_CODES
# aiohttp binds ``app._handle`` when its runner starts: a server started before ``uninstall``
# keeps the wrapper, which then passes straight through.
_active = False


class AioHttpIntegration:
    """Instrument aiohttp's server and client. ``failed_request_status_codes``: the response
    statuses reported as errors (default 500-599; ``set()`` reports unhandled exceptions only)."""

    identifier = "aiohttp"
    framework_module = "aiohttp"

    def __init__(self, failed_request_status_codes: Iterable[Any] | None = None) -> None:
        self.failed_request_status_codes = failed_status_codes(failed_request_status_codes)

    def setup_once(self) -> None:
        """Wrap the server's request handling (Application._handle) and the client's ClientSession._request."""
        global _active, _failed
        try:
            from aiohttp import client, web_app
        except ImportError as exc:
            raise DidNotEnable("aiohttp is not installed") from exc
        _failed = self.failed_request_status_codes
        wrap(web_app.Application, "_handle", _handle)
        wrap(client.ClientSession, "_request", _client_request)
        _active = True

    def uninstall(self) -> None:
        """Restore both methods."""
        global _active
        _active = False
        try:
            from aiohttp import client, web_app
        except ImportError:
            return
        unwrap(web_app.Application, "_handle")
        unwrap(client.ClientSession, "_request")


async def _handle(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    request = args[0] if args else kwargs.get("request")
    if request is None or not _active or not is_enabled() or current_request() is not None:
        return await wrapped(*args, **kwargs)
    headers = request.headers
    with request_scope(
        _Extractor(request), _Transaction(request), headers.get("sentry-trace"), headers.get("traceparent")
    ) as state:
        from aiohttp.web import HTTPException

        server = state.server_span = _server_span(request) if tracing_enabled() else None
        try:
            response = await wrapped(*args, **kwargs)
        except HTTPException as exc:
            if exc.status in _failed:
                state.capture(exc, "aiohttp")
            _end_span(server, request, exc.status, None)
            raise
        except asyncio.CancelledError as exc:
            _end_span(server, request, None, exc)
            raise  # the client went away: not an application error
        except Exception as exc:
            state.capture(exc, "aiohttp")
            _end_span(server, request, 500, exc)
            raise
        status = getattr(response, "status", None)
        _end_span(server, request, status, None)
        if isinstance(status, int) and status in _failed:
            try:
                if isinstance(response, BaseException):
                    state.capture(response, "aiohttp")
                else:
                    sdk_core.capture_message(f"HTTP {status} response", level="error")
            except Exception as error:
                log_internal_error("aiohttp failed response", error)
        return response


def _server_span(request: Any) -> Any:
    """The request's ``http.server`` root span, continuing the caller's trace; named by path until routed."""
    try:
        headers = request.headers
        return start_server_span(
            str(request.method).upper(),
            str(request.path or "/"),
            origin="auto.http.aiohttp",
            sentry_trace=headers.get("sentry-trace"),
            traceparent=headers.get("traceparent"),
            baggage=headers.get("baggage"),
            tracestate=headers.get("tracestate"),
        )
    except Exception as exc:
        log_internal_error("aiohttp request span", exc)
        return None


def _end_span(server: Any, request: Any, status: Any, exc: BaseException | None) -> None:
    if server is None:
        return
    try:
        name = _Transaction(request)()
        if name is not None and name[1] == "route":
            server.set_route(name[0])
        if isinstance(status, int):
            server.set_status_code(status)
        server.finish(exc)
        server.detach()
    except Exception as error:
        log_internal_error("aiohttp request span", error)


class _Extractor:
    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def __call__(self, policy: Policy) -> Extracted:
        req = self._request
        headers = {str(k).title(): str(v) for k, v in req.headers.items()}
        host = headers.get("Host") or str(req.host)
        request: dict[str, Any] = {
            "method": str(req.method).upper(),
            "url": f"{req.scheme}://{host}{quote_path(req.path)}",
            "query_string": str(req.query_string or ""),
            "headers": headers,
        }
        remote = req.remote
        extracted = Extracted(request, {}, client_ip(headers, remote) if policy.pii else None)
        if policy.pii:
            cookies = parse_cookies(headers.get("Cookie"))
            if cookies:
                request["cookies"] = cookies
            if remote:
                request["env"] = {"REMOTE_ADDR": str(remote)}
        if policy.body_limit != 0:
            body = getattr(req, "_read_bytes", None)  # what the handler read; never read here
            if isinstance(body, bytes):
                decode_body(extracted, body, headers.get("Content-Type"), policy)
            elif policy.body_limit is not None and (req.content_length or 0) > policy.body_limit:
                set_oversize_body(extracted, req.content_length)
        return extracted


class _Transaction:
    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def __call__(self) -> TransactionName | None:
        req = self._request
        try:
            resource = req.match_info.route.resource
        except Exception:
            resource = None
        canonical = getattr(resource, "canonical", None)
        if isinstance(canonical, str) and canonical:
            return (canonical, "route")
        return (str(req.path or "/"), "url")


async def _client_request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if is_sdk_sending():
        return await wrapped(*args, **kwargs)
    method = args[0] if args else kwargs.get("method")
    url = args[1] if len(args) > 1 else kwargs.get("str_or_url")
    span = _client_span(instance, method, url, kwargs) if tracing_enabled() else None
    try:
        response = await wrapped(*args, **kwargs)
    except Exception as exc:
        if isinstance(method, str) and url is not None:
            http_breadcrumb(method, str(url), reason=type(exc).__name__)
        end_client_span(span, None, exc)
        raise
    status = getattr(response, "status", None)
    if isinstance(method, str):
        http_breadcrumb(method, str(getattr(response, "url", url)), status if isinstance(status, int) else None)
    end_client_span(span, status, None)
    return response


def _client_span(session: Any, method: Any, url: Any, kwargs: Any) -> Any:
    """The request's ``http.client`` span; its trace headers go into ``kwargs["headers"]`` for a target."""
    if not isinstance(method, str) or url is None:
        return None
    try:
        full = str(url)
        base = getattr(session, "_base_url", None)
        if base is not None and "://" not in full:
            full = str(base.join(type(base)(full)))
        span = client_span(method, full, "auto.http.aiohttp")
        extra = outgoing_trace_headers(full, span)
        if extra:
            from multidict import CIMultiDict

            headers: CIMultiDict[str] = CIMultiDict(kwargs.get("headers") or {})
            for name, value in extra.items():
                if name not in headers:  # the caller's own trace headers win
                    headers[name] = value
            kwargs["headers"] = headers
        return span
    except Exception as exc:
        log_internal_error("aiohttp client span", exc)
        return None
