"""Django integration against a real project: test Client, the WSGI handler and the ASGI handler."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any, Iterator

import django
import httpx
import pytest
from django.conf import settings

from tests.integration.django_project.settings import settings_dict

if not settings.configured:
    settings.configure(**settings_dict())
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.base import BaseHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from werkzeug.test import Client as WsgiClient  # noqa: E402

import integrations  # noqa: E402
import sdk_core  # noqa: E402
from integrations import DidNotEnable  # noqa: E402
from integrations.django import DjangoIntegration, readable_route  # noqa: E402
from sdk_core.testing import assert_no_secrets  # noqa: E402
from sdk_core.transport.memory import InMemoryTransport  # noqa: E402
from tests.integration.django_project.views import CARD, CardDeclined  # noqa: E402
from tests.support.sdk import flushed_events as _events  # noqa: E402
from tests.support.sdk import init_with  # noqa: E402

PASSWORD = "hunter2"
TOKEN = "abc.def.ghi"
SECRETS = [PASSWORD, TOKEN, CARD, CARD.replace(" ", "")]
TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"
PATCHED = (
    (WSGIHandler, "__call__"),
    (ASGIHandler, "__call__"),
    (BaseHandler, "get_response"),
    (BaseHandler, "get_response_async"),
    (CursorWrapper, "execute"),
    (CursorWrapper, "executemany"),
)


@pytest.fixture(scope="module", autouse=True)
def _database() -> Iterator[None]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    if not User.objects.filter(username="alice").exists():
        User.objects.create_user("alice", "alice@example.com", "correct horse battery")
    yield


def _init(integration: DjangoIntegration | None = None, **options: Any) -> InMemoryTransport:
    return init_with(integration or DjangoIntegration(), **options)


def _mechanism(event: dict[str, Any]) -> tuple[str, bool]:
    mechanism = event["exception"]["values"][-1]["mechanism"]
    return mechanism["type"], mechanism["handled"]


def _client(**defaults: Any) -> Client:
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **defaults)


def _post_order(client: Client, path: str = "/orders/42/", **extra: Any) -> Any:
    return client.post(f"{path}?password={PASSWORD}&page=2", {"password": PASSWORD, "note": "gift"}, **extra)


def _queries(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "query"]


def _originals() -> list[Any]:
    return [owner.__dict__[name] for owner, name in PATCHED]


def _our_receivers() -> int:
    return sum(1 for key, *_ in signals.got_request_exception.receivers if key[0] == "coderadar.integrations.django")


class TestDjangoErrors:
    def test_view_exception_is_captured_with_request_user_route_and_sql(self) -> None:
        """A 500 sends one unhandled ``django`` event with the request, user id, route and SQL breadcrumbs."""
        transport = _init()
        client = _client()
        alice = User.objects.get(username="alice")
        client.force_login(alice)
        response = _post_order(client, HTTP_X_REQUEST_ID="req-1")
        assert response.status_code == 500
        (event,) = _events(transport)
        exc = event["exception"]["values"][-1]
        assert exc["type"] == "CardDeclined" and _mechanism(event) == ("django", False)
        request = event["request"]
        assert request["method"] == "POST"
        assert request["url"] == "http://testserver/orders/42/"
        assert request["query_string"].endswith("&page=2")
        assert request["headers"]["X-Request-Id"] == "req-1"
        assert request["headers"]["Authorization"] == "[Filtered]"
        assert request["data"] == {"password": "[Filtered]", "note": "gift"}
        assert "cookies" not in request and "env" not in request
        assert event["user"] == {"id": str(alice.pk)}
        assert event["transaction"] == "/orders/<int:order_id>/"
        assert event["transaction_info"] == {"source": "route"}
        assert event["tags"]["order"] == "42"
        queries = _queries(event)
        lookup = [c for c in queries if 'FROM "auth_user"' in c["message"] and "%s" in c["message"]]
        assert lookup, queries
        assert lookup[-1]["type"] == "query" and lookup[-1]["data"]["db.system"] == "sqlite"
        assert_no_secrets([event], SECRETS)

    def test_send_default_pii_adds_username_email_cookies_and_address(self) -> None:
        """Username, e-mail, cookies and the client address are attached only with send_default_pii."""
        transport = _init(send_default_pii=True)
        client = _client()
        client.cookies["theme"] = "dark"
        alice = User.objects.get(username="alice")
        client.force_login(alice)
        _post_order(client)
        (event,) = _events(transport)
        assert event["user"] == {
            "id": str(alice.pk),
            "username": "alice",
            "email": "alice@example.com",
            "ip_address": "127.0.0.1",
        }
        # The cookies are attached; the default scrub list still filters every cookie value.
        assert {"theme", "sessionid"} <= set(event["request"]["cookies"])
        assert event["request"]["env"] == {"REMOTE_ADDR": "127.0.0.1"}
        assert_no_secrets([event], SECRETS)

    def test_function_name_style_uses_the_views_dotted_path(self) -> None:
        """``transaction_style="function_name"`` names the event after the view function."""
        transport = _init(DjangoIntegration(transaction_style="function_name"))
        _post_order(_client())
        (event,) = _events(transport)
        assert event["transaction"] == "tests.integration.django_project.views.order_detail"
        assert event["transaction_info"] == {"source": "component"}

    def test_included_and_regex_routes_are_readable(self) -> None:
        """Routes under ``include()`` keep their prefix; regex routes show their named groups."""
        transport = _init()
        client = _client()
        _post_order(client, "/api/items/5/")
        client.get("/legacy/old/")
        included, regex = _events(transport)
        assert included["transaction"] == "/api/items/<int:item_id>/"
        assert regex["transaction"] == "/legacy/{slug}/"
        assert readable_route(r"^a/(?P<pk>[0-9]+)/(?P<x>(a|b))/\Z") == "/a/{pk}/{x}/"

    def test_unknown_transaction_style_is_rejected(self) -> None:
        """A typo in ``transaction_style`` fails at construction, naming the field."""
        with pytest.raises(ValueError, match="transaction_style"):
            DjangoIntegration(transaction_style="url_name")

    def test_oversize_json_body_is_left_out_with_a_remark(self) -> None:
        """A body over ``max_request_body_size`` is replaced by "" and a ``_meta`` remark; JSON within it is parsed."""
        transport = _init(max_request_body_size="small")
        client = _client()
        client.post("/orders/1/", json.dumps({"password": PASSWORD}), content_type="application/json")
        client.post("/orders/2/", json.dumps({"blob": "x" * 5000}), content_type="application/json")
        small, big = _events(transport)
        assert small["request"]["data"] == {"password": "[Filtered]"}
        assert big["request"]["data"] == ""
        assert big["_meta"]["request"]["data"][""]["rem"] == [["!config", "x"]]

    def test_record_sql_false_records_no_queries(self) -> None:
        """``record_sql=False`` keeps SQL out of the breadcrumbs."""
        transport = _init(DjangoIntegration(record_sql=False))
        _post_order(_client())
        (event,) = _events(transport)
        assert _queries(event) == []


class TestDjangoBehaviourUnchanged:
    def _run(self) -> list[tuple[int, bytes, str | None]]:
        client = _client()
        responses = [
            client.get("/ok/"),
            _post_order(client),
            client.post("/orders/7/", {"fail": "no"}),
            client.get("/missing/"),
        ]
        return [(r.status_code, r.content, r.get("X-App")) for r in responses]

    def test_responses_are_identical_with_and_without_the_sdk(self) -> None:
        """200/201/404/500 responses are byte-for-byte what Django sends without the SDK."""
        before = self._run()
        transport = _init()
        assert self._run() == before
        assert [status for status, *_ in before] == [202, 500, 201, 404]
        assert before[0] == (202, b"fine", "yes")
        assert len(_events(transport)) == 1

    def test_debug_technical_500_page_is_unchanged(self) -> None:
        """With DEBUG on, Django still renders its technical 500 page for the same exception."""
        with override_settings(DEBUG=True):
            before = _post_order(_client())
            transport = _init()
            after = _post_order(_client())
        assert before.status_code == after.status_code == 500
        assert before["Content-Type"] == after["Content-Type"]
        for response in (before, after):
            assert b"CardDeclined" in response.content
        assert len(_events(transport)) == 1

    def test_test_client_still_reraises_view_exceptions(self) -> None:
        """``django.test.Client`` keeps re-raising the view's exception object."""
        transport = _init()
        with pytest.raises(CardDeclined, match="declined"):
            _post_order(Client())
        assert len(_events(transport)) == 1

    def test_propagated_exceptions_reach_the_wsgi_server_and_are_captured_once(self) -> None:
        """With DEBUG_PROPAGATE_EXCEPTIONS the exception leaves the WSGI handler unchanged, one event is sent."""
        transport = _init()
        client = WsgiClient(get_wsgi_application(), use_cookies=False)
        with override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True), pytest.raises(CardDeclined):
            client.post("/orders/3/", data={"note": "x"})
        (event,) = _events(transport)
        assert _mechanism(event) == ("django", False)


