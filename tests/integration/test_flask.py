"""Flask integration against a real Flask app driven by Flask's test client."""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from flask import Blueprint, Flask, Response, got_request_exception, request, request_started
from werkzeug.test import Client as WsgiClient

import integrations
import sdk_core
from integrations import DidNotEnable
from integrations.flask import FlaskIntegration
from sdk_core.testing import assert_no_secrets
from sdk_core.transport.memory import InMemoryTransport
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with

PASSWORD = "hunter2"
TOKEN = "abc.def.ghi"
CARD = "4111 1111 1111 1111"
SECRETS = [PASSWORD, TOKEN, CARD, CARD.replace(" ", "")]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


class CardDeclined(Exception):
    pass


class Teapot(Exception):
    pass


def _charge(card_number: str) -> None:
    raise CardDeclined(f"card {card_number} declined")


def create_app() -> Flask:
    app = Flask(__name__)
    shop = Blueprint("shop", __name__)

    @app.post("/orders/<int:order_id>")
    def order(order_id: int) -> Any:
        sdk_core.set_tag("order", str(order_id))
        if request.form.get("fail") == "no":
            return "created", 201
        card = CARD
        _charge(card)

    @app.get("/ok")
    def ok() -> Any:
        return "fine", 202, {"X-App": "yes"}

    @app.get("/message")
    def message() -> Any:
        sdk_core.capture_message("stock is low", level="warning")
        return "noted"

    @app.get("/teapot")
    def teapot() -> Any:
        raise Teapot("handled by the app")

    @app.post("/json")
    def echo_json() -> Any:
        payload = request.get_json()
        if payload.get("fail"):
            raise ValueError("json failure")
        return payload

    @app.get("/concurrent/<int:n>")
    def concurrent(n: int) -> Any:
        sdk_core.set_tag("n", str(n))
        sdk_core.set_user({"id": f"u-{n}"})
        raise RuntimeError(f"request {n} failed")

    @app.get("/stream-fail")
    def stream_fail() -> Any:
        def chunks() -> Iterator[bytes]:
            yield b"first"
            raise RuntimeError("stream broke")

        return Response(chunks())

    @shop.get("/items/<item_id>")
    def item(item_id: str) -> Any:
        raise LookupError(f"no item {item_id}")

    @app.errorhandler(Teapot)
    def on_teapot(error: Teapot) -> Any:
        return "I'm a teapot", 418

    @app.errorhandler(500)
    def on_500(error: Exception) -> Any:
        return "custom 500 page", 500

    app.register_blueprint(shop, url_prefix="/shop")
    return app


def _init(integration: FlaskIntegration | None = None, **options: Any) -> InMemoryTransport:
    return init_with(integration or FlaskIntegration(), **options)


def _mechanism(event: dict[str, Any]) -> tuple[str, bool]:
    mechanism = event["exception"]["values"][-1]["mechanism"]
    return mechanism["type"], mechanism["handled"]


def _post_order(client: Any, path: str = "/orders/42", **headers: str) -> Any:
    return client.post(
        f"{path}?password={PASSWORD}&page=2",
        data={"password": PASSWORD, "note": "gift"},
        headers={**AUTH, **headers},
    )


