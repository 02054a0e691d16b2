"""Views that fail the way real ones do: a secret in a local, the request body and the query."""

from __future__ import annotations

from typing import Any, Iterator

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

import sdk_core

CARD = "4111 1111 1111 1111"


class CardDeclined(Exception):
    pass


def _charge(card_number: str) -> None:
    raise CardDeclined(f"card {card_number} declined")


def ok(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("fine", status=202)
    response["X-App"] = "yes"
    return response


def order_detail(request: HttpRequest, order_id: int = 0, item_id: int = 0) -> HttpResponse:
    sdk_core.set_tag("order", str(order_id or item_id))
    # A parameterised query whose parameter is the password: the breadcrumb must keep only %s.
    User.objects.filter(username=request.POST.get("password", "")).exists()
    if request.POST.get("fail") == "no":
        return HttpResponse("created", status=201)
    card = CARD
    _charge(card)
    return HttpResponse("unreachable")


def legacy(request: HttpRequest, slug: str) -> HttpResponse:
    raise LookupError(f"no legacy page {slug}")


def concurrent(request: HttpRequest, n: int) -> HttpResponse:
    sdk_core.set_tag("n", str(n))
    sdk_core.set_user({"id": f"u-{n}"})
    User.objects.filter(username=f"user-{n}").count()
    raise RuntimeError(f"request {n} failed")


async def async_fail(request: HttpRequest, n: int) -> HttpResponse:
    sdk_core.set_tag("n", str(n))
    sdk_core.set_user({"id": f"u-{n}"})
    raise RuntimeError(f"async request {n} failed")


def stream_fail(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[Any]:
        yield b"first"
        raise RuntimeError("stream broke")

    return StreamingHttpResponse(chunks())
