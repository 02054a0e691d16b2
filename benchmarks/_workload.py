# ruff: noqa: F841 (the frames' unused locals are the point: they are what the SDKs snapshot)
"""The realistic workload shared by every scenario, and one adapter per SDK configured comparably.

The event: an exception raised 5 frames deep (the catching frame included) with local variables in
every frame, 30 breadcrumbs on the scope, and request data (method, URL, headers with an
``Authorization`` header and cookies, a JSON body) attached by a scope event processor, as a web
integration would. Both SDKs get exactly the same processor, breadcrumbs and exception.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

SDKS = ("ours", "sentry")
BREADCRUMBS = 30


class PaymentError(Exception):
    pass


class Customer:
    """An application object in a frame's locals (serialised through ``repr``)."""

    def __init__(self, customer_id: int, email: str) -> None:
        self.customer_id = customer_id
        self.email = email

    def __repr__(self) -> str:
        return f"<Customer id={self.customer_id} email={self.email}>"


def _gateway(amount: int, card: dict[str, Any], attempt: int) -> None:
    gateway_url = "https://payments.example.com/v2/charges"
    api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    response = {"status": 402, "code": "card_declined", "decline_code": "insufficient_funds"}
    raise PaymentError(f"charge of {amount} cents declined by {gateway_url}: {response['code']}")


def _charge(order: dict[str, Any], customer: Customer) -> None:
    card = {"number": "4111 1111 1111 1111", "exp": "12/29", "holder": "Jane Doe"}
    amount = sum(line["price"] * line["qty"] for line in order["lines"])
    for attempt in range(1, 2):
        _gateway(amount, card, attempt)


def _checkout(order_id: int, user_token: str) -> None:
    customer = Customer(4711, "jane.doe@example.com")
    order = {
        "id": order_id,
        "lines": [{"sku": f"SKU-{i:04d}", "price": 1999 + i, "qty": 1 + i % 3} for i in range(6)],
        "currency": "EUR",
        "coupon": None,
        "shipping": {"street": "Hauptstrasse 1", "city": "Berlin", "zip": "10115"},
    }
    session_password = "correct horse battery staple"
    retries = 3
    _charge(order, customer)


def _view(request_id: str) -> None:
    user_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NzExIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    path = "/api/orders/1234/checkout"
    started = 1_700_000_000.5
    _checkout(1234, user_token)


def make_exception() -> BaseException:
    """Raise the benchmark exception and return it, its traceback 5 frames deep."""
    request_id = "9f1c2b7e6d5a4c3b"
    flags = {"beta": True, "ab_bucket": 7}
    try:
        _view(request_id)
    except PaymentError as exc:
        return exc
    raise AssertionError("unreachable")


def request_data() -> dict[str, Any]:
    """What a web integration attaches: a fresh dict per event (the SDKs may scrub in place)."""
    return {
        "method": "POST",
        "url": "https://shop.example.com/api/orders/1234/checkout",
        "query_string": "ref=newsletter&utm_source=mail&access_token=qwerty123456",
        "headers": {
            "Host": "shop.example.com",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
            "Accept": "application/json",
            "Accept-Language": "de-DE,de;q=0.9,en;q=0.8",
            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NzExIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
            "Cookie": "sessionid=8b3c1e0f2a4d4b6c9e7f; csrftoken=Zx81kQpL0o9mN2bV",
            "Content-Type": "application/json",
            "X-Request-Id": "9f1c2b7e6d5a4c3b",
            "X-Forwarded-For": "203.0.113.7",
        },
        "cookies": {"sessionid": "8b3c1e0f2a4d4b6c9e7f", "csrftoken": "Zx81kQpL0o9mN2bV"},
        "data": {
            "order_id": 1234,
            "payment": {"card_number": "4111 1111 1111 1111", "cvv": "123", "holder": "Jane Doe"},
            "email": "jane.doe@example.com",
            "password": "correct horse battery staple",
            "items": [{"sku": f"SKU-{i:04d}", "qty": 1 + i % 3} for i in range(6)],
            "note": "please ring twice; call me at +49 30 1234567",
        },
        "env": {"REMOTE_ADDR": "203.0.113.7", "SERVER_NAME": "shop.example.com", "SERVER_PORT": "443"},
    }


def request_processor(event: dict[str, Any], hint: Any) -> dict[str, Any]:
    event["request"] = request_data()
    return event


def breadcrumb(i: int) -> dict[str, Any]:
    return {
        "type": "http",
        "category": "httpx",
        "level": "info",
        "message": f"GET https://inventory.internal/api/items/{i}",
        "data": {"method": "GET", "url": f"https://inventory.internal/api/items/{i}", "status_code": 200},
    }


# -- SDK adapters ---------------------------------------------------------------------------------