class TestFlaskErrors:
    def test_view_exception_is_captured_with_request_and_endpoint(self) -> None:
        """An unhandled view error sends one ``flask`` event with request, endpoint and tags; secrets scrubbed."""
        transport = _init()
        response = _post_order(create_app().test_client(), **{"X-Request-Id": "req-1"})
        assert (response.status_code, response.data) == (500, b"custom 500 page")
        (event,) = _events(transport)
        assert event["exception"]["values"][-1]["type"] == "CardDeclined"
        assert _mechanism(event) == ("flask", False)
        request_data = event["request"]
        assert request_data["method"] == "POST"
        assert request_data["url"] == "http://localhost/orders/42"
        assert request_data["query_string"].endswith("&page=2")
        assert request_data["headers"]["X-Request-Id"] == "req-1"
        assert request_data["headers"]["Authorization"] == "[Filtered]"
        assert request_data["data"] == {"password": "[Filtered]", "note": "gift"}
        assert "cookies" not in request_data and "env" not in request_data
        assert "user" not in event
        assert event["transaction"] == "order"
        assert event["transaction_info"] == {"source": "component"}
        assert event["tags"]["order"] == "42"
        assert_no_secrets([event], SECRETS)

    def test_messages_captured_in_a_view_carry_the_request(self) -> None:
        """Any event captured while a request runs (not only errors) gets its request and transaction."""
        transport = _init()
        assert create_app().test_client().get("/message?sku=9").data == b"noted"
        (event,) = _events(transport)
        assert event["logentry"]["message"] == "stock is low"
        assert (event["request"]["url"], event["request"]["query_string"]) == ("http://localhost/message", "sku=9")
        assert event["transaction"] == "message"

    def test_url_style_and_blueprint_endpoints(self) -> None:
        """``transaction_style="url"`` uses the URL rule; endpoint style keeps the blueprint prefix."""
        transport = _init(FlaskIntegration(transaction_style="url"))
        app = create_app()
        _post_order(app.test_client())
        app.test_client().get("/shop/items/9")
        sdk_core.init(transport=transport, default_integrations=False, integrations=[FlaskIntegration()])
        app.test_client().get("/shop/items/9")
        rule, blueprint_rule, endpoint = _events(transport)
        assert (rule["transaction"], rule["transaction_info"]) == ("/orders/<int:order_id>", {"source": "route"})
        assert blueprint_rule["transaction"] == "/shop/items/<item_id>"
        assert endpoint["transaction"] == "shop.item"

    def test_unknown_transaction_style_is_rejected(self) -> None:
        """A typo in ``transaction_style`` fails at construction, naming the field."""
        with pytest.raises(ValueError, match="transaction_style"):
            FlaskIntegration(transaction_style="function_name")

    def test_send_default_pii_adds_cookies_and_address(self) -> None:
        """Cookies and the client address are attached only with send_default_pii."""
        transport = _init(send_default_pii=True)
        _post_order(create_app().test_client(use_cookies=False), Cookie="theme=dark")
        (event,) = _events(transport)
        assert set(event["request"]["cookies"]) == {"theme"}
        assert event["request"]["env"] == {"REMOTE_ADDR": "127.0.0.1"}
        assert event["user"] == {"ip_address": "127.0.0.1"}

    def test_json_body_within_limit_and_oversize_body_left_out(self) -> None:
        """JSON bodies are parsed; one over ``max_request_body_size`` becomes "" with a ``_meta`` remark."""
        transport = _init(max_request_body_size="small")
        client = create_app().test_client()
        client.post("/json", json={"fail": True, "password": PASSWORD})
        client.post("/json", json={"fail": True, "blob": "x" * 5000})
        small, big = _events(transport)
        assert small["request"]["data"] == {"fail": True, "password": "[Filtered]"}
        assert big["request"]["data"] == ""
        assert big["_meta"]["request"]["data"][""]["rem"] == [["!config", "x"]]

    def test_flask_login_user_is_attached_when_the_app_uses_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With Flask-Login loaded, the current user's id is attached (username/e-mail only with PII)."""
        current = SimpleNamespace(
            is_authenticated=True, get_id=lambda: "7", username="alice", email="alice@example.com"
        )
        monkeypatch.setitem(sys.modules, "flask_login", SimpleNamespace(current_user=current))
        transport = _init()
        _post_order(create_app().test_client())
        sdk_core.init(
            transport=transport, default_integrations=False, integrations=[FlaskIntegration()], send_default_pii=True
        )
        _post_order(create_app().test_client())
        plain, pii = _events(transport)
        assert plain["user"] == {"id": "7"}
        assert pii["user"] == {"id": "7", "username": "alice", "email": "alice@example.com", "ip_address": "127.0.0.1"}

    def test_streamed_response_errors_are_captured(self) -> None:
        """An error raised while the server iterates a streamed body is captured with the request and re-raised."""
        transport = _init()
        response = create_app().test_client().get("/stream-fail", headers={"X-Request-Id": "s"})
        with pytest.raises(RuntimeError, match="stream broke"):
            response.get_data()
        (event,) = _events(transport)
        assert _mechanism(event) == ("flask", False)
        assert event["request"]["headers"]["X-Request-Id"] == "s"
        assert event["transaction"] == "stream_fail"

    def test_incoming_trace_is_continued(self) -> None:
        """``sentry-trace`` and ``traceparent`` continue the caller's trace."""
        transport = _init()
        client = create_app().test_client()
        _post_order(client, **{"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1"})
        _post_order(client, traceparent=f"00-{TRACE_ID}-{SPAN_ID}-01")
        for event in _events(transport):
            assert event["contexts"]["trace"]["trace_id"] == TRACE_ID
            assert event["contexts"]["trace"]["parent_span_id"] == SPAN_ID

    def test_wsgi_app_called_directly_still_gets_request_data(self) -> None:
        """Driving ``app.wsgi_app`` (bypassing ``Flask.__call__``) still captures with the request."""
        transport = _init()
        _post_order(WsgiClient(create_app().wsgi_app))
        (event,) = _events(transport)
        assert event["request"]["url"] == "http://localhost/orders/42"
        assert event["transaction"] == "order"


