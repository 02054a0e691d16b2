"""Outgoing-HTTP breadcrumbs for ``http.client`` (and so for urllib, urllib3 and requests).

``HTTPConnection.putrequest`` remembers the method and URL on the connection; ``getresponse``
records one breadcrumb with the status (or the error's type if it raised). The SDK's own requests
(made on its worker thread) are not recorded.

URLs are recorded without credentials, query values or fragment: ``https://u:p@h/p?token=x#f``
becomes ``https://h/p`` with ``data["http.query"] = "token"`` (the parameter names only).
``http_breadcrumb`` is shared with the httpx integration.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import sdk_core
from sdk_core.integration import (
    fail_span,
    guarded,
    is_sdk_sending,
    log_internal_error,
    outgoing_trace_headers,
    start_child_span,
    tracing_enabled,
)

from . import _patch

_PENDING = "_coderadar_http_request"


class StdlibIntegration:
    """Breadcrumbs (and, with tracing, spans) for http.client requests: urllib, requests, urllib3 users."""
    identifier = "stdlib"
    framework_module = "http.client"  # installed once the application imports it (urllib, requests...)

    def setup_once(self) -> None:
        """Wrap HTTPConnection.putrequest and getresponse."""
        _patch.wrap(http.client.HTTPConnection, "putrequest", _putrequest)
        _patch.wrap(http.client.HTTPConnection, "getresponse", _getresponse)

    def uninstall(self) -> None:
        """Restore both methods."""
        _patch.unwrap(http.client.HTTPConnection, "putrequest")
        _patch.unwrap(http.client.HTTPConnection, "getresponse")


def _putrequest(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    if not is_sdk_sending():
        try:
            method = args[0] if args else kwargs.get("method")
            url = args[1] if len(args) > 1 else kwargs.get("url")
            if isinstance(method, str) and isinstance(url, str):
                full = _absolute_url(instance, url)
                span = client_span(method, full, "auto.http.stdlib") if tracing_enabled() else None
                setattr(instance, _PENDING, (method, full, span))
                if tracing_enabled():
                    for name, value in outgoing_trace_headers(full, span).items():
                        instance.putheader(name, value)
        except Exception as error:
            log_internal_error("http.client putrequest", error)
    return result


def _getresponse(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    pending = instance.__dict__.pop(_PENDING, None)
    if pending is None:
        return wrapped(*args, **kwargs)
    method, url, span = pending
    try:
        response = wrapped(*args, **kwargs)
    except Exception as exc:
        http_breadcrumb(method, url, reason=type(exc).__name__)
        end_client_span(span, None, exc)
        raise
    status = getattr(response, "status", None)
    http_breadcrumb(method, url, status)
    end_client_span(span, status, None)
    return response


def client_span(method: str, url: str, origin: str) -> Any:
    """An ``http.client`` span for one outgoing request (URL without credentials or query values)."""
    clean, query = sanitize_url(url)
    attributes: dict[str, Any] = {"http.request.method": method.upper(), "url.full": clean}
    if query:
        attributes["http.query"] = query
    return start_child_span(f"{method.upper()} {clean}", kind="client", origin=origin, attributes=attributes)


def end_client_span(span: Any, status: Any, exc: BaseException | None) -> None:
    """End a span from ``client_span`` with the response's status code or the error."""
    if span is None:
        return
    try:
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        if exc is not None:
            fail_span(span, exc)
        span.end()
    except Exception as error:
        log_internal_error("http client span", error)


def _absolute_url(conn: http.client.HTTPConnection, url: str) -> str:
    if "://" in url:  # a request through a plain-HTTP proxy carries the absolute URL
        return url
    # Through an HTTPS proxy the connection's host is the proxy; the tunnel's is the real one.
    host = getattr(conn, "_tunnel_host", None) or conn.host
    port = getattr(conn, "_tunnel_port", None) or conn.port
    https = getattr(http.client, "HTTPSConnection", None)
    secure = https is not None and isinstance(conn, https)
    scheme, default_port = ("https", 443) if secure else ("http", 80)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    return f"{scheme}://{netloc}{url if url.startswith('/') else '/' + url}"


def sanitize_url(url: str) -> tuple[str, str | None]:
    """``url`` without userinfo, query and fragment, and the query's parameter names (or None)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        query = "&".join(names) if names else None
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")), query
    except Exception:
        return "[unparseable url]", None


@guarded("http breadcrumb")
def http_breadcrumb(method: str, url: str, status_code: int | None = None, *, reason: str | None = None) -> None:
    """Record one outgoing request: category ``http``, level from the status. Never raises."""
    if is_sdk_sending():
        return
    clean, query = sanitize_url(url)
    data: dict[str, Any] = {"method": method.upper(), "url": clean}
    if query:
        data["http.query"] = query
    level = "info"
    if status_code is not None:
        data["status_code"] = status_code
        if status_code >= 500:
            level = "error"
        elif status_code >= 400:
            level = "warning"
    if reason is not None:
        data["reason"] = reason
        level = "error"
    sdk_core.add_breadcrumb(type="http", category="http", level=level, data=data)


__all__ = ["StdlibIntegration", "client_span", "end_client_span", "http_breadcrumb", "sanitize_url"]
