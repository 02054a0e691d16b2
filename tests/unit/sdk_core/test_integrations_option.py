"""``integrations=`` and ``disabled_integrations=``: validated at ``init``, combined with the defaults."""

from __future__ import annotations

import re
from typing import Any

import pytest

import integrations
import sdk_core
from integrations.logging import LoggingIntegration
from integrations.stdlib import StdlibIntegration
from integrations.threading import ThreadingIntegration
from sdk_core.transport.memory import InMemoryTransport


def _init(**options: Any) -> None:
    sdk_core.init(transport=InMemoryTransport(), **options)


class NotAnIntegration:
    identifier = 42


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["logging"], "integrations[0]: expected an Integration instance such as LoggingIntegration(), "
         "got str 'logging'"),
        (
            [LoggingIntegration(), LoggingIntegration],
            "integrations[1]: expected an Integration instance such as LoggingIntegration(), "
            "got the class LoggingIntegration (call it: LoggingIntegration())",
        ),
        ([None], "integrations[0]: expected an Integration instance such as LoggingIntegration(), got NoneType"),
        ([NotAnIntegration()], "integrations[0]: expected an Integration instance such as LoggingIntegration(), "
         "got NotAnIntegration"),
        ("logging", "integrations: expected a list, got str"),
    ],
)  # fmt: skip
def test_wrong_integrations_entries_fail_at_init_naming_the_entry(entries: Any, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        _init(integrations=entries)
    assert sdk_core.get_client() is None


def test_an_explicit_list_adds_to_the_defaults() -> None:
    configured = ThreadingIntegration(propagate_scope=True)
    _init(integrations=[configured])
    assert integrations.installed("threading") is configured  # replaces the default with its identifier
    assert integrations.installed("logging") is not None
    assert integrations.installed("excepthook") is not None
    assert "threading" in sdk_core.get_client().integration_names  # type: ignore[union-attr]


def test_default_integrations_false_keeps_only_the_explicit_list() -> None:
    _init(integrations=[StdlibIntegration()], default_integrations=False)
    assert integrations.installed("stdlib") is not None
    assert integrations.installed("logging") is None
    assert integrations.installed("excepthook") is None


@pytest.mark.parametrize("entry", ["logging", LoggingIntegration, LoggingIntegration()])
def test_disabled_integrations_takes_identifiers_classes_or_instances(entry: Any) -> None:
    _init(disabled_integrations=[entry])
    assert integrations.installed("logging") is None
    assert integrations.installed("excepthook") is not None


def test_disabled_wins_over_an_explicit_instance_as_in_sentry_sdk() -> None:
    _init(integrations=[LoggingIntegration(level=None)], disabled_integrations=["logging"])
    assert integrations.installed("logging") is None


def test_a_new_init_reinstalls_what_was_disabled() -> None:
    _init(disabled_integrations=["logging"])
    assert integrations.installed("logging") is None
    _init()
    assert integrations.installed("logging") is not None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([3], "disabled_integrations[0]: expected an integration identifier such as 'logging', an Integration class "
         "or instance, got int 3"),
        ([""], "disabled_integrations[0]"),
        ("logging", "disabled_integrations: expected a list, got str"),
    ],
)  # fmt: skip
def test_wrong_disabled_integrations_fail_at_init(entries: Any, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        _init(disabled_integrations=entries)
