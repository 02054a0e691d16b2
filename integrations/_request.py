"""Shared request plumbing for the web integrations: per-request scope, request data, trace headers.

One ``RequestScope`` per request holds what is needed to describe the request *if* an event is
captured: an extractor, a transaction-name function and a user function. Nothing is read from the
request until an event is captured, so requests without errors pay for a scope fork and a few
attribute writes. WSGI/ASGI middlewares open the scope; Django and Flask swap in richer
extractors once their request object exists.

Event fields follow the Sentry event schema (``request``, ``user``, ``transaction_info``):
https://develop.sentry.dev/sdk/data-model/event-payloads/request/
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Tuple
from urllib.parse import parse_qsl, quote

import sdk_core
from sdk_core.integration import (
    continue_trace,
    log_internal_error,
    options,
    request_isolation_scope,
    session_end,
    session_start,
    set_meta,
)

# ``max_request_body_size`` -> largest body (bytes) attached to an event; None means no limit.
BODY_LIMITS: dict[str, int | None] = {"never": 0, "small": 4 * 1024, "medium": 10 * 1024, "always": None}

# Sentry ``_meta`` remarks for a body we left out (the value becomes "").
# https://develop.sentry.dev/sdk/data-model/event-payloads/#annotated-values
_OVER_LIMIT = "!config"
_RAW = "!raw"

_PATH_SAFE = "/;=,:@!$&'()*+~%"


TransactionName = Tuple[str, str]
"""``(name, source)``; source is Sentry's transaction source: ``route``, ``url`` or ``component``."""


@dataclass(frozen=True)
class Policy:
    """What the options allow into ``request``/``user``, read from the client at capture time."""

    pii: bool = False
    body_limit: int | None = 0


@dataclass
class Extracted:
    """An extractor's result: the ``request`` dict, its ``_meta`` remarks and the client address."""

    request: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    client_ip: str | None = None


Extractor = Callable[[Policy], Extracted]
TransactionFn = Callable[[], "TransactionName | None"]
UserFn = Callable[[Policy], "dict[str, Any] | None"]


def current_policy() -> Policy:
    opts = options()
    if opts is None:
        return Policy()
    return Policy(opts.send_default_pii, BODY_LIMITS.get(opts.max_request_body_size, 0))


# -- request data --------------------------------------------------------------------------


def headers_from_environ(environ: Mapping[str, Any]) -> dict[str, str]:
    """HTTP headers of a WSGI environ (or Django ``META``) as ``{"Content-Type": ...}``."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key
        else:
            continue
        headers[name.replace("_", "-").title()] = str(value)
    return headers


def headers_from_asgi(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs as a dict; repeated headers are joined as HTTP allows (``;`` for cookies)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").title()
        value = raw_value.decode("latin-1")
        if name in headers:
            headers[name] = headers[name] + ("; " if name == "Cookie" else ", ") + value
        else:
            headers[name] = value
    return headers


def parse_cookies(header: str | None) -> dict[str, str]:
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name] = value
    return cookies


def client_ip(headers: Mapping[str, str], remote_addr: str | None) -> str | None:
    """The end user's address: the first ``X-Forwarded-For`` hop, ``X-Real-Ip``, else the peer."""
    forwarded = headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",")[0].strip() or remote_addr
    return headers.get("X-Real-Ip") or remote_addr


def quote_path(path: str) -> str:
    return quote(path, safe=_PATH_SAFE)


def build_url(scheme: str, host: str, path: str) -> str:
    return f"{scheme}://{host}{quote_path(path)}"


def from_environ(
    environ: Mapping[str, Any], policy: Policy, *, scheme: str | None = None, path: str | None = None
) -> Extracted:
    """``request`` from a WSGI environ (or Django ``META``): no body, which only frameworks can re-read."""
    headers = headers_from_environ(environ)
    scheme = scheme or str(environ.get("wsgi.url_scheme") or "http")
    host = headers.get("Host")
    if not host:
        host = str(environ.get("SERVER_NAME") or "localhost")
        port = str(environ.get("SERVER_PORT") or "")
        if port and (scheme, port) not in (("http", "80"), ("https", "443")):
            host = f"{host}:{port}"
    if path is None:
        raw_path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "")
        # PEP 3333: PATH_INFO carries the request's bytes decoded as latin-1.
        url = f"{scheme}://{host}{quote(raw_path, safe=_PATH_SAFE, encoding='latin-1')}"
    else:
        url = build_url(scheme, host, path)
    request: dict[str, Any] = {
        "method": str(environ.get("REQUEST_METHOD") or "GET").upper(),
        "url": url,
        "query_string": str(environ.get("QUERY_STRING") or ""),
        "headers": headers,
    }
    remote = environ.get("REMOTE_ADDR")
    remote_addr = str(remote) if remote else None
    if policy.pii:
        cookies = parse_cookies(headers.get("Cookie"))
        if cookies:
            request["cookies"] = cookies
        if remote_addr:
            request["env"] = {"REMOTE_ADDR": remote_addr}
    return Extracted(request, {}, client_ip(headers, remote_addr) if policy.pii else None)


