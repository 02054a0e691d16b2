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
from integrations.stdlib import http_breadcrumb
from sdk_core.integration import DidNotEnable, is_enabled, log_internal_error

__all__ = ["DEFAULT_FAILED_REQUEST_STATUS_CODES", "AioHttpIntegration"]

_failed: frozenset[int] = DEFAULT_FAILED_REQUEST_STATUS_CODES
# aiohttp binds ``app._handle`` when its runner starts: a server started before ``uninstall``
# keeps the wrapper, which then passes straight through.
_active = False


class AioHttpIntegration:
    """Instrument aiohttp's server and client. ``failed_request_status_codes``: the response
    statuses reported as errors (default 500-599; ``set()`` reports unhandled exceptions only)."""

    identifier = "aiohttp"

    def __init__(self, failed_request_status_codes: Iterable[Any] | None = None) -> None:
        self.failed_request_status_codes = failed_status_codes(failed_request_status_codes)

    def setup_once(self) -> None:
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

        try:
            response = await wrapped(*args, **kwargs)
        except HTTPException as exc:
            if exc.status in _failed:
                state.capture(exc, "aiohttp")
            raise
        except asyncio.CancelledError:
            raise  # the client went away: not an application error
        except Exception as exc:
            state.capture(exc, "aiohttp")
            raise
        status = getattr(response, "status", None)
        if isinstance(status, int) and status in _failed:
            try:
                if isinstance(response, BaseException):
                    state.capture(response, "aiohttp")
                else:
                    sdk_core.capture_message(f"HTTP {status} response", level="error")
            except Exception as error:
                log_internal_error("aiohttp failed response", error)
        return response


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
    method = args[0] if args else kwargs.get("method")
    url = args[1] if len(args) > 1 else kwargs.get("str_or_url")
    try:
        response = await wrapped(*args, **kwargs)
    except Exception as exc:
        if isinstance(method, str) and url is not None:
            http_breadcrumb(method, str(url), reason=type(exc).__name__)
        raise
    if isinstance(method, str):
        status = getattr(response, "status", None)
        http_breadcrumb(method, str(getattr(response, "url", url)), status if isinstance(status, int) else None)
    return response
