"""Tracing through the WSGI middleware and Flask: one http.server transaction per request."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from flask import Flask, Response

import integrations
import sdk_core
from integrations.flask import FlaskIntegration
from integrations.wsgi import WsgiMiddleware
from sdk_core.transport.memory import InMemoryTransport
from tests.support.otel import global_provider
from tests.support.relay_check import conformance_errors

TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


def _init(**options: Any) -> InMemoryTransport:
    transport = InMemoryTransport()
    options.setdefault("traces_sample_rate", 1.0)
    sdk_core.init(transport=transport, default_integrations=False, integrations=[FlaskIntegration()], **options)
    return transport


def _app() -> Flask:
    app = Flask(__name__)

    @app.get("/orders/<int:order_id>")
    def order(order_id: int) -> Any:
        with sdk_core.start_span(op="db", name="load order", attributes={"db.system": "sqlite"}):
            pass
        return f"order {order_id}"

    @app.get("/boom/<name>")
    def boom(name: str) -> Any:
        raise RuntimeError(f"boom {name}")

    @app.get("/missing")
    def missing() -> Any:
        return "nope", 404

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            with sdk_core.start_span(op="render", name="chunk"):
                yield "a"
            yield "b"

        return Response(chunks())

    return app


def _get(client: Any, path: str, **kwargs: Any) -> Any:
    """A request whose response is closed, as a WSGI server does once it is sent (that ends the root)."""
    response = client.get(path, **kwargs)
    response.close()
    return response


def _transactions(t: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(5)
    return t.transactions


def test_route_names_the_transaction_and_children_nest() -> None:
    t = _init(release="web@1")
    response = _get(_app().test_client(), "/orders/7?token=abc")
    assert response.status_code == 200
    (tx,) = _transactions(t)
    assert tx["transaction"] == "/orders/<int:order_id>"
    assert tx["transaction_info"] == {"source": "route"}
    trace = tx["contexts"]["trace"]
    assert trace["op"] == "http.server" and trace["status"] == "ok" and trace["origin"] == "auto.http.flask"
    assert trace["data"]["http.route"] == "/orders/<int:order_id>"
    assert trace["data"]["http.response.status_code"] == 200
    assert tx["request"]["method"] == "GET"
    (child,) = tx["spans"]
    assert child["op"] == "db" and child["parent_span_id"] == trace["span_id"]
    assert "token=abc" not in str(tx)
    assert conformance_errors(tx) == []


def test_status_codes_and_errors_mark_the_transaction_and_the_error_links_to_it() -> None:
    t = _init()
    client = _app().test_client()
    assert _get(client, "/missing").status_code == 404
    assert _get(client, "/boom/x").status_code == 500
    txs = {tx["transaction"]: tx for tx in _transactions(t)}
    assert txs["/missing"]["contexts"]["trace"]["status"] == "not_found"
    failed = txs["/boom/<name>"]["contexts"]["trace"]
    assert failed["status"] == "internal_error"
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == failed["trace_id"]
    assert event["contexts"]["trace"]["span_id"] == failed["span_id"]
    for tx in txs.values():
        assert conformance_errors(tx) == []


def test_streamed_response_ends_the_transaction_when_closed() -> None:
    t = _init()
    response = _app().test_client().get("/stream")
    assert response.get_data() == b"ab"
    response.close()
    (tx,) = _transactions(t)
    assert tx["transaction"] == "/stream"
    assert [s["op"] for s in tx["spans"]] == ["render"]


def test_incoming_trace_is_continued_with_its_decision_and_baggage() -> None:
    t = _init(traces_sample_rate=0.0)
    client = _app().test_client()
    baggage = f"sentry-trace_id={TRACE_ID},sentry-sample_rate=0.5,sentry-sampled=true,sentry-sample_rand=0.25,other=1"
    _get(client, "/orders/1", headers={"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1", "baggage": baggage})
    _get(client, "/orders/2", headers={"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-0"})
    (tx,) = _transactions(t)
    assert tx["contexts"]["trace"]["trace_id"] == TRACE_ID
    assert tx["contexts"]["trace"]["parent_span_id"] == SPAN_ID
    envelope = next(e for e in t.envelopes if e.items[0].type == "transaction")
    dsc = envelope.headers["trace"]
    assert dsc["sample_rand"] == "0.25" and dsc["sample_rate"] == "0.5" and dsc["trace_id"] == TRACE_ID


def test_w3c_traceparent_wins_over_a_disagreeing_sentry_trace() -> None:
    t = _init()
    _get(
        _app().test_client(),
        "/orders/1",
        headers={
            "traceparent": f"00-{OTHER_TRACE}-{SPAN_ID}-01",
            "tracestate": "vendor=1",
            "sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1",
        },
    )
    (tx,) = _transactions(t)
    assert tx["contexts"]["trace"]["trace_id"] == OTHER_TRACE


def test_plain_wsgi_middleware_names_by_path() -> None:
    transport = InMemoryTransport()
    sdk_core.init(transport=transport, default_integrations=False, traces_sample_rate=1.0)

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = WsgiMiddleware(app)
    from werkzeug.test import Client

    Client(wrapped).post("/things/12").close()
    (tx,) = _transactions(transport)
    assert tx["transaction"] == "/things/12" and tx["transaction_info"] == {"source": "url"}
    assert tx["contexts"]["trace"]["data"]["http.response.status_code"] == 201
    assert conformance_errors(tx) == []


def test_tracing_off_adds_no_span() -> None:
    t = _init(traces_sample_rate=None)
    _get(_app().test_client(), "/orders/7")
    assert _transactions(t) == []
