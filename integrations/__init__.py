"""Framework integrations: thin adapters that turn framework signals into ``sdk_core`` calls.

Each integration is installed once per process (idempotent), can be uninstalled (tests), and is
enabled automatically when its framework is importable, unless ``default_integrations=False``.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Optional

from typing_extensions import Protocol, runtime_checkable

from sdk_core._internal_errors import log_internal_error, logger


class DidNotEnable(Exception):
    """The integration's framework is missing or too old; it stays off."""


@runtime_checkable
class Integration(Protocol):
    identifier: str

    def setup_once(self) -> None:
        """Install hooks. Called at most once per process until ``uninstall``."""

    def uninstall(self) -> None:
        """Remove every hook ``setup_once`` installed, restoring the originals."""


# (module, class name, on by default). Opt-in ones are installed only when passed explicitly.
_CATALOGUE: tuple[tuple[str, str, bool], ...] = (
    ("integrations.excepthook", "ExcepthookIntegration", True),
    ("integrations.logging", "LoggingIntegration", True),
    ("integrations.threading", "ThreadingIntegration", True),
    ("integrations.stdlib", "StdlibIntegration", True),
    ("integrations.httpx", "HttpxIntegration", True),
    ("integrations.django", "DjangoIntegration", True),
    ("integrations.flask", "FlaskIntegration", True),
    ("integrations.celery", "CeleryIntegration", True),
    ("integrations.asyncio", "AsyncioIntegration", False),
)

_lock = threading.Lock()
_installed: dict[str, Integration] = {}


def _defaults() -> list[Integration]:
    found: list[Integration] = []
    for module_name, class_name, default in _CATALOGUE:
        if not default:
            continue
        try:
            module = importlib.import_module(module_name)
            found.append(getattr(module, class_name)())
        except (ImportError, AttributeError, DidNotEnable):
            continue
    return found


def setup_integrations(options: Any) -> list[str]:
    """Install the explicit integrations plus, unless disabled, the defaults; return their ids."""
    explicit = list(getattr(options, "integrations", ()) or ())
    chosen: dict[str, Integration] = {}
    if getattr(options, "default_integrations", True):
        for integration in _defaults():
            chosen[integration.identifier] = integration
    for integration in explicit:
        identifier = getattr(integration, "identifier", None)
        if not isinstance(identifier, str) or not callable(getattr(integration, "setup_once", None)):
            raise TypeError(f"integrations: expected Integration instances, got {type(integration).__name__}")
        chosen[identifier] = integration  # a configured instance replaces the default one
    with _lock:
        for identifier in [i for i in _installed if i not in chosen]:
            _uninstall(identifier)
        for identifier, integration in chosen.items():
            current = _installed.get(identifier)
            if current is integration:
                continue
            if current is not None:
                _uninstall(identifier)
            try:
                integration.setup_once()
            except DidNotEnable as exc:
                logger.debug("integration %s not enabled: %s", identifier, exc)
                continue
            except Exception as exc:
                log_internal_error(f"integration {identifier} setup", exc)
                continue
            _installed[identifier] = integration
        return sorted(_installed)


def _uninstall(identifier: str) -> None:
    integration = _installed.pop(identifier, None)
    if integration is not None:
        try:
            integration.uninstall()
        except Exception as exc:
            log_internal_error(f"integration {identifier} uninstall", exc)


def uninstall_all() -> None:
    with _lock:
        for identifier in list(_installed):
            _uninstall(identifier)


def installed(identifier: str) -> Optional[Integration]:
    return _installed.get(identifier)


__all__ = ["DidNotEnable", "Integration", "installed", "setup_integrations", "uninstall_all"]
