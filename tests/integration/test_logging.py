"""Logging integration: real loggers and handlers; records become breadcrumbs and events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import sdk_core
from integrations.logging import LoggingIntegration
from sdk_core.integration import sdk_sending
from tests.support.relay_check import conformance_errors
from tests.support.sdk import flushed_events as _events
from tests.support.sdk import init_with as _init


def _crumbs(event: dict[str, Any]) -> list[dict[str, Any]]:
    return list((event.get("breadcrumbs") or {}).get("values") or [])


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    """A DEBUG-level logger that keeps its records to itself (no stderr noise from lastResort)."""
    logger = logging.getLogger("tests.integration.logging_app")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = logging.NullHandler()
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


class TestLoggingIntegration:
    def test_error_record_becomes_event_with_logger_and_logentry(self, log: logging.Logger) -> None:
        """An ERROR record is an event naming its logger, with the template, params and formatted text."""
        transport = _init(LoggingIntegration())
        log.error("payment for %s failed %d times", "order-17", 3)
        (event,) = _events(transport)
        assert event["logger"] == "tests.integration.logging_app"
        assert event["level"] == "error"
        assert event["logentry"] == {
            "message": "payment for %s failed %d times",
            "params": ["order-17", 3],
            "formatted": "payment for order-17 failed 3 times",
        }
        assert "exception" not in event

    def test_mapping_args_are_kept_as_named_params(self, log: logging.Logger) -> None:
        """``log.error("%(user)s", {...})`` keeps the params as a mapping."""
        transport = _init(LoggingIntegration())
        log.error("login failed for %(user)s", {"user": "ada"})
        (event,) = _events(transport)
        assert event["logentry"]["params"] == {"user": "ada"}
        assert event["logentry"]["formatted"] == "login failed for ada"

    def test_info_record_is_breadcrumb_of_the_next_event(self, log: logging.Logger) -> None:
        """INFO and WARNING records are breadcrumbs, not events; the ERROR event carries them."""
        transport = _init(LoggingIntegration())
        log.debug("too quiet to keep")
        log.info("loaded %d rows", 12, extra={"table": "orders"})
        log.warning("slow query")
        log.error("gave up")
        (event,) = _events(transport)
        crumbs = _crumbs(event)
        assert [c["message"] for c in crumbs] == ["loaded 12 rows", "slow query"]
        first = crumbs[0]
        assert first["category"] == "tests.integration.logging_app"
        assert first["level"] == "info"
        assert first["type"] == "log"
        # the template and arguments ride along, so the scrubber can judge arguments by placeholder
        assert first["data"] == {"table": "orders", "logentry": {"message": "loaded %d rows", "params": [12]}}
        assert crumbs[1]["level"] == "warning"

    def test_error_record_is_also_a_breadcrumb_for_later_events(self, log: logging.Logger) -> None:
        """The ERROR record is not a breadcrumb of its own event, but of the following ones."""
        transport = _init(LoggingIntegration())
        log.error("first")
        log.error("second")
        first, second = _events(transport)
        assert _crumbs(first) == []
        assert [c["message"] for c in _crumbs(second)] == ["first"]

    def test_exc_info_becomes_exception_event_with_the_message(self, log: logging.Logger) -> None:
        """``log.exception`` sends the exception (handled, mechanism logging) plus the log message."""
        transport = _init(LoggingIntegration())
        stock: dict[str, int] = {}
        try:
            stock["missing"] += 1
        except KeyError:
            log.exception("lookup of %s failed", "missing")
        (event,) = _events(transport)
        (value,) = event["exception"]["values"]
        assert value["type"] == "KeyError"
        assert value["mechanism"]["type"] == "logging"
        assert value["mechanism"]["handled"] is True
        assert event["logentry"]["formatted"] == "lookup of missing failed"
        assert event["logger"] == "tests.integration.logging_app"
        assert event["level"] == "error"

    def test_extra_fields_are_event_extra(self, log: logging.Logger) -> None:
        """Fields passed with ``extra=`` land in the event's ``extra``."""
        transport = _init(LoggingIntegration())
        log.error("import failed", extra={"batch": 7, "source": "s3"})
        (event,) = _events(transport)
        assert event["extra"]["batch"] == 7
        assert event["extra"]["source"] == "s3"

    def test_levels_are_configurable(self, log: logging.Logger) -> None:
        """``level`` and ``event_level`` move both thresholds; CRITICAL maps to fatal."""
        transport = _init(LoggingIntegration(level=logging.WARNING, event_level=logging.CRITICAL))
        log.info("not a breadcrumb now")
        log.error("only a breadcrumb now")
        log.critical("disk gone")
        (event,) = _events(transport)
        assert event["level"] == "fatal"
        assert [c["message"] for c in _crumbs(event)] == ["only a breadcrumb now"]

    def test_none_switches_events_off(self, log: logging.Logger) -> None:
        """``event_level=None`` keeps breadcrumbs but never sends an event from a record."""
        transport = _init(LoggingIntegration(event_level=None))
        log.error("kept as a breadcrumb")
        sdk_core.capture_message("explicit")
        (event,) = _events(transport)
        assert event["logentry"]["message"] == "explicit"
        assert [c["message"] for c in _crumbs(event)] == ["kept as a breadcrumb"]

    def test_bad_levels_are_rejected_by_name(self) -> None:
        """A level that is not a number fails at construction, naming the argument."""
        with pytest.raises(TypeError, match="event_level"):
            LoggingIntegration(event_level="ERROR")  # type: ignore[arg-type]

    def test_sdk_own_logger_is_never_observed(self) -> None:
        """Records of ``sdk_core`` and its children are neither events nor breadcrumbs."""
        transport = _init(LoggingIntegration())
        logging.getLogger("sdk_core").error("internal error in %s", "somewhere")
        logging.getLogger("sdk_core.transport.http").warning("retrying")
        sdk_core.capture_message("after")
        (event,) = _events(transport)
        assert _crumbs(event) == []

    def test_ignore_loggers_skips_them_and_their_children(self, log: logging.Logger) -> None:
        """``ignore_loggers`` names loggers whose records (and their children's) are dropped."""
        transport = _init(LoggingIntegration(ignore_loggers=["tests.integration"]))
        log.error("ignored")
        logging.getLogger("tests.integrationx").error("not a child, kept")
        names = [e["logger"] for e in _events(transport)]
        assert names == ["tests.integrationx"]

    def test_records_logged_by_the_sdks_own_work_are_skipped(self, log: logging.Logger) -> None:
        """Whatever is logged while the SDK sends (httpx's upload log, the worker thread) is not observed."""
        transport = _init(LoggingIntegration())
        with sdk_sending():
            log.error("from the SDK's own work")
        sdk_core.capture_message("after")
        (event,) = _events(transport)
        assert event["logentry"]["message"] == "after"
        assert _crumbs(event) == []

    def test_logger_without_propagation_is_still_observed(self) -> None:
        """Records of a logger with ``propagate = False`` and its own handler still become events."""
        transport = _init(LoggingIntegration())
        isolated = logging.getLogger("tests.integration.isolated")
        collect = _Collect()
        isolated.addHandler(collect)
        isolated.propagate = False
        try:
            isolated.error("isolated failure")
        finally:
            isolated.removeHandler(collect)
            isolated.propagate = True
        (event,) = _events(transport)
        assert event["logger"] == "tests.integration.isolated"
        assert [r.getMessage() for r in collect.records] == ["isolated failure"]

    def test_handlers_receive_records_unchanged(self, log: logging.Logger) -> None:
        """The application's handlers see the same record objects, with the same content, as before."""
        collect = _Collect()
        log.addHandler(collect)
        try:
            _init(LoggingIntegration())
            log.info("hello %s", "world", extra={"k": 1})
            try:
                raise ValueError("bad")
            except ValueError:
                log.exception("oops")
        finally:
            log.removeHandler(collect)
        assert [r.getMessage() for r in collect.records] == ["hello world", "oops"]
        assert collect.records[0].args == ("world",)
        assert collect.records[0].k == 1  # type: ignore[attr-defined]
        exc_info = collect.records[1].exc_info
        assert exc_info is not None and isinstance(exc_info[1], ValueError)

    def test_exception_already_captured_is_not_sent_twice(self, log: logging.Logger) -> None:
        """An exception another integration has just captured is not captured again from its log line."""
        transport = _init(LoggingIntegration())
        try:
            raise RuntimeError("reported once")
        except RuntimeError as exc:
            sdk_core.capture_exception(exc, mechanism={"type": "framework", "handled": False})
            log.exception("framework logs what it reported")
        (event,) = _events(transport)
        assert event["exception"]["values"][0]["mechanism"]["type"] == "framework"

    def test_logging_inside_a_hook_does_not_recurse(self, log: logging.Logger) -> None:
        """A record logged while the integration is capturing (here from before_breadcrumb) is skipped."""

        def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
            log.error("logged from the hook")
            return crumb

        transport = _init(LoggingIntegration(), before_breadcrumb=before_breadcrumb)
        log.warning("outer")
        sdk_core.capture_message("after")
        (event,) = _events(transport)
        assert [c["message"] for c in _crumbs(event)] == ["outer"]

    def test_unformattable_record_keeps_the_template(self) -> None:
        """A record whose args do not fit its format string is still sent, with its template."""
        transport = _init(LoggingIntegration())
        # Made here, not in a fixture: pytest's capture handlers re-raise formatting errors.
        quiet = logging.getLogger("tests.integration.logging_unformattable")
        quiet.propagate = False
        quiet.addHandler(logging.NullHandler())
        quiet.error("expected a number: %d", "not a number")
        (event,) = _events(transport)
        assert event["logentry"]["message"] == "expected a number: %d"
        assert event["logentry"]["params"] == ["not a number"]

    def test_events_pass_relays_normaliser(self, log: logging.Logger) -> None:
        """Message, mapping-params and exception events from records are all valid for Relay."""
        transport = _init(LoggingIntegration())
        log.info("context %s", object(), extra={"obj": object()})
        log.error("plain %s", "params")
        log.error("named %(who)s", {"who": "params"})
        try:
            raise ValueError("with exception")
        except ValueError:
            log.exception("failed")
        events = _events(transport)
        assert len(events) == 3
        assert [conformance_errors(e) for e in events] == [[], [], []]

    def test_uninstall_restores_callhandlers(self, log: logging.Logger) -> None:
        """Closing the SDK puts ``Logger.callHandlers`` back and records are no longer observed."""
        original = logging.Logger.__dict__["callHandlers"]
        transport = _init(LoggingIntegration())
        assert logging.Logger.__dict__["callHandlers"] is not original
        sdk_core.close(1.0)
        assert logging.Logger.__dict__["callHandlers"] is original
        assert sdk_core.get_global_scope().processors == []
        log.error("after close")
        assert transport.events == []

    def test_setup_once_twice_sends_one_event(self, log: logging.Logger) -> None:
        """Calling ``setup_once`` again does not wrap twice: one record, one event."""
        integration = LoggingIntegration()
        transport = _init(integration)
        integration.setup_once()
        log.error("once")
        assert len(_events(transport)) == 1
        assert len(sdk_core.get_global_scope().processors) == 1
