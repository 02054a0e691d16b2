"""The README demo: a local receiver, a small app that fails with secrets in hand, and the result.

Run with ``make demo``. Nothing leaves 127.0.0.1 and no account is needed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import sdk_core
from sdk_core.receiver import Receiver, credential_scrub, read_events

PASSWORD = "correct-horse-battery-staple"
AUTH_HEADER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8tb25seQ"
CARD = "4111 1111 1111 1111"


class PaymentDeclined(Exception):
    pass


def charge(card_number: str, amount_cents: int) -> None:
    gateway_reply = {"status": "declined", "code": 51}
    raise PaymentDeclined(f"card {card_number} declined for {amount_cents} cents: {gateway_reply['code']}")


def checkout(form: dict[str, str], headers: dict[str, str]) -> None:
    password = form["password"]  # the user re-entered it to confirm the purchase
    cart_total = 4999
    charge(form["card"], cart_total)


def handle_request() -> None:
    headers = {"Authorization": AUTH_HEADER, "User-Agent": "demo-browser/1.0", "Accept": "text/html"}
    form = {"email": "jane.doe@example.com", "password": PASSWORD, "card": CARD}
    with sdk_core.isolation_scope() as scope:
        scope.set_propagation_context()
        scope.set_transaction_name("/checkout")
        sdk_core.set_user({"id": "user-1842"})
        sdk_core.add_breadcrumb(category="auth", message="user logged in", data={"password": PASSWORD})
        sdk_core.add_breadcrumb(category="http", message=f"GET /cart with {AUTH_HEADER}")
        scope.add_event_processor(
            lambda event, hint: {
                **event,
                "request": {"method": "POST", "url": "http://shop.local/checkout", "headers": headers, "data": form},
            }
        )
        try:
            checkout(form, headers)
        except PaymentDeclined:
            sdk_core.capture_exception()


def main() -> int:
    workdir = tempfile.mkdtemp(prefix="coderadar-demo-")
    db = os.path.join(workdir, "events.db")
    with Receiver(db_path=db, verbose=True, scrub=credential_scrub()) as receiver:
        print(f"Receiver: {receiver.dsn.split('@')[1]} (loopback only; events stored in {db})")
        sdk_core.init(receiver.dsn, release="demo-shop@1.0.0", environment="demo")
        handle_request()
        delivered = sdk_core.flush(5)
        sdk_core.close()
    if not delivered:
        print("the event was not delivered", file=sys.stderr)
        return 1
    (row,) = read_events(db)
    event = row["payload"] if "payload" in row else row
    text = json.dumps(event)
    print("\nWhat the receiver stored (excerpt):")
    exc = event["exception"]["values"][-1]
    print(f"  exception: {exc['type']}: {exc['value']}")
    frame = exc["stacktrace"]["frames"][-2]
    print(f"  locals of {frame['function']}(): {json.dumps(frame.get('vars'))[:300]}")
    print(f"  request headers: {json.dumps(event['request']['headers'])}")
    print(f"  request data: {json.dumps(event['request']['data'])}")
    print(f"  breadcrumbs: {[c.get('message') for c in event['breadcrumbs']['values']]}")
    remarks = sum(1 for _ in _remarks(event.get("_meta", {})))
    print(f"  redactions recorded in _meta: {remarks}")
    leaked = [
        name
        for name, value in (("password", PASSWORD), ("Authorization", AUTH_HEADER), ("card", CARD))
        if value in text
    ]
    if leaked:
        print(f"\nLEAKED: {leaked}", file=sys.stderr)
        return 1
    print("\nThe password, the Authorization header and the card number never left the process.")
    print(f"Read all stored events with: python -m sdk_core events --db {db}")
    return 0


def _remarks(meta: object):  # type: ignore[no-untyped-def]
    if isinstance(meta, dict):
        for key, value in meta.items():
            if key == "" and isinstance(value, dict):
                yield from value.get("rem", [])
            else:
                yield from _remarks(value)


if __name__ == "__main__":
    sys.exit(main())