class TestFlaskBehaviourUnchanged:
    def _run(self) -> list[tuple[int, bytes, str | None]]:
        client = create_app().test_client()
        responses = [
            client.get("/ok"),
            _post_order(client),
            client.post("/orders/7", data={"fail": "no"}),
            client.get("/teapot"),
            client.get("/missing"),
            client.post("/json", json={"a": 1}),
        ]
        return [(r.status_code, r.data, r.headers.get("X-App")) for r in responses]

    def test_responses_are_identical_with_and_without_the_sdk(self) -> None:
        """Every response, error handlers' included, is what Flask sends without the SDK; handled errors send none."""
        before = self._run()
        transport = _init()
        assert self._run() == before
        assert [status for status, *_ in before] == [202, 500, 201, 418, 404, 200]
        assert before[1][1] == b"custom 500 page" and before[3][1] == b"I'm a teapot"
        (event,) = _events(transport)
        assert event["exception"]["values"][-1]["type"] == "CardDeclined"

    def test_propagated_exceptions_are_reraised_and_captured_once(self) -> None:
        """With ``PROPAGATE_EXCEPTIONS`` the test client sees the original exception; one event is sent."""
        transport = _init()
        app = create_app()
        app.config["PROPAGATE_EXCEPTIONS"] = True
        with pytest.raises(CardDeclined, match="declined"):
            _post_order(app.test_client())
        (event,) = _events(transport)
        assert _mechanism(event) == ("flask", False)

    def test_concurrent_requests_do_not_share_scope_data(self) -> None:
        """Twenty requests in threads each carry their own user, tag and trace."""
        transport = _init()
        app = create_app()
        barrier = threading.Barrier(20)
        statuses: list[int] = []

        def one(n: int) -> None:
            client = app.test_client()
            barrier.wait(5)
            statuses.append(client.get(f"/concurrent/{n}").status_code)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert statuses == [500] * 20
        events = _events(transport)
        assert len(events) == 20
        for event in events:
            n = event["tags"]["n"]
            assert event["user"] == {"id": f"u-{n}"}
            assert event["request"]["url"].endswith(f"/concurrent/{n}")
            assert event["exception"]["values"][-1]["value"] == f"request {n} failed"
        assert len({e["contexts"]["trace"]["trace_id"] for e in events}) == 20


class TestFlaskInstall:
    def test_setup_once_twice_is_idempotent(self) -> None:
        """A second ``setup_once`` connects nothing twice and wraps nothing twice: one event per error."""
        integration = FlaskIntegration()
        transport = _init(integration)
        receivers = (len(got_request_exception.receivers), len(request_started.receivers))
        call = Flask.__dict__["__call__"]
        integration.setup_once()
        assert (len(got_request_exception.receivers), len(request_started.receivers)) == receivers
        assert Flask.__dict__["__call__"] is call
        _post_order(create_app().test_client())
        assert len(_events(transport)) == 1

    def test_uninstall_restores_the_original_call_and_signals(self) -> None:
        """After ``uninstall`` (and after ``sdk_core.close``) ``Flask.__call__`` and the signals are Flask's own."""
        original = Flask.__dict__["__call__"]
        receivers = (len(got_request_exception.receivers), len(request_started.receivers))
        integration = FlaskIntegration()
        integration.setup_once()
        assert Flask.__dict__["__call__"] is not original
        integration.uninstall()
        assert Flask.__dict__["__call__"] is original
        assert (len(got_request_exception.receivers), len(request_started.receivers)) == receivers
        _init()
        assert integrations.installed("flask") is not None
        sdk_core.close()
        assert Flask.__dict__["__call__"] is original
        assert (len(got_request_exception.receivers), len(request_started.receivers)) == receivers

    def test_installed_by_default_when_flask_is_importable(self) -> None:
        """``init`` without ``default_integrations=False`` installs the Flask integration."""
        sdk_core.init(transport=InMemoryTransport())
        assert isinstance(integrations.installed("flask"), FlaskIntegration)

    def test_did_not_enable_without_flask(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Flask, constructing the integration raises DidNotEnable (the registry skips it)."""
        monkeypatch.setitem(sys.modules, "flask", None)
        with pytest.raises(DidNotEnable):
            FlaskIntegration()

    def test_did_not_enable_without_blinker(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Flask < 2.3 without blinker has inert signals: the integration stays off rather than half-working."""
        monkeypatch.setitem(sys.modules, "blinker", None)
        with pytest.raises(DidNotEnable, match="blinker"):
            FlaskIntegration().setup_once()
