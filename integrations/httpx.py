"""Outgoing-HTTP breadcrumbs for httpx: ``Client.send`` and ``AsyncClient.send``.

Every request goes through ``send`` (``get``, ``post``, ``stream``... all end there), so one patch
per client class sees each request once, with its final status or the error's type. The SDK's own
uploads run on its worker thread and are skipped. URL handling is the standard library
integration's (credentials, query values and fragment are dropped).
"""

from __future__ import annotations

from typing import Any

from sdk_core.integration import (
    DidNotEnable,
    is_sdk_sending,
    log_internal_error,
    outgoing_trace_headers,
    tracing_enabled,
)

from . import _patch
from .stdlib import client_span, end_client_span, http_breadcrumb


class HttpxIntegration:
    """Breadcrumbs (with tracing: spans and trace headers) for the application's httpx requests, not the SDK's."""
    identifier = "httpx"
    framework_module = "httpx"

    def setup_once(self) -> None:
        """Wrap Client.send and AsyncClient.send."""
        try:
            import httpx
        except ImportError as exc:
            raise DidNotEnable("httpx is not installed") from exc
        _patch.wrap(httpx.Client, "send", _send)
        _patch.wrap(httpx.AsyncClient, "send", _async_send)

    def uninstall(self) -> None:
        """Restore both send methods."""
        try:
            import httpx
        except ImportError:
            return
        _patch.unwrap(httpx.Client, "send")
        _patch.unwrap(httpx.AsyncClient, "send")


def _request_of(args: Any, kwargs: Any) -> Any:
    return args[0] if args else kwargs.get("request")


def _send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if is_sdk_sending():
        return wrapped(*args, **kwargs)
    request = _request_of(args, kwargs)
    span = _start(request) if tracing_enabled() else None
    try:
        response = wrapped(*args, **kwargs)
    except Exception as exc:
        _record(request, None, type(exc).__name__)
        end_client_span(span, None, exc)
        raise
    _record(request, response, None)
    end_client_span(span, getattr(response, "status_code", None), None)
    return response


async def _async_send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if is_sdk_sending():
        return await wrapped(*args, **kwargs)
    request = _request_of(args, kwargs)
    span = _start(request) if tracing_enabled() else None
    try:
        response = await wrapped(*args, **kwargs)
    except Exception as exc:
        _record(request, None, type(exc).__name__)
        end_client_span(span, None, exc)
        raise
    _record(request, response, None)
    end_client_span(span, getattr(response, "status_code", None), None)
    return response


def _start(request: Any) -> Any:
    """The request's ``http.client`` span, and its trace headers when the URL is a propagation target."""
    try:
        method, url = request.method, str(request.url)
        span = client_span(method, url, "auto.http.httpx")
        for name, value in outgoing_trace_headers(url, span).items():
            request.headers[name] = value
        return span
    except Exception as exc:
        log_internal_error("httpx span", exc)
        return None


def _record(request: Any, response: Any, reason: Any) -> None:
    method = getattr(request, "method", None)
    url = getattr(request, "url", None)
    if not isinstance(method, str) or url is None:
        return
    status = getattr(response, "status_code", None)
    http_breadcrumb(method, str(url), status if isinstance(status, int) else None, reason=reason)


__all__ = ["HttpxIntegration"]