class TestDjangoHandlers:
    def test_wsgi_handler_continues_the_trace_and_captures_streaming_errors(self) -> None:
        """Through the real WSGI handler: ``sentry-trace`` is continued; errors while streaming are captured."""
        transport = _init()
        client = WsgiClient(get_wsgi_application(), use_cookies=False)
        response = client.post(
            "/orders/4/",
            data={"password": PASSWORD},
            headers={"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1", "Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 500
        streamed = client.get("/stream-fail/")
        with pytest.raises(RuntimeError, match="stream broke"):
            streamed.get_data()
        first, second = _events(transport)
        assert first["contexts"]["trace"]["trace_id"] == TRACE_ID
        assert first["contexts"]["trace"]["parent_span_id"] == SPAN_ID
        assert first["request"]["data"] == {"password": "[Filtered]"}
        assert first["transaction"] == "/orders/<int:order_id>/"
        assert _mechanism(second) == ("django", False)
        assert second["transaction"] == "/stream-fail/"
        assert second["contexts"]["trace"]["trace_id"] != TRACE_ID
        assert_no_secrets([first, second], SECRETS)

    def test_w3c_traceparent_from_incoming_request_ends_up_in_the_event(self) -> None:
        """Without OTel instrumentation, an incoming W3C ``traceparent`` is the event's trace."""
        transport = _init()
        client = WsgiClient(get_wsgi_application(), use_cookies=False)
        response = client.post("/orders/4/", data={"note": "x"}, headers={"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
        assert response.status_code == 500
        (event,) = _events(transport)
        trace = event["contexts"]["trace"]
        assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE_ID, SPAN_ID)
        assert trace["span_id"] != SPAN_ID and len(trace["span_id"]) == 16

    def test_asgi_handler_isolates_concurrent_sync_and_async_views(self) -> None:
        """Under Django's ASGI handler, 20 concurrent sync and async views each get their own scope."""
        transport = _init()
        app = get_asgi_application()

        async def main() -> list[int]:
            asgi = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=asgi, base_url="http://testserver") as client:
                responses = await asyncio.gather(
                    *(
                        client.get(f"/{'async-fail' if n % 2 else 'concurrent'}/{n}/?password={PASSWORD}")
                        for n in range(20)
                    )
                )
            return [r.status_code for r in responses]

        assert asyncio.run(main()) == [500] * 20
        events = _events(transport)
        assert len(events) == 20
        for event in events:
            n = event["tags"]["n"]
            assert event["user"] == {"id": f"u-{n}"}
            assert event["request"]["url"].endswith(f"/{n}/")
            assert _mechanism(event) == ("django", False)
            route = "async-fail" if int(n) % 2 else "concurrent"
            assert event["transaction"] == f"/{route}/<int:n>/"
            own = [c for c in _queries(event) if "auth_user" in c["message"]]
            assert len(own) == (0 if int(n) % 2 else 1)
        assert_no_secrets(events, SECRETS)

    def test_async_test_client_requests_get_their_own_scope(self) -> None:
        """``AsyncClient`` (no ASGI server) still gets a scope per request, with request data and route."""
        transport = _init()

        async def main() -> list[int]:
            client = AsyncClient(raise_request_exception=False)
            responses = await asyncio.gather(*(client.get(f"/async-fail/{n}/") for n in (1, 2)))
            return [r.status_code for r in responses]

        assert asyncio.run(main()) == [500, 500]
        events = sorted(_events(transport), key=lambda e: e["tags"]["n"])
        assert [e["user"] for e in events] == [{"id": "u-1"}, {"id": "u-2"}]
        assert [e["request"]["url"] for e in events] == [f"http://testserver/async-fail/{n}/" for n in (1, 2)]
        assert {e["transaction"] for e in events} == {"/async-fail/<int:n>/"}

    def test_concurrent_test_client_requests_do_not_share_scope_data(self) -> None:
        """Twenty requests in threads each carry their own user, tag and SQL breadcrumb."""
        transport = _init()
        barrier = threading.Barrier(20)
        statuses: list[int] = []

        def one(n: int) -> None:
            client = _client()
            barrier.wait(5)
            statuses.append(client.get(f"/concurrent/{n}/").status_code)

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
            assert event["exception"]["values"][-1]["value"] == f"request {n} failed"
            (own,) = [c for c in _queries(event) if "auth_user" in c["message"]]
            assert "%s" in own["message"]


class TestDjangoInstall:
    def test_setup_once_twice_is_idempotent(self) -> None:
        """A second ``setup_once`` adds no second receiver or wrapper: one event, one breadcrumb per query."""
        integration = DjangoIntegration()
        transport = _init(integration)
        integration.setup_once()
        assert _our_receivers() == 1
        _post_order(_client())
        (event,) = _events(transport)
        messages = [c["message"] for c in _queries(event)]
        assert len(messages) == len(set(messages))

    def test_uninstall_restores_every_original(self) -> None:
        """After ``uninstall`` (and after ``sdk_core.close``) handlers, cursor and signal are Django's own."""
        originals = _originals()
        integration = DjangoIntegration()
        integration.setup_once()
        assert all(now is not before for now, before in zip(_originals(), originals))
        integration.uninstall()
        assert all(now is before for now, before in zip(_originals(), originals))
        assert _our_receivers() == 0
        _init()
        assert integrations.installed("django") is not None
        sdk_core.close()
        assert all(now is before for now, before in zip(_originals(), originals))
        assert _our_receivers() == 0

    def test_installed_by_default_when_django_is_importable(self) -> None:
        """``init`` without ``default_integrations=False`` installs the Django integration."""
        sdk_core.init(transport=InMemoryTransport())
        assert isinstance(integrations.installed("django"), DjangoIntegration)

    def test_did_not_enable_without_django(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Django, constructing the integration raises DidNotEnable (the registry skips it)."""
        monkeypatch.setitem(sys.modules, "django", None)
        with pytest.raises(DidNotEnable):
            DjangoIntegration()
