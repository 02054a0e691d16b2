"""Framework integrations: thin adapters that turn framework signals into ``sdk_core`` calls.

Each integration is installed once per process (idempotent), can be uninstalled (tests), and is
enabled automatically when its framework is importable, unless ``default_integrations=False``.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from sdk_core.integration import DidNotEnable, Integration, log_internal_error, sdk_logger


def _excepthook() -> Integration:
    from .excepthook import ExcepthookIntegration

    return ExcepthookIntegration()


def _logging() -> Integration:
    from .logging import LoggingIntegration

    return LoggingIntegration()


def _threading() -> Integration:
    from .threading import ThreadingIntegration

    return ThreadingIntegration()


def _stdlib() -> Integration:
    from .stdlib import StdlibIntegration

    return StdlibIntegration()


def _httpx() -> Integration:
    from .httpx import HttpxIntegration

    return HttpxIntegration()


def _django() -> Integration:
    from .django import DjangoIntegration

    return DjangoIntegration()


def _flask() -> Integration:
    from .flask import FlaskIntegration

    return FlaskIntegration()


def _celery() -> Integration:
    from .celery import CeleryIntegration

    return CeleryIntegration()


def _starlette() -> Integration:
    from .starlette import StarletteIntegration

    return StarletteIntegration()


def _sqlalchemy() -> Integration:
    from .sqlalchemy import SqlalchemyIntegration

    return SqlalchemyIntegration()


def _aiohttp() -> Integration:
    from .aiohttp import AioHttpIntegration

    return AioHttpIntegration()


def _redis() -> Integration:
    from .redis import RedisIntegration

    return RedisIntegration()


def _rq() -> Integration:
    from .rq import RqIntegration

    return RqIntegration()


def _aws_lambda() -> Integration:
    import os

    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # not Lambda: skip even importing the module
        raise DidNotEnable("not running in the AWS Lambda runtime")
    from .aws_lambda import AwsLambdaIntegration

    return AwsLambdaIntegration()  # DidNotEnable unless the runtime's other variables are there too


DEFAULT_INTEGRATIONS: tuple[tuple[str | None, Callable[[], Integration]], ...] = (
    (None, _excepthook),
    (None, _logging),
    (None, _threading),
    (None, _stdlib),
    ("httpx", _httpx),
    ("django", _django),
    ("flask", _flask),
    ("celery", _celery),
    ("starlette", _starlette),
    ("sqlalchemy", _sqlalchemy),
    ("aiohttp", _aiohttp),
    ("redis", _redis),
    ("rq", _rq),
    (None, _aws_lambda),
)
"""The one place the default integrations are listed, in install order: (framework module, factory).

The framework module names the library the integration instruments (None: the standard library).
Each factory imports its integration module; one whose framework is missing raises ImportError or
``DidNotEnable`` and is skipped. Opt-in integrations (asyncio) are not here: pass them in
``init(integrations=[...])``.
"""

_lock = threading.Lock()
_installed: dict[str, Integration] = {}


def _defaults() -> list[Integration]:
    found: list[Integration] = []
    for _framework, factory in DEFAULT_INTEGRATIONS:
        try:
            found.append(factory())
        except (ImportError, DidNotEnable):
            continue
    return found


def setup_integrations(explicit: Sequence[Integration], *, default_integrations: bool = True) -> list[str]:
    """Install the explicit integrations plus, unless disabled, the defaults; return their ids.

    Called by ``sdk_core.init``; integrations installed earlier and no longer chosen are uninstalled.
    """
    chosen: dict[str, Integration] = {}
    if default_integrations:
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
                sdk_logger.debug("integration %s not enabled: %s", identifier, exc)
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
    """Remove every installed integration's hooks (``init`` without a DSN, and tests)."""
    with _lock:
        for identifier in list(_installed):
            _uninstall(identifier)


def installed(identifier: str) -> Integration | None:
    """The installed integration with this identifier, if any."""
    return _installed.get(identifier)


__all__ = [
    "DEFAULT_INTEGRATIONS",
    "DidNotEnable",
    "Integration",
    "installed",
    "setup_integrations",
    "uninstall_all",
]
