"""Tracing in Django: http.server roots named by URL pattern, db spans for the ORM's SQL."""

from __future__ import annotations

from typing import Any, Iterator

import django
import pytest
from django.conf import settings

from tests.integration.django_project.settings import settings_dict

if not settings.configured:
    settings.configure(**settings_dict())
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import Client  # noqa: E402
from werkzeug.test import Client as WsgiClient  # noqa: E402

import integrations  # noqa: E402
import sdk_core  # noqa: E402
from integrations.django import DjangoIntegration  # noqa: E402
from sdk_core.transport.memory import InMemoryTransport  # noqa: E402
from tests.support.otel import global_provider  # noqa: E402
from tests.support.relay_check import conformance_errors  # noqa: E402

TRACE_ID = "771a43a4192642f0b136d5159a501700"
SPAN_ID = "b0e6f15b45c36b12"


@pytest.fixture(scope="module", autouse=True)
def _database() -> Iterator[None]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    if not User.objects.filter(username="alice").exists():
        User.objects.create_user("alice", "alice@example.com", "correct horse battery")
    yield


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    with global_provider(None):
        yield
    integrations.uninstall_all()


def _init(**options: Any) -> InMemoryTransport:
    transport = InMemoryTransport()
    options.setdefault("traces_sample_rate", 1.0)
    sdk_core.init(transport=transport, default_integrations=False, integrations=[DjangoIntegration()], **options)
    return transport


def _transactions(t: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(5)
    return t.transactions


def test_test_client_request_is_a_transaction_with_orm_spans() -> None:
    t = _init()
    response = Client().post("/orders/5/", data={"password": "hunter2", "fail": "no"})
    assert response.status_code == 201
    (tx,) = _transactions(t)
    assert tx["transaction"] == "/orders/<int:order_id>/"
    assert tx["transaction_info"] == {"source": "route"}
    trace = tx["contexts"]["trace"]
    assert trace["op"] == "http.server" and trace["status"] == "ok"
    assert trace["data"]["http.response.status_code"] == 201
    db_spans = [s for s in tx["spans"] if s["op"] == "db"]
    assert db_spans, tx["spans"]
    for span in db_spans:
        assert span["parent_span_id"] == trace["span_id"]
        assert span["data"]["db.system"] == "sqlite"
        assert "%s" in span["description"] and "hunter2" not in span["description"]
        assert span["origin"] == "auto.db.django"
    assert "hunter2" not in str(tx)
    assert conformance_errors(tx) == []


def test_wsgi_handler_request_continues_the_trace_and_fails() -> None:
    t = _init()
    wsgi = WsgiClient(get_wsgi_application())
    response = wsgi.get("/legacy/abc/", headers={"sentry-trace": f"{TRACE_ID}-{SPAN_ID}-1"})
    response.close()
    assert response.status_code == 500
    (tx,) = _transactions(t)
    trace = tx["contexts"]["trace"]
    assert trace["trace_id"] == TRACE_ID and trace["parent_span_id"] == SPAN_ID
    assert tx["transaction"] == "/legacy/{slug}/"
    assert trace["status"] == "internal_error"
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == TRACE_ID
    assert conformance_errors(tx) == []


def test_queries_outside_a_request_make_no_transaction() -> None:
    t = _init()
    User.objects.filter(username="nobody").exists()
    assert _transactions(t) == []


def test_async_request_through_get_response_async_is_a_transaction() -> None:
    import asyncio

    from django.test import AsyncClient

    t = _init()
    response = asyncio.run(AsyncClient(raise_request_exception=False).get("/async-fail/3/"))
    assert response.status_code == 500
    (tx,) = _transactions(t)
    assert tx["transaction"] == "/async-fail/<int:n>/"
    assert tx["contexts"]["trace"]["status"] == "internal_error"
    (event,) = t.events
    assert event["contexts"]["trace"]["trace_id"] == tx["contexts"]["trace"]["trace_id"]
    assert conformance_errors(tx) == []
