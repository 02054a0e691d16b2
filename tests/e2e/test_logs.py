"""Structured logs (``enable_logs``) end to end: logging records and ``sdk_core.logger`` calls reach
the local receiver as ``log`` items, batched, scrubbed, hooked, rate limited and counted."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any, Callable

import httpx
import pytest

import sdk_core
from sdk_core import logs as logs_mod
from sdk_core.devserver import Receiver
from sdk_core.options import validate
from sdk_core.transport.envelope import Envelope
from tests.support.loopback import LoopbackServer, Reply

CARD = "4111 1111 1111 1111"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("shop.orders")
    old = log.level
    log.setLevel(logging.DEBUG)
    yield log
    log.setLevel(old)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def attrs(log: dict[str, Any]) -> dict[str, Any]:
    return {key: value["value"] for key, value in log["attributes"].items()}


def stored_logs(receiver: Receiver) -> list[dict[str, Any]]:
    return [row["payload"] for row in receiver.items("log")]


def test_records_at_or_above_logs_level_arrive_with_template_parameters_and_trace(
    receiver: Receiver, app_logger: logging.Logger
) -> None:
    sdk_core.init(receiver.dsn, enable_logs=True, release="shop@2.1", environment="staging", server_name="web-7")
    with sdk_core.isolation_scope():
        app_logger.debug("cache miss for %s", "sku-1")  # below the default logs_level (INFO)
        app_logger.info("order %s paid by %s", 1234, "alice", extra={"tenant": "eu"})
        try:
            raise ValueError("boom")
        except ValueError:
            sdk_core.capture_exception()
    sdk_core.flush(5)
    logs = stored_logs(receiver)
    assert [log["body"] for log in logs] == ["order 1234 paid by alice"]
    (log,) = logs
    assert log["level"] == "info" and log["severity_number"] == 9
    assert isinstance(log["timestamp"], float) and abs(log["timestamp"] - time.time()) < 60
    a = attrs(log)
    assert a["sentry.message.template"] == "order %s paid by %s"
    assert log["attributes"]["sentry.message.parameter.0"] == {"value": 1234, "type": "integer"}
    assert a["sentry.message.parameter.1"] == "alice"
    assert a["logger.name"] == "shop.orders" and a["tenant"] == "eu"
    assert (a["sentry.release"], a["sentry.environment"], a["server.address"]) == ("shop@2.1", "staging", "web-7")
    assert a["sentry.sdk.name"] == "coderadar.python"
    (event,) = receiver.events()
    trace = event["payload"]["contexts"]["trace"]
    assert log["trace_id"] == trace["trace_id"] and log["span_id"] == trace["span_id"]
    assert receiver.items("log", trace_id=trace["trace_id"])


def test_logs_level_and_enable_logs_false(receiver: Receiver, app_logger: logging.Logger) -> None:
    sdk_core.init(receiver.dsn, enable_logs=True, logs_level="warning")
    app_logger.info("quiet")
    app_logger.warning("loud %d", 1)
    sdk_core.flush(5)
    assert [log["body"] for log in stored_logs(receiver)] == ["loud 1"]
    sdk_core.init(receiver.dsn)  # enable_logs defaults to False
    app_logger.error("not a log item")
    sdk_core.flush(5)
    assert len(stored_logs(receiver)) == 1
    with pytest.raises(ValueError, match="logs_level"):
        sdk_core.init(receiver.dsn, enable_logs=True, logs_level="loud")


def test_logs_are_scrubbed_before_before_send_log_and_the_hook_can_drop(
    receiver: Receiver, app_logger: logging.Logger
) -> None:
    seen: list[str] = []

    def hook(log: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(repr(log))
        if "drop me" in log["body"]:
            return None
        assert log["severity_text"] == "warn" and log["severity_number"] == 13  # sentry-sdk's shape
        assert log["attributes"]["logger.name"] == "shop.orders" and isinstance(log["time_unix_nano"], int)
        log["attributes"]["hooked"] = True
        log["body"] = log["body"] + " (seen)"
        return log

    sdk_core.init(receiver.dsn, enable_logs=True, before_send_log=hook)
    app_logger.warning("charging card %s with key %s", CARD, STRIPE, extra={"password": "hunter2-pass"})
    sdk_core.logger.info("drop me {n}", n=1)
    sdk_core.flush(5)
    sdk_core.close()
    assert len(seen) == 2 and all(CARD not in text and STRIPE not in text for text in seen)
    assert "hunter2-pass" not in seen[0]
    (log,) = stored_logs(receiver)
    text = repr(log)
    assert CARD not in text and STRIPE not in text and "hunter2-pass" not in text
    assert "[Filtered]" in log["body"] and log["body"].endswith(" (seen)")
    assert log["attributes"]["hooked"] == {"value": True, "type": "boolean"}
    assert {"reason": "before_send", "category": "log_item", "quantity": 1} in receiver.client_reports()


def test_sdk_core_logger_is_shaped_like_sentry_sdks(receiver: Receiver) -> None:
    sdk_core.logger.info("before init {x}", x=1)  # no client: nothing, no error
    sdk_core.init(receiver.dsn, enable_logs=True)
    sdk_core.logger.info("order {order_id} took {ms} ms", order_id="A-7", ms=12.5, attributes={"shop": "eu"})
    sdk_core.logger.debug("below the level")
    sdk_core.logger.error("failed {0}", "twice")
    sdk_core.logger.fatal("bad {template", x=1)  # a broken template is kept as it is
    sdk_core.flush(5)
    logs = stored_logs(receiver)
    assert [(log["level"], log["body"]) for log in logs] == [
        ("info", "order A-7 took 12.5 ms"),
        ("error", "failed twice"),
        ("fatal", "bad {template"),
    ]
    a = attrs(logs[0])
    assert a["sentry.message.template"] == "order {order_id} took {ms} ms"
    assert a["sentry.message.parameter.order_id"] == "A-7" and a["sentry.message.parameter.ms"] == 12.5
    assert a["shop"] == "eu" and logs[0]["severity_number"] == 9 and logs[2]["severity_number"] == 21


def test_the_sdks_own_records_never_become_logs(receiver: Receiver, app_logger: logging.Logger) -> None:
    httpx_logger = logging.getLogger("httpx")
    old = httpx_logger.level
    httpx_logger.setLevel(logging.DEBUG)  # httpx logs each of our uploads at INFO on the worker
    try:
        sdk_core.init(receiver.dsn, enable_logs=True, logs_level=logging.DEBUG, debug=True)
        logging.getLogger("sdk_core").warning("the SDK talking about itself")
        app_logger.info("first")
        sdk_core.flush(5)
        app_logger.info("second")  # sent after an upload httpx has logged
        sdk_core.flush(5)
        with httpx.Client() as client:  # the application's own httpx use is fair game
            client.get(f"http://127.0.0.1:{receiver.port}/nothing-here")
        sdk_core.flush(5)
    finally:
        httpx_logger.setLevel(old)
    names = [attrs(log)["logger.name"] for log in stored_logs(receiver)]
    assert names.count("shop.orders") == 2
    assert "sdk_core" not in names
    assert names.count("httpx") == 1  # the app's GET, not our envelope POSTs
    assert not any(e["payload"].get("logger") in ("sdk_core", "httpx") for e in receiver.events())


def test_batches_of_at_most_100_with_item_count(app_logger: logging.Logger) -> None:
    sent: list[Envelope] = []

    class Keep:
        def send(self, envelope: Envelope) -> None:
            sent.append(envelope)

        def flush(self, timeout: float) -> bool:
            return True

        def close(self, timeout: float) -> None:
            pass

    sdk_core.init(transport=Keep(), enable_logs=True)
    for i in range(250):
        app_logger.info("line %d", i)
    sdk_core.flush(5)
    items = [item for env in sent for item in env.items if item.type == "log"]
    counts = [item.headers["item_count"] for item in items]
    assert sorted(counts, reverse=True) == [100, 100, 50]
    assert all(len(env.items) == 1 for env in sent)  # one log container per envelope
    assert all(item.headers["content_type"] == "application/vnd.sentry.items.log+json" for item in items)
    import orjson

    bodies = [log["body"] for item in items for log in orjson.loads(item.payload)["items"]]
    assert bodies == [f"line {i}" for i in range(250)]


def test_a_partial_batch_leaves_after_the_flush_interval(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver, app_logger: logging.Logger
) -> None:
    monkeypatch.setattr(logs_mod, "FLUSH_INTERVAL", 0.2)
    sdk_core.init(receiver.dsn, enable_logs=True)
    app_logger.info("lonely line")
    assert wait_for(lambda: len(stored_logs(receiver)) == 1)  # no flush() call: the timer sent it


def test_buffer_is_bounded_and_overflow_is_counted() -> None:
    counted: list[tuple[str, str, int]] = []

    builder = logs_mod.LogBuilder(validate(None), None, lambda *a: counted.append(a))
    batcher = logs_mod.LogBatcher(builder, lambda job: False, lambda *a: counted.append(a), logging.INFO)
    raw = logs_mod.RawLog(time.time(), logging.INFO, "x", None, None, None, None, None)
    for _ in range(1100):
        batcher.add(raw)
    total = sum(q for reason, category, q in counted if (reason, category) == ("queue_overflow", "log_item"))
    assert total == 100
    assert len(batcher._buffer) == logs_mod.MAX_BUFFERED
    batcher.close()
    total = sum(q for reason, category, q in counted if (reason, category) == ("queue_overflow", "log_item"))
    assert total == 1100


def test_rate_limited_log_item_category_is_dropped_and_counted_per_log(app_logger: logging.Logger) -> None:
    with LoopbackServer(Reply(200, {"X-Sentry-Rate-Limits": "60:log_item:organization"})) as server:
        sdk_core.init(server.dsn(), enable_logs=True)
        app_logger.info("first batch")
        sdk_core.flush(5)
        for i in range(3):
            app_logger.info("limited %d", i)
        sdk_core.flush(5)
        sdk_core.capture_message("an error still goes")  # other categories are not limited
        sdk_core.flush(5)
        assert server.wait_for(lambda: server.discarded().get(("ratelimit_backoff", "log_item")) == 3)
        logs = [item for r in server.requests for item in r.items_of("log")]
        assert len(logs) == 1 and len(server.events) == 1


def test_arguments_are_read_at_the_call_and_bad_formats_keep_the_template(
    receiver: Receiver, app_logger: logging.Logger
) -> None:
    class Cart:
        def __init__(self) -> None:
            self.items = 1

        def __str__(self) -> str:
            return f"cart({self.items})"

    sdk_core.init(receiver.dsn, enable_logs=True)
    cart = Cart()
    values = {"user": "bob"}
    app_logger.info("cart %s", cart)
    app_logger.info("user %(user)s", values)
    cart.items, values["user"] = 99, "mallory"  # changed after the call, before the worker runs
    logging.raiseExceptions, raise_before = False, logging.raiseExceptions
    try:
        app_logger.info("two %s %s", "only-one")  # logging itself reports the bad format
    finally:
        logging.raiseExceptions = raise_before
    sdk_core.flush(5)
    assert [log["body"] for log in stored_logs(receiver)] == ["cart cart(1)", "user bob", "two %s %s"]


def test_logs_and_check_ins_carry_the_active_opentelemetry_span(receiver: Receiver, app_logger: logging.Logger) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("tests")  # not the global provider: only the active span matters
    sdk_core.init(receiver.dsn, enable_logs=True)
    with tracer.start_as_current_span("checkout") as span:
        app_logger.info("inside the span")
        sdk_core.capture_checkin("otel-job", status="ok")
        ctx = span.get_span_context()
    sdk_core.flush(5)
    (log,) = stored_logs(receiver)
    assert (log["trace_id"], log["span_id"]) == (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}")
    (check_in,) = [row["payload"] for row in receiver.items("check_in")]
    assert check_in["contexts"]["trace"] == {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