class Adapter:
    """The calls a scenario makes, for one SDK."""

    name = ""

    def import_sdk(self) -> Any:
        raise NotImplementedError

    def init(self, dsn: Optional[str], queue_size: Optional[int] = None, integrations: Any = ()) -> None:
        raise NotImplementedError

    def capture_exception(self, exc: BaseException) -> Any:
        return self.sdk.capture_exception(exc)

    def add_breadcrumb(self, crumb: dict[str, Any]) -> None:
        self.sdk.add_breadcrumb(crumb)

    def set_tag(self, key: str, value: str) -> None:
        self.sdk.set_tag(key, value)

    def flush(self, timeout: float) -> Any:
        return self.sdk.flush(timeout)

    def close(self) -> None:
        raise NotImplementedError

    def add_event_processor(self, processor: Callable[..., Any]) -> None:
        self.sdk.get_isolation_scope().add_event_processor(processor)

    def integration(self, framework: str) -> Any:
        raise NotImplementedError

    def installed_integrations(self) -> list[str]:
        raise NotImplementedError

    def prepare(self, breadcrumbs: int = BREADCRUMBS) -> None:
        """The per-scenario scope: the request processor and the breadcrumbs."""
        self.add_event_processor(request_processor)
        for i in range(breadcrumbs):
            self.add_breadcrumb(breadcrumb(i))

    @property
    def sdk(self) -> Any:
        return self.import_sdk()


class Ours(Adapter):
    name = "ours"

    def import_sdk(self) -> Any:
        import sdk_core

        return sdk_core

    def init(self, dsn: Optional[str], queue_size: Optional[int] = None, integrations: Any = ()) -> None:
        kwargs: dict[str, Any] = {}
        if queue_size is not None:
            kwargs["max_queue_size"] = queue_size
        self.sdk.init(
            dsn,
            default_integrations=False,
            integrations=list(integrations),
            include_local_variables=True,
            send_default_pii=False,
            sample_rate=1.0,
            environment="bench",
            release="bench@1.0.0",
            **kwargs,
        )

    def close(self) -> None:
        self.sdk.close(2.0)

    def installed_integrations(self) -> list[str]:
        client = self.sdk.get_client()
        return list(client.integration_names) if client is not None else []

    def integration(self, framework: str) -> Any:
        if framework == "flask":
            from integrations.flask import FlaskIntegration

            return FlaskIntegration()
        if framework == "django":
            from integrations.django import DjangoIntegration

            return DjangoIntegration()
        if framework == "celery":
            from integrations.celery import CeleryIntegration

            return CeleryIntegration()
        if framework == "fastapi":
            from integrations.starlette import StarletteIntegration

            return StarletteIntegration()
        if framework == "aiohttp":
            from integrations.aiohttp import AioHttpIntegration

            return AioHttpIntegration()
        if framework == "sqlalchemy":
            from integrations.sqlalchemy import SqlalchemyIntegration

            return SqlalchemyIntegration()
        raise ValueError(framework)


class Sentry(Adapter):
    name = "sentry"

    def import_sdk(self) -> Any:
        import sentry_sdk

        return sentry_sdk

    def init(self, dsn: Optional[str], queue_size: Optional[int] = None, integrations: Any = ()) -> None:
        kwargs: dict[str, Any] = {}
        if queue_size is not None:
            kwargs["transport_queue_size"] = queue_size
        self.sdk.init(
            dsn,
            default_integrations=False,
            auto_enabling_integrations=False,
            integrations=list(integrations),
            include_local_variables=True,
            send_default_pii=False,
            sample_rate=1.0,
            environment="bench",
            release="bench@1.0.0",
            # Release-health sessions have no counterpart in our SDK: leave them out of the comparison.
            auto_session_tracking=False,
            **kwargs,
        )

    def close(self) -> None:
        client = self.sdk.get_client()
        client.close(timeout=2.0)

    def installed_integrations(self) -> list[str]:
        return sorted(self.sdk.get_client().integrations)

    def integration(self, framework: str) -> Any:
        if framework == "flask":
            from sentry_sdk.integrations.flask import FlaskIntegration

            return FlaskIntegration()
        if framework == "django":
            from sentry_sdk.integrations.django import DjangoIntegration

            return DjangoIntegration()
        if framework == "celery":
            from sentry_sdk.integrations.celery import CeleryIntegration

            return CeleryIntegration()
        if framework == "fastapi":  # what sentry-sdk enables for a FastAPI app: both
            from sentry_sdk.integrations.fastapi import FastApiIntegration
            from sentry_sdk.integrations.starlette import StarletteIntegration

            return [StarletteIntegration(), FastApiIntegration()]
        if framework == "aiohttp":
            from sentry_sdk.integrations.aiohttp import AioHttpIntegration

            return AioHttpIntegration()
        if framework == "sqlalchemy":
            from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

            return SqlalchemyIntegration()
        raise ValueError(framework)


def adapter(name: str) -> Adapter:
    if name == "ours":
        return Ours()
    if name == "sentry":
        return Sentry()
    raise ValueError(f"unknown SDK {name!r} (expected one of {', '.join(SDKS)})")


def integration_available(framework: str) -> bool:
    """Whether our integration for ``framework`` exists yet (others are writing them)."""
    import importlib.util

    try:
        return importlib.util.find_spec(f"integrations.{framework}") is not None
    except (ImportError, ValueError):
        return False


def rss_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, from /proc/self/status."""
    out = {"rss": 0, "hwm": 0}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    out["rss"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    out["hwm"] = int(line.split()[1])
    except OSError:
        pass
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def python_version() -> str:
    return sys.version.split()[0]
