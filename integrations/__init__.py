"""Framework integrations: thin adapters that turn framework signals into ``sdk_core`` calls.

Each integration is installed once per process (idempotent) and can be uninstalled (tests).
Defaults are installed lazily: one whose framework is not imported yet waits for that import
(a post-import hook), so ``init`` itself imports no framework, and a framework imported after
``init`` is still instrumented.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sdk_core.integration import DidNotEnable, Integration, log_internal_error, record_installed, sdk_logger

from . import _import_hooks


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
    ("http.client", _stdlib),
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

The framework module names the module the integration instruments (None: installed at ``init``).
The factory is called only once that module is imported (at ``init`` if it already is), so it
may import the framework; one whose framework is missing or too old raises ImportError or
``DidNotEnable`` and is skipped. Opt-in integrations (asyncio) are
not here: pass them in ``init(integrations=[...])``.
"""


@dataclass(frozen=True)
class _Pending:
    """An integration waiting for its framework's import, as chosen by the latest ``init``."""

    build: Callable[[], Integration]
    default: bool
    explicit: frozenset[str]
    disabled: frozenset[str]


_lock = threading.RLock()
_installed: dict[str, Integration] = {}
# Framework module -> integrations to install when it is imported. A new ``init`` and ``close``
# replace or clear it, so a hook that fires later finds nothing here and does nothing.
_pending: dict[str, list[_Pending]] = {}


def _framework_of(integration: Integration) -> str | None:
    module = getattr(integration, "framework_module", None)
    return module if isinstance(module, str) and module else None


def setup_integrations(
    explicit: Sequence[Integration],
    *,
    default_integrations: bool = True,
    disabled_integrations: Sequence[str] = (),
) -> list[str]:
    """Install the explicit integrations plus, unless switched off, the defaults; return the ids installed now.

    Called by ``sdk_core.init`` (which has validated the arguments). An explicit instance replaces
    the default with its identifier; ``disabled_integrations`` (identifiers) wins over both, as in
    sentry-sdk. Integrations whose framework is not imported yet are installed on its import.
    Integrations installed earlier and no longer chosen are uninstalled.
    """
    explicit_ids = frozenset(integration.identifier for integration in explicit)
    disabled = frozenset(disabled_integrations)
    with _lock:
        _pending.clear()
        _import_hooks.unwatch_all()
        chosen: dict[str, tuple[Integration, bool]] = {}
        waiting: list[tuple[str, _Pending]] = []
        if default_integrations:
            for framework, factory in DEFAULT_INTEGRATIONS:
                if framework is not None and framework not in sys.modules:
                    waiting.append((framework, _Pending(factory, True, explicit_ids, disabled)))
                    continue
                built = _build(factory)
                if built is not None and built.identifier not in explicit_ids and built.identifier not in disabled:
                    chosen[built.identifier] = (built, True)
        for integration in explicit:
            if integration.identifier in disabled:
                continue
            framework = _framework_of(integration)
            if framework is not None and framework not in sys.modules:
                waiting.append((framework, _Pending(_constant(integration), False, explicit_ids, disabled)))
            else:
                chosen[integration.identifier] = (integration, False)
        for identifier in [i for i in _installed if i not in chosen]:
            _uninstall(identifier)
        for integration, default in chosen.values():
            _install(integration, default)
        for framework, pending in waiting:
            _pending.setdefault(framework, []).append(pending)
            _import_hooks.watch(framework, _on_import)
        names = sorted(_installed)
    for framework in {framework for framework, _ in waiting}:
        module = sys.modules.get(framework)
        if module is not None:  # imported by another thread before the hook was in place
            _on_import(module)
    return names


def _constant(integration: Integration) -> Callable[[], Integration]:
    return lambda: integration


def _build(factory: Callable[[], Integration]) -> Integration | None:
    try:
        return factory()
    except (ImportError, DidNotEnable) as exc:
        sdk_logger.debug("default integration not enabled: %s", exc)
    except Exception as exc:
        log_internal_error("integration factory", exc)
    return None


def _install(integration: Integration, default: bool) -> None:
    """Install ``integration`` (replacing another with its identifier). Never raises."""
    identifier = integration.identifier
    current = _installed.get(identifier)
    if current is integration:
        return
    if current is not None:
        _uninstall(identifier)
    try:
        integration.setup_once()
    except DidNotEnable as exc:
        if default:
            sdk_logger.debug("integration %s not enabled: %s", identifier, exc)
        else:
            sdk_logger.warning("integration %s not enabled: %s", identifier, exc)
        return
    except Exception as exc:
        log_internal_error(f"integration {identifier} setup", exc)
        return
    _installed[identifier] = integration


def _on_import(module: Any) -> None:
    """Post-import hook: install what the latest ``init`` chose for this framework.

    Runs inside the application's ``import`` statement, so it must never raise (that would fail
    the import).
    """
    try:
        name = getattr(module, "__name__", None)
        with _lock:
            if not isinstance(name, str):
                return
            for pending in _pending.pop(name, ()):
                integration = _build(pending.build) if pending.default else pending.build()
                if integration is None:
                    continue
                identifier = integration.identifier
                if identifier in pending.disabled or (pending.default and identifier in pending.explicit):
                    continue
                _install(integration, pending.default)
                if _installed.get(identifier) is integration:
                    record_installed(identifier)
    except Exception as exc:
        log_internal_error("integration install on import", exc)


def _uninstall(identifier: str) -> None:
    integration = _installed.pop(identifier, None)
    if integration is not None:
        try:
            integration.uninstall()
        except Exception as exc:
            log_internal_error(f"integration {identifier} uninstall", exc)


def uninstall_all() -> None:
    """Remove every installed integration's hooks and cancel those waiting for an import (``close``, tests)."""
    with _lock:
        _pending.clear()
        _import_hooks.unwatch_all()
        for identifier in list(_installed):
            _uninstall(identifier)


def installed(identifier: str) -> Integration | None:
    """The installed integration with this identifier, if any."""
    return _installed.get(identifier)


def pending() -> list[str]:
    """Framework modules whose import will install an integration (the latest ``init``'s choice)."""
    with _lock:
        return sorted(_pending)


__all__ = [
    "DEFAULT_INTEGRATIONS",
    "DidNotEnable",
    "Integration",
    "installed",
    "pending",
    "setup_integrations",
    "uninstall_all",
]