def from_asgi(scope: Mapping[str, Any], policy: Policy) -> Extracted:
    """``request`` from an ASGI ``http``/``websocket`` scope (the body is added by the caller)."""
    headers = headers_from_asgi(scope.get("headers") or ())
    is_ws = scope.get("type") == "websocket"
    scheme = str(scope.get("scheme") or ("ws" if is_ws else "http"))
    host = headers.get("Host")
    if not host:
        server = scope.get("server")
        if server and server[1] is not None:
            host = f"{server[0]}:{server[1]}"
        else:
            host = str(server[0]) if server else "localhost"
    query = scope.get("query_string") or b""
    request: dict[str, Any] = {
        "method": "GET" if is_ws else str(scope.get("method") or "GET"),
        "url": build_url(scheme, host, str(scope.get("path") or "/")),
        "query_string": query.decode("latin-1") if isinstance(query, bytes) else str(query),
        "headers": headers,
    }
    peer = scope.get("client")
    remote_addr = str(peer[0]) if peer else None
    if policy.pii:
        cookies = parse_cookies(headers.get("Cookie"))
        if cookies:
            request["cookies"] = cookies
        if remote_addr:
            request["env"] = {"REMOTE_ADDR": remote_addr}
    return Extracted(request, {}, client_ip(headers, remote_addr) if policy.pii else None)


def body_allowed(length: int | None, policy: Policy) -> bool:
    """True if a body of ``length`` bytes (None: unknown) may be attached."""
    if policy.body_limit == 0:
        return False
    return policy.body_limit is None or length is None or length <= policy.body_limit


def set_body(extracted: Extracted, data: Any, remark: str | None = None, length: int | None = None) -> None:
    """Attach ``data``, or "" with a ``_meta`` remark saying why the body was left out."""
    if remark is None:
        extracted.request["data"] = data
        return
    extracted.request["data"] = ""
    note: dict[str, Any] = {"rem": [[remark, "x"]]}
    if length is not None:
        note["len"] = length
    extracted.meta["data"] = {"": note}


def set_oversize_body(extracted: Extracted, length: int | None) -> None:
    set_body(extracted, "", _OVER_LIMIT, length)


def set_raw_body(extracted: Extracted, length: int | None) -> None:
    set_body(extracted, "", _RAW, length)


def form_to_dict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields as a dict: one value stays a value, repeated fields become a list."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            existing = out[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                out[key] = [existing, value]
        else:
            out[key] = value
    return out


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(extracted: Extracted, raw: bytes, content_type: str | None, policy: Policy) -> None:
    """Attach a raw body within the size policy: JSON and forms parsed, text as text, binary left out."""
    if not raw:
        return
    if not body_allowed(len(raw), policy):
        set_oversize_body(extracted, len(raw))
        return
    mime = media_type(content_type)
    if mime == "application/json" or mime.endswith("+json"):
        try:
            set_body(extracted, json.loads(raw))
            return
        except ValueError:
            pass
    elif mime == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            set_raw_body(extracted, len(raw))
            return
        set_body(extracted, form_to_dict(parse_qsl(text, keep_blank_values=True)))
        return
    elif mime.startswith("multipart/"):
        set_raw_body(extracted, len(raw))
        return
    try:
        set_body(extracted, raw.decode("utf-8"))
    except UnicodeDecodeError:
        set_raw_body(extracted, len(raw))


# -- the per-request scope -----------------------------------------------------------------


