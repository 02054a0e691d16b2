"""AWS Lambda: report a handler's unhandled exceptions, flush before it returns, warn before a timeout.

Two ways in:

* ``@wrap_handler`` on the handler function (any runtime, and local tests).
* ``AwsLambdaIntegration``, a default integration that switches itself on only inside the Lambda
  runtime (``AWS_LAMBDA_FUNCTION_NAME`` plus ``LAMBDA_TASK_ROOT`` or ``AWS_EXECUTION_ENV``): it
  wraps the handler the Python runtime's bootstrap (``awslambdaric``) is about to call, so calling
  ``init`` at the top of the handler's module is all a function needs.

Each invocation runs in its own isolation scope (transaction: the function's name) with an
``aws_lambda`` context: function name and version, ARN, request id. An exception escaping the
handler is captured (mechanism ``aws_lambda``, unhandled) and re-raised. The SDK flushes before the
handler returns or raises: Lambda freezes the process as soon as the handler is done. When the
context says how much time is left (``get_remaining_time_in_millis``), a warning event is sent
``timeout_warning_ms`` before the deadline, while the process can still send it.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any, Callable, TypeVar, overload

import sdk_core
from sdk_core.integration import DidNotEnable, event_from_message, is_enabled, log_internal_error, options

__all__ = ["DEFAULT_TIMEOUT_WARNING_MS", "AwsLambdaIntegration", "in_lambda_runtime", "wrap_handler"]

DEFAULT_TIMEOUT_WARNING_MS = 1500
"""How long before the deadline the timeout warning is sent (as sentry-sdk's default)."""

_BOOTSTRAP_MODULES = ("awslambdaric.bootstrap", "bootstrap", "__main__")
_MARK = "__coderadar_lambda__"

Handler = TypeVar("Handler", bound=Callable[..., Any])


def in_lambda_runtime() -> bool:
    """True inside AWS Lambda's runtime, as its documented environment variables say."""
    env = os.environ
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and bool(
        env.get("LAMBDA_TASK_ROOT") or env.get("AWS_EXECUTION_ENV")
    )


@overload
def wrap_handler(handler: Handler) -> Handler: ...


@overload
def wrap_handler(
    handler: None = None, *, timeout_warning: bool = True, timeout_warning_ms: int = DEFAULT_TIMEOUT_WARNING_MS
) -> Callable[[Handler], Handler]: ...


def wrap_handler(
    handler: Callable[..., Any] | None = None,
    *,
    timeout_warning: bool = True,
    timeout_warning_ms: int = DEFAULT_TIMEOUT_WARNING_MS,
) -> Any:
    """Decorate a Lambda handler: ``@wrap_handler`` or ``@wrap_handler(timeout_warning=False)``."""
    if not isinstance(timeout_warning_ms, int) or timeout_warning_ms < 0:
        raise ValueError(f"timeout_warning_ms: expected a non-negative int, got {timeout_warning_ms!r}")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if getattr(function, _MARK, False):
            return function

        @functools.wraps(function)
        def wrapped(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_enabled():
                return function(event, context, *args, **kwargs)
            return _invoke(function, event, context, args, kwargs, timeout_warning_ms if timeout_warning else None)

        setattr(wrapped, _MARK, True)
        return wrapped

    return decorate(handler) if handler is not None else decorate


def _invoke(
    function: Callable[..., Any], event: Any, context: Any, args: Any, kwargs: Any, warn_ms: int | None
) -> Any:
    details = _describe(context)
    timer: threading.Timer | None = None
    with sdk_core.isolation_scope() as scope:
        try:
            scope.clear_breadcrumbs()  # an earlier invocation's breadcrumbs are not this one's
            scope.set_transaction_name(details.get("function_name") or getattr(function, "__name__", "handler"))
            scope.set_context("aws_lambda", details)
            if warn_ms is not None:
                timer = _start_timeout_warning(context, details, warn_ms)
        except Exception as exc:
            log_internal_error("aws_lambda invocation", exc)
        try:
            return function(event, context, *args, **kwargs)
        except Exception as exc:
            sdk_core.capture_exception(exc, mechanism={"type": "aws_lambda", "handled": False})
            raise
        finally:
            if timer is not None:
                timer.cancel()
            _flush()


def _describe(context: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for key, attribute in (
        ("function_name", "function_name"),
        ("function_version", "function_version"),
        ("invoked_function_arn", "invoked_function_arn"),
        ("aws_request_id", "aws_request_id"),
        ("log_group_name", "log_group_name"),
        ("log_stream_name", "log_stream_name"),
    ):
        value = getattr(context, attribute, None)
        if isinstance(value, (str, int)) and value != "":
            details[key] = value
    remaining = _remaining_ms(context)
    if remaining is not None:
        details["remaining_time_in_millis"] = remaining
    return details


def _remaining_ms(context: Any) -> int | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    try:
        value = getter()
    except Exception:
        return None
    return int(value) if isinstance(value, (int, float)) else None


def _start_timeout_warning(context: Any, details: dict[str, Any], warn_ms: int) -> threading.Timer | None:
    remaining = _remaining_ms(context)
    if remaining is None or remaining <= warn_ms:
        return None
    timer = threading.Timer((remaining - warn_ms) / 1000.0, _warn_timeout, (dict(details), remaining))
    timer.daemon = True
    timer.name = "coderadar-lambda-timeout"
    timer.start()
    return timer


def _warn_timeout(details: dict[str, Any], budget_ms: int) -> None:
    """Runs on the timer thread: the handler is still running close to its deadline."""
    try:
        name = details.get("function_name", "function")
        event = event_from_message(
            f"AWS Lambda function {name} is about to time out ({budget_ms} ms budget)", "warning"
        )
        event.setdefault("contexts", {})["aws_lambda"] = details
        event["transaction"] = name
        event.setdefault("tags", {})["aws_lambda.timeout_warning"] = "true"
        sdk_core.capture_event(event)
        _flush()
    except Exception as exc:
        log_internal_error("aws_lambda timeout warning", exc)


def _flush() -> None:
    opts = options()
    if opts is not None:
        sdk_core.flush(opts.shutdown_timeout)


class AwsLambdaIntegration:
    """Wrap the Lambda runtime's handler automatically (only inside the Lambda runtime)."""

    identifier = "aws_lambda"

    def __init__(self, timeout_warning: bool = True, timeout_warning_ms: int = DEFAULT_TIMEOUT_WARNING_MS) -> None:
        if not in_lambda_runtime():
            raise DidNotEnable("not running in the AWS Lambda runtime")
        if not isinstance(timeout_warning_ms, int) or timeout_warning_ms < 0:
            raise ValueError(f"timeout_warning_ms: expected a non-negative int, got {timeout_warning_ms!r}")
        self.timeout_warning = timeout_warning
        self.timeout_warning_ms = timeout_warning_ms
        self._patched: tuple[Any, Any, Any] | None = None

    def setup_once(self) -> None:
        """Inside the Lambda runtime, wrap the handler its bootstrap calls; elsewhere do nothing."""
        module = _bootstrap()
        if module is None:
            raise DidNotEnable("the Lambda runtime's bootstrap was not found: decorate the handler with wrap_handler")
        current = module.handle_event_request
        if getattr(current, _MARK, False):
            return  # already ours
        decorate = wrap_handler(timeout_warning=self.timeout_warning, timeout_warning_ms=self.timeout_warning_ms)

        # A module-level function, replaced by hand (integrations._patch wraps class methods).
        @functools.wraps(current)
        def handle_event_request(*args: Any, **kwargs: Any) -> Any:
            try:
                if len(args) > 1:
                    args = (args[0], decorate(args[1]), *args[2:])
                elif "request_handler" in kwargs:
                    kwargs = {**kwargs, "request_handler": decorate(kwargs["request_handler"])}
            except Exception as exc:
                log_internal_error("aws_lambda handler", exc)
            return current(*args, **kwargs)

        setattr(handle_event_request, _MARK, True)
        module.handle_event_request = handle_event_request
        self._patched = (module, current, handle_event_request)

    def uninstall(self) -> None:
        """Put the runtime bootstrap's original handler function back."""
        if self._patched is not None:
            module, original, ours = self._patched
            if getattr(module, "handle_event_request", None) is ours:  # else someone patched over us: leave it
                module.handle_event_request = original
            self._patched = None


def _bootstrap() -> Any:
    for name in _BOOTSTRAP_MODULES:
        module = sys.modules.get(name)
        if module is not None and callable(getattr(module, "handle_event_request", None)):
            return module
    return None
