"""Django (3.2 and later): unhandled view errors, request data, user, transaction name, SQL breadcrumbs.

Signals and hooks, nothing else:

* ``got_request_exception`` captures the errors Django turns into a 500 (mechanism ``django``);
  Django still renders its own 500 page or technical debug page, exactly as without the SDK.
* ``WSGIHandler.__call__`` / ``ASGIHandler.__call__`` run through ``run_wsgi`` / ``run_asgi``, and
  ``BaseHandler.get_response[_async]`` attaches the ``HttpRequest`` to the request's scope (or opens
  one, as under ``django.test.Client``, which bypasses both handlers).
* ``CursorWrapper.execute/executemany`` record each statement as a ``query`` breadcrumb: the SQL
  with its ``%s`` placeholders, never the parameters.

Django is imported only inside ``setup_once`` and the hooks, so importing this module or
constructing ``DjangoIntegration`` imports no Django (``init`` installs it when Django is first
imported); without Django installed, constructing it raises ``DidNotEnable``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import sdk_core
from integrations._patch import unwrap, wrap
from integrations._request import (
    Extracted,
    Policy,
    RequestScope,
    TransactionName,
    body_allowed,
    capture_exception,
    current_request,
    decode_body,
    form_to_dict,
    from_environ,
    media_type,
    qualified_name,
    request_scope,
    set_body,
    set_oversize_body,
)
from integrations.asgi import run_asgi
from integrations.wsgi import run_wsgi
from sdk_core.integration import (
    DidNotEnable,
    fail_span,
    guarded,
    is_enabled,
    log_internal_error,
    start_child_span,
    start_server_span,
    tracing_enabled,
)

__all__ = ["DjangoIntegration"]

_STYLES = ("url", "function_name")
_DISPATCH_UID = "coderadar.integrations.django"
_MIN_VERSION = (3, 2)


@dataclass(frozen=True)
class _Config:
    transaction_style: str = "url"
    record_sql: bool = True


_config = _Config()
_patched: list[tuple[Any, str]] = []
_installed = False


def _require_django() -> Any:
    try:
        import django
    except ImportError as exc:
        raise DidNotEnable("Django is not installed") from exc
    if tuple(django.VERSION[:2]) < _MIN_VERSION:
        raise DidNotEnable(f"Django {django.get_version()} is older than 3.2")
    return django


class DjangoIntegration:
    """Capture Django's unhandled request errors with the request, user, route and SQL trail.

    ``transaction_style``: ``"url"`` (default) names events after the URL pattern
    (``/orders/<int:order_id>/``), ``"function_name"`` after the view's dotted path.
    ``record_sql=False`` turns the SQL breadcrumbs off.
    """

    identifier = "django"
    framework_module = "django"

    def __init__(self, transaction_style: str = "url", record_sql: bool = True) -> None:
        if transaction_style not in _STYLES:
            raise ValueError(f"transaction_style: expected one of {', '.join(_STYLES)}, got {transaction_style!r}")
        if not isinstance(record_sql, bool):
            raise TypeError(f"record_sql: expected True or False, got {type(record_sql).__name__}")
        if importlib.util.find_spec("django") is None:
            raise DidNotEnable("Django is not installed")
        self.transaction_style = transaction_style
        self.record_sql = record_sql

    def setup_once(self) -> None:
        """Patch Django's request handlers and connect its signals; SQL breadcrumbs if enabled."""
        global _config, _installed
        _require_django()
        _config = _Config(self.transaction_style, self.record_sql)
        if _installed:
            return
        from django.core import signals
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.base import BaseHandler
        from django.core.handlers.wsgi import WSGIHandler
        from django.db.backends.utils import CursorWrapper

        signals.got_request_exception.connect(_on_exception, weak=False, dispatch_uid=_DISPATCH_UID)
        for owner, name, wrapper in (
            (WSGIHandler, "__call__", _wsgi_call),
            (ASGIHandler, "__call__", _asgi_call),
            (BaseHandler, "get_response", _get_response),
            (BaseHandler, "get_response_async", _get_response_async),
            (CursorWrapper, "execute", _execute),
            (CursorWrapper, "executemany", _executemany),
        ):
            if wrap(owner, name, wrapper):
                _patched.append((owner, name))
        _installed = True

    def uninstall(self) -> None:
        """Restore the handlers and disconnect the signals."""
        global _installed
        if not _installed:
            return
        from django.core import signals

        signals.got_request_exception.disconnect(dispatch_uid=_DISPATCH_UID)
        while _patched:
            owner, name = _patched.pop()
            unwrap(owner, name)
        _installed = False


# -- handlers: one request scope per request ------------------------------------------------