class RequestScope:
    """What one request contributes to events captured while it runs.

    ``extract``, ``transaction`` and ``user`` are replaced by framework integrations once they
    have their own request object; all three run only at capture time, on the capturing thread.
    """

    __slots__ = ("_captured", "extract", "key", "parent", "server_span", "transaction", "user")

    def __init__(
        self, extract: Extractor, transaction: TransactionFn | None = None, user: UserFn | None = None
    ) -> None:
        self.extract = extract
        self.transaction = transaction
        self.user = user
        self.server_span: Any = None  # the request's root span (sdk_core.integration.start_server_span)
        self._captured: list[BaseException] = []
        self.key: object = None
        """What identifies the request to nested layers (the ASGI headers list), None if unknown."""
        self.parent: sdk_core.Scope | None = None
        """The isolation scope the request's own was forked from."""

    def capture(self, exc: BaseException, mechanism_type: str) -> str | None:
        """Capture ``exc`` once per request, however many layers (signal, WSGI, ASGI) see it."""
        if any(seen is exc for seen in self._captured):
            return None
        self._captured.append(exc)
        return sdk_core.capture_exception(exc, mechanism={"type": mechanism_type, "handled": False})

    def process(self, event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        """Event processor: add ``request``, ``transaction`` and ``user`` without overriding the app's own."""
        policy = current_policy()
        extracted: Extracted | None = None
        try:
            extracted = self.extract(policy)
        except Exception as exc:
            log_internal_error("request data", exc)
        if extracted is not None and extracted.request:
            own = event.get("request")
            request = dict(extracted.request)
            if isinstance(own, dict):
                request.update(own)
            event["request"] = request
            if extracted.meta:
                set_meta(event, ("request",), extracted.meta)
        if not event.get("transaction") and self.transaction is not None:
            try:
                name = self.transaction()
            except Exception as exc:
                log_internal_error("transaction name", exc)
                name = None
            if name is not None:
                event["transaction"] = name[0]
                event["transaction_info"] = {"source": name[1]}
        user: dict[str, Any] = {}
        if self.user is not None:
            try:
                user = self.user(policy) or {}
            except Exception as exc:
                log_internal_error("request user", exc)
        if policy.pii and extracted is not None and extracted.client_ip:
            user.setdefault("ip_address", extracted.client_ip)
        if user:
            own_user = event.get("user")
            if isinstance(own_user, dict):
                user.update(own_user)
            event["user"] = user
        return event


_current: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("coderadar_request", default=None)


def current_request() -> RequestScope | None:
    """The request being handled in this context, or None outside of one."""
    return _current.get()


@contextlib.contextmanager
def request_scope(
    extract: Extractor,
    transaction: TransactionFn | None,
    sentry_trace: str | None,
    traceparent: str | None,
    *,
    key: object = None,
    leaving: RequestScope | None = None,
) -> Iterator[RequestScope]:
    """Open an isolation scope for one request, continuing its incoming trace.

    The scope starts with no breadcrumbs (only the request's own lines end up in its events).
    ``leaving``: another request's scope that this context inherited (see ``foreign_request``);
    the new scope forks from what that one forked from, so nothing of it carries over.
    """
    parent = leaving.parent if leaving is not None else sdk_core.get_isolation_scope()
    with request_isolation_scope(parent) as scope:
        state = RequestScope(extract, transaction)
        state.key = key
        state.parent = parent
        try:
            continue_trace(scope, sentry_trace, traceparent)
            scope.set_transaction_name(None)  # a request names its own transaction
            scope.add_event_processor(state.process)
        except Exception as exc:
            log_internal_error("request scope", exc)  # the request runs on, described or not
        token = _current.set(state)
        session = session_start(scope)
        try:
            yield state
        finally:
            session_end(session)
            _current.reset(token)


def foreign_request(key: object) -> RequestScope | None:
    """The open request scope if it belongs to another request than ``key`` identifies.

    Servers may start a request from inside the previous one's context (uvicorn starts the next
    pipelined request from the previous one's ``send``), so the new request's context inherits
    the previous request's scope. A nested layer of the same request sees the same key.
    """
    state = _current.get()
    if state is None or key is None or state.key is None or state.key is key:
        return None
    return state


def capture_exception(exc: BaseException, mechanism_type: str, fallback: RequestScope | None = None) -> None:
    """Capture an unhandled request exception; ``fallback`` describes the request when no scope is open."""
    try:
        state = current_request()
        if state is not None:
            state.capture(exc, mechanism_type)
            return
        with sdk_core.new_scope() as scope:
            if fallback is not None:
                scope.add_event_processor(fallback.process)
            sdk_core.capture_exception(exc, mechanism={"type": mechanism_type, "handled": False})
    except Exception as error:
        log_internal_error(f"{mechanism_type} capture", error)


def qualified_name(obj: Any) -> str | None:
    """``module.QualName`` of a function or class (or of an instance's class)."""
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    name = getattr(target, "__qualname__", None)
    if not isinstance(name, str):
        return None
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if isinstance(module, str) else name


DEFAULT_FAILED_REQUEST_STATUS_CODES: frozenset[int] = frozenset(range(500, 600))
"""The response statuses the web integrations report by default, as in sentry-sdk: every 5xx."""


def failed_status_codes(value: Any) -> frozenset[int]:
    """Validate ``failed_request_status_codes``: ints, or ``range`` objects as sentry-sdk 1.x took them."""
    if value is None:
        return DEFAULT_FAILED_REQUEST_STATUS_CODES
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError("failed_request_status_codes: expected a collection of int status codes")
    codes: set[int] = set()
    for item in value:
        if isinstance(item, range):
            codes.update(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            codes.add(item)
        else:
            raise TypeError(f"failed_request_status_codes: expected int status codes, got {item!r}")
    return frozenset(codes)
