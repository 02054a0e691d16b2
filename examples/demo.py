"""The README demo: a local receiver, a small app that fails with secrets in hand, and the result.

Run with ``make demo``. Nothing leaves 127.0.0.1 and no account is needed. The last line printed
is the URL of the receiver's web console; ``--keep-serving`` keeps it up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from typing import Any, Optional

import sdk_core
from sdk_core.devserver import DEFAULT_PORT, Receiver, credential_scrub, read_events

PASSWORD = "correct-horse-battery-staple"
AUTH_HEADER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8tb25seQ"
CARD = "4111 1111 1111 1111"


class PaymentDeclined(Exception):
    pass


class CartError(Exception):
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


def browse_catalog() -> None:
    """A warning-level message event, before the failure."""
    with sdk_core.isolation_scope() as scope:
        scope.set_transaction_name("/catalog")
        sdk_core.set_tag("feature", "search")
        sdk_core.add_breadcrumb(category="query", message="SELECT id, name FROM products WHERE name LIKE ?")
        sdk_core.capture_message("search index is 3 days old; results may be stale", level="warning")


def apply_coupon(cart: dict[str, Any]) -> int:
    try:
        return int(cart["coupon"]["percent"])
    except KeyError as exc:
        raise CartError(f"cart {cart['id']} has no coupon") from exc


def view_cart() -> None:
    """An exception chain (CartError from KeyError)."""
    with sdk_core.isolation_scope() as scope:
        scope.set_transaction_name("/cart")
        sdk_core.set_user({"id": "user-1842"})
        cart = {"id": 1842, "items": [{"sku": "LAMP-01", "qty": 1}]}
        try:
            apply_coupon(cart)
        except CartError:
            sdk_core.capture_exception()


def _start_receiver(db: str) -> Receiver:
    """On the port ``python -m sdk_core serve`` uses by default, so the console URL stays valid
    when the same database is served again; any free port if that one is taken."""
    for port in (DEFAULT_PORT, 0):
        receiver = Receiver(db_path=db, port=port, verbose=True, scrub=credential_scrub(), console=True)
        try:
            return receiver.start()
        except OSError:
            receiver.stop()
    raise OSError("no free port on 127.0.0.1")  # pragma: no cover - port 0 always binds


def _wait_for_ctrl_c() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep-serving", action="store_true", help="keep the receiver and its console up until Ctrl-C")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="coderadar-demo-")
    db = os.path.join(workdir, "events.db")
    receiver = _start_receiver(db)
    try:
        print(f"Receiver: {receiver.dsn.split('@')[1]} (loopback only; events stored in {db})")
        sdk_core.init(receiver.dsn, release="demo-shop@1.0.0", environment="demo")
        browse_catalog()
        view_cart()
        handle_request()
        delivered = sdk_core.flush(5)
        sdk_core.close()
        if not delivered:
            print("the events were not delivered", file=sys.stderr)
            return 1
        status = _report(db)
        if status:
            return status
        if args.keep_serving:
            print("\nBrowse the events in the receiver's web console (Ctrl-C to stop):")
            print(f"Console: {receiver.console_url}", flush=True)
            _wait_for_ctrl_c()
        else:
            print("\nThis demo's receiver has stopped. Browse the events in its web console: rerun with")
            print(f"--keep-serving, or serve them again with: python -m sdk_core serve --db {db}")
            print(f"Console: {receiver.console_url}")
        return 0
    finally:
        receiver.stop()


def _report(db: str) -> int:
    rows = read_events(db)
    events = [row["payload"] for row in rows]
    (event,) = [e for e in events if e.get("transaction") == "/checkout"]
    print(f"\nThe receiver stored {len(events)} events. The checkout failure (excerpt):")
    exc = event["exception"]["values"][-1]
    print(f"  exception: {exc['type']}: {exc['value']}")
    frame = exc["stacktrace"]["frames"][-2]
    print(f"  locals of {frame['function']}(): {json.dumps(frame.get('vars'))[:300]}")
    print(f"  request headers: {json.dumps(event['request']['headers'])}")
    print(f"  request data: {json.dumps(event['request']['data'])}")
    print(f"  breadcrumbs: {[c.get('message') for c in event['breadcrumbs']['values']]}")
    remarks = sum(1 for _ in _remarks(event.get("_meta", {})))
    print(f"  redactions recorded in _meta: {remarks}")
    text = json.dumps(events)
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