def _wsgi_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 2:
        return wrapped(*args, **kwargs)
    return run_wsgi(wrapped, args[0], args[1], "django")


async def _asgi_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 3:
        return await wrapped(*args, **kwargs)
    await run_asgi(wrapped, args[0], args[1], args[2], "django", record_body=False)
    return None


def _get_response(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    request = args[0] if args else kwargs.get("request")
    if request is None or not is_enabled():
        return wrapped(*args, **kwargs)
    state = current_request()
    if state is not None:
        _describe(state, request)
        try:
            return wrapped(*args, **kwargs)
        finally:
            _name_span(state, request)
    meta = request.META
    with request_scope(_extractor(request), None, meta.get("HTTP_SENTRY_TRACE"), meta.get("HTTP_TRACEPARENT")) as state:
        _describe(state, request)
        state.server_span = _server_span(request)
        try:
            response = wrapped(*args, **kwargs)
        except Exception as exc:
            _end_span(state, request, None, exc)
            raise
        _end_span(state, request, response, None)
        return response


async def _get_response_async(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    request = args[0] if args else kwargs.get("request")
    if request is None or not is_enabled():
        return await wrapped(*args, **kwargs)
    state = current_request()
    if state is not None:
        _describe(state, request)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _name_span(state, request)
    meta = request.META
    with request_scope(_extractor(request), None, meta.get("HTTP_SENTRY_TRACE"), meta.get("HTTP_TRACEPARENT")) as state:
        _describe(state, request)
        state.server_span = _server_span(request)
        try:
            response = await wrapped(*args, **kwargs)
        except Exception as exc:
            _end_span(state, request, None, exc)
            raise
        _end_span(state, request, response, None)
        return response


# -- tracing: the request's root span, named after the URL pattern ---------------------------


def _server_span(request: Any) -> Any:
    """A root span when the request did not come through a handler that opened one (the test client)."""
    if not tracing_enabled():
        return None
    meta = request.META
    return start_server_span(
        str(request.method or "GET"),
        str(request.path or "/"),
        origin="auto.http.django",
        sentry_trace=meta.get("HTTP_SENTRY_TRACE"),
        traceparent=meta.get("HTTP_TRACEPARENT"),
        baggage=meta.get("HTTP_BAGGAGE"),
        tracestate=meta.get("HTTP_TRACESTATE"),
    )


@guarded("django span name")
def _name_span(state: RequestScope, request: Any) -> None:
    """Name the root span after the matched URL pattern (``/orders/<int:order_id>/``)."""
    server = state.server_span
    if server is None:
        return
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None) if match is not None else None
    if route:
        server.set_route(readable_route(str(route)))


def _end_span(state: RequestScope, request: Any, response: Any, exc: BaseException | None) -> None:
    server = state.server_span
    if server is None:
        return
    try:
        _name_span(state, request)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            server.set_status_code(status)
        server.detach()
        server.finish(exc)
    except Exception as error:
        log_internal_error("django request span", error)


@guarded("django request")
def _describe(state: RequestScope, request: Any) -> None:
    """Point the request's scope at the ``HttpRequest``; everything is read only if an event is captured."""
    state.extract = _extractor(request)
    state.transaction = _transaction(request, _config.transaction_style)
    state.user = _user(request)


def _on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception``: Django is handling an uncaught error (``sys.exc_info()`` is set)."""
    exc = sys.exc_info()[1]
    if exc is None or not is_enabled():
        return
    fallback = None
    if request is not None and current_request() is None:
        fallback = RequestScope(_extractor(request))
        _describe(fallback, request)
    capture_exception(exc, "django", fallback)


# -- what an event learns about the request ------------------------------------------------


def _extractor(request: Any) -> Callable[[Policy], Extracted]:
    def extract(policy: Policy) -> Extracted:
        try:
            scheme: str | None = request.scheme
        except Exception:
            scheme = None
        extracted = from_environ(request.META, policy, scheme=scheme, path=request.path)
        if policy.body_limit != 0:
            _add_body(extracted, request, policy)
        return extracted

    return extract


def _add_body(extracted: Extracted, request: Any, policy: Policy) -> None:
    meta = request.META
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return
    if not body_allowed(length, policy):
        set_oversize_body(extracted, length)
        return
    content_type = meta.get("CONTENT_TYPE")
    if media_type(content_type) in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            post, files = request.POST, request.FILES
        except Exception:
            return  # an unreadable body is Django's error to report, not ours
        data = form_to_dict((key, value) for key, values in post.lists() for value in values)
        for name in files:
            data[name] = ""
            extracted.meta.setdefault("data", {})[name] = {"": {"rem": [["!raw", "x"]]}}
        set_body(extracted, data)
        return
    try:
        raw = request.body
    except Exception:
        return  # the view consumed the stream without keeping it (RawPostDataException)
    decode_body(extracted, raw, content_type, policy)


def _transaction(request: Any, style: str) -> Callable[[], TransactionName | None]:
    def name() -> TransactionName | None:
        match = getattr(request, "resolver_match", None)
        if match is None:
            # The error came before URL resolution (a middleware): resolve it ourselves.
            try:
                from django.urls import resolve

                match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
            except Exception:
                return (request.path or "/", "url")
        if style == "function_name":
            path = getattr(match, "_func_path", None) or qualified_name(match.func)
            return (path, "component") if path else None
        route = getattr(match, "route", None)
        if not route:
            return (request.path or "/", "url")
        return (readable_route(str(route)), "route")

    return name


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def readable_route(route: str) -> str:
    """``orders/<int:id>/`` -> ``/orders/<int:id>/``; regex routes become ``/orders/{id}/``."""
    if route.startswith("^") or route.endswith("$") or "(?P<" in route:
        route = route.lstrip("^")
        for end in ("\\Z", "$"):
            if route.endswith(end):
                route = route[: -len(end)]
        route = _NAMED_GROUP.sub(r"{\1}", route).replace("\\", "")
    return "/" + route.lstrip("/")


def _user(request: Any) -> Callable[[Policy], dict[str, Any] | None]:
    def user(policy: Policy) -> dict[str, Any] | None:
        current = getattr(request, "user", None)
        if current is None or (_lazy_unevaluated(current) and _in_event_loop()):
            # Evaluating request.user runs a query, which Django forbids on the event loop.
            return None
        if not current.is_authenticated:
            return None
        info: dict[str, Any] = {}
        pk = getattr(current, "pk", None)
        if pk is not None:
            info["id"] = str(pk)
        if policy.pii:
            get_username = getattr(current, "get_username", None)
            username = get_username() if callable(get_username) else None
            if username:
                info["username"] = str(username)
            email = getattr(current, "email", None)
            if email:
                info["email"] = str(email)
        return info or None

    return user


def _lazy_unevaluated(obj: Any) -> bool:
    from django.utils.functional import LazyObject, empty

    return isinstance(obj, LazyObject) and obj._wrapped is empty


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# -- SQL breadcrumbs ------------------------------------------------------------------------


def _execute(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _run_query(wrapped, instance, args, kwargs, many=False)


def _executemany(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _run_query(wrapped, instance, args, kwargs, many=True)


def _run_query(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], many: bool
) -> Any:
    crumbs = _config.record_sql and is_enabled()
    span = _query_span(args, kwargs, instance) if tracing_enabled() else None
    if not crumbs and span is None:
        return wrapped(*args, **kwargs)
    sql = args[0] if args else kwargs.get("sql")
    started = time.perf_counter()
    try:
        result = wrapped(*args, **kwargs)
    except Exception as exc:
        if span is not None:
            fail_span(span, exc)
            span.end()
        if crumbs:
            _record_query(sql, instance, started, many, failed=True)
        raise
    if span is not None:
        span.end()
    if crumbs:
        _record_query(sql, instance, started, many, failed=False)
    return result


def _query_span(args: tuple[Any, ...], kwargs: dict[str, Any], cursor: Any) -> Any:
    """A ``db`` span for one statement: the SQL with its placeholders, never the parameters."""
    try:
        sql = args[0] if args else kwargs.get("sql")
        text = sql.decode("utf-8", "replace") if isinstance(sql, bytes) else str(sql)
        db = getattr(cursor, "db", None)
        attributes = {"db.system": str(getattr(db, "vendor", "") or "other_sql"), "db.query.text": text}
        name = text.split(None, 1)[0][:32] if text.strip() else "query"  # the verb: no literal in the name
        return start_child_span(name, kind="client", op="db", origin="auto.db.django", attributes=attributes)
    except Exception as exc:
        log_internal_error("django query span", exc)
        return None


def _record_query(sql: Any, cursor: Any, started: float, many: bool, failed: bool) -> None:
    try:
        if isinstance(sql, bytes):
            text = sql.decode("utf-8", "replace")
        else:
            text = sql if isinstance(sql, str) else str(sql)
        data: dict[str, Any] = {"duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        db = getattr(cursor, "db", None)
        if db is not None:
            data["db.system"] = str(getattr(db, "vendor", "") or "")
            data["db.alias"] = str(getattr(db, "alias", "") or "")
        if many:
            data["executemany"] = True
        sdk_core.add_breadcrumb(
            type="query", category="query", message=text, data=data, level="error" if failed else "info"
        )
    except Exception as exc:
        log_internal_error("django query breadcrumb", exc)
