"""Finished spans -> Sentry span and transaction JSON, field by field (no generic serialiser).

Ops, descriptions and statuses follow the OpenTelemetry semantic conventions the integrations
write (``http.request.method``, ``http.route``, ``url.full``, ``db.system``, ``db.query.text``,
``messaging.system``); an explicit ``sentry.op`` / ``sentry.description`` attribute wins.
Statuses are the protocol's span statuses:
https://develop.sentry.dev/sdk/data-model/event-payloads/span/
"""

from __future__ import annotations

import re
from typing import Any, Mapping

OP = "sentry.op"
DESCRIPTION = "sentry.description"
SOURCE = "sentry.source"
ORIGIN = "sentry.origin"
NAME = "sentry.name"

KIND_SERVER = 1
KIND_CLIENT = 2
KIND_PRODUCER = 3
KIND_CONSUMER = 4

STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2

_HTTP_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "already_exists",
    413: "failed_precondition",
    429: "resource_exhausted",
    499: "cancelled",
    500: "internal_error",
    501: "unimplemented",
    503: "unavailable",
    504: "deadline_exceeded",
}


_SQL_LITERAL = re.compile(r"'(?:[^'\\]|\\.|'')*'|(?<![\w$:.])-?\d+(?:\.\d+)?(?![\w.])")


def strip_sql_literals(statement: str) -> str:
    """SQL with its string and number literals replaced by ``?``: parameter values never leave."""
    if "'" not in statement and not any(c.isdigit() for c in statement):
        return statement
    return _SQL_LITERAL.sub("?", statement)


def http_status(code: int) -> str:
    """A span status for an HTTP status code."""
    if code < 400:
        return "ok"
    found = _HTTP_STATUS.get(code)
    if found is not None:
        return found
    return "invalid_argument" if code < 500 else "internal_error"


def span_status(code: int, attrs: Mapping[str, Any]) -> str:
    """The protocol status of a span from its OTel status code and HTTP status, if any."""
    http_code = attrs.get("http.response.status_code")
    if http_code is None:
        http_code = attrs.get("http.status_code")
    if isinstance(http_code, int) and not isinstance(http_code, bool) and http_code >= 100:
        status = http_status(http_code)
        if status != "ok" or code != STATUS_ERROR:
            return status
    return "internal_error" if code == STATUS_ERROR else "ok"


def span_op(name: str, attrs: Mapping[str, Any], kind: int) -> str:
    """The Sentry op: explicit, else from the semantic-convention attributes present."""
    op = attrs.get(OP)
    if isinstance(op, str):
        return op
    if "http.request.method" in attrs or "http.method" in attrs:
        return "http.server" if kind == KIND_SERVER else "http.client" if kind == KIND_CLIENT else "http"
    system = attrs.get("db.system")
    if system is None:
        system = attrs.get("db.system.name")
    if system is not None:
        return "db.redis" if system == "redis" else "db"
    if "messaging.system" in attrs:
        return "queue.process" if kind == KIND_CONSUMER else "queue.publish" if kind == KIND_PRODUCER else "queue"
    if "rpc.service" in attrs:
        return "rpc"
    return "default"


def span_description(name: str, attrs: Mapping[str, Any], op: str) -> str:
    """What the span did, in one line: the statement, ``METHOD url`` or ``METHOD route``, else its name.

    A SQL span's description never carries literals, wherever it came from (statement, explicit
    description or span name); redis commands keep their key names.
    """
    explicit = attrs.get(DESCRIPTION)
    if op.startswith("db") and op != "db.redis":
        statement = explicit if isinstance(explicit, str) else attrs.get("db.query.text")
        if statement is None:
            statement = attrs.get("db.statement")
        return strip_sql_literals(statement if isinstance(statement, str) else name)
    if isinstance(explicit, str):
        return explicit
    if op.startswith("http"):
        method = attrs.get("http.request.method") or attrs.get("http.method")
        target = attrs.get("http.route") if op == "http.server" else None
        if target is None:
            target = attrs.get("url.full") or attrs.get("http.url") or attrs.get("url.path")
        if isinstance(method, str) and isinstance(target, str):
            return f"{method} {target}"
    return name


def span_data(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The span's attributes as ``data``, without our own ``sentry.*`` steering keys (SQL without literals)."""
    data = {k: v for k, v in attrs.items() if k[:7] != "sentry."}
    if "db.query.text" in data or "db.statement" in data:
        for key in ("db.query.text", "db.statement"):
            value = data.get(key)
            if isinstance(value, str):
                data[key] = strip_sql_literals(value)
    return data


def span_json(
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    attrs: Mapping[str, Any],
    start: float,
    end: float,
    status_code: int,
    kind: int,
) -> dict[str, Any]:
    """One child span, as it goes into a transaction's ``spans``."""
    op = span_op(name, attrs, kind)
    out: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "op": op,
        "description": span_description(name, attrs, op),
        "start_timestamp": start,
        "timestamp": end if end >= start else start,
        "status": span_status(status_code, attrs),
        "origin": attrs.get(ORIGIN) or "manual",
    }
    if parent_span_id is not None:
        out["parent_span_id"] = parent_span_id
    if attrs:
        out["data"] = span_data(attrs)
    return out


def transaction_name(name: str, attrs: Mapping[str, Any], op: str) -> tuple[str, str]:
    """``(name, source)`` of a transaction: explicit, the route template, the URL path, else the span name."""
    explicit = attrs.get(NAME)
    source = attrs.get(SOURCE)
    if isinstance(explicit, str):
        return explicit, source if isinstance(source, str) else "custom"
    if op == "http.server":
        route = attrs.get("http.route")
        if isinstance(route, str):
            return route, "route"
        path = attrs.get("url.path")
        if isinstance(path, str):
            return path, "url"
    return name, source if isinstance(source, str) else "custom"


def transaction_json(
    root: dict[str, Any], name: str, attrs: Mapping[str, Any], spans: list[dict[str, Any]], event_id: str
) -> dict[str, Any]:
    """The transaction event for a finished local root (``root`` as built by ``span_json``)."""
    tx_name, source = transaction_name(name, attrs, root["op"])
    trace: dict[str, Any] = {
        "type": "trace",
        "trace_id": root["trace_id"],
        "span_id": root["span_id"],
        "op": root["op"],
        "status": root["status"],
        "origin": root["origin"],
    }
    parent = root.get("parent_span_id")
    if parent is not None:
        trace["parent_span_id"] = parent
    data = root.get("data")
    if data:
        trace["data"] = data
    event: dict[str, Any] = {
        "type": "transaction",
        "event_id": event_id,
        "platform": "python",
        "transaction": tx_name,
        "transaction_info": {"source": source},
        "start_timestamp": root["start_timestamp"],
        "timestamp": root["timestamp"],
        "contexts": {"trace": trace},
        "spans": spans,
    }
    method = attrs.get("http.request.method")
    if root["op"] == "http.server" and isinstance(method, str):
        request: dict[str, Any] = {"method": method}
        url = attrs.get("url.full")
        if isinstance(url, str):
            request["url"] = url
        event["request"] = request
    return event
