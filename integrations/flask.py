"""Flask (2.2 and later): unhandled errors with the request, endpoint and Flask-Login user.

* ``Flask.__call__`` runs through ``run_wsgi``: one isolated scope per request, the incoming trace
  continued, errors from streamed responses captured.
* ``request_started`` points that scope at Flask's ``request`` (read only if an event is captured).
* ``got_request_exception`` captures what Flask is about to turn into a 500 (mechanism ``flask``).
  Flask's own error handlers still run and their responses are sent unchanged; exceptions that
  propagate (``PROPAGATE_EXCEPTIONS``, testing) are still captured once.

Flask is imported only inside ``setup_once`` and the hooks, so constructing ``FlaskIntegration``
imports no Flask (``init`` installs it when Flask is first imported); without Flask installed,
constructing it raises ``DidNotEnable``.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Any, Callable, cast

from integrations._patch import unwrap, wrap
from integrations._request import (
    Extracted,
    Policy,
    RequestScope,
    TransactionName,
    body_allowed,
    capture_exception,
    current_request,
    decode_body,
    form_to_dict,
    from_environ,
    set_body,
    set_oversize_body,
)
from integrations.wsgi import run_wsgi
from sdk_core.integration import DidNotEnable, guarded, is_enabled, log_internal_error

__all__ = ["FlaskIntegration"]

_STYLES = ("endpoint", "url")
_MIN_VERSION = (2, 2)


@dataclass(frozen=True)
class _Config:
    transaction_style: str = "endpoint"


_config = _Config()
_installed = False


def _require_flask() -> None:
    try:
        import flask  # noqa: F401
    except ImportError as exc:
        raise DidNotEnable("Flask is not installed") from exc
    try:
        import blinker  # noqa: F401
    except ImportError as exc:
        # Flask < 2.3 makes blinker optional, and without it its signals are inert.
        raise DidNotEnable("Flask's signals need blinker, which is not installed") from exc
    try:
        from importlib.metadata import version  # only here: a costly import, needed once

        found = tuple(int(part) for part in version("flask").split(".")[:2])
    except Exception:
        return  # a vendored or renamed Flask: assume it is recent
    if found < _MIN_VERSION:
        raise DidNotEnable(f"Flask {'.'.join(map(str, found))} is older than 2.2")


class FlaskIntegration:
    """Capture Flask's unhandled request errors with the request, endpoint and user.

    ``transaction_style``: ``"endpoint"`` (default) names events after the view's endpoint
    (``orders.show``), ``"url"`` after the URL rule (``/orders/<int:order_id>``).
    """

    identifier = "flask"
    framework_module = "flask"

    def __init__(self, transaction_style: str = "endpoint") -> None:
        if transaction_style not in _STYLES:
            raise ValueError(f"transaction_style: expected one of {', '.join(_STYLES)}, got {transaction_style!r}")
        if importlib.util.find_spec("flask") is None:
            raise DidNotEnable("Flask is not installed")
        self.transaction_style = transaction_style

    def setup_once(self) -> None:
        """Wrap Flask's WSGI entry point and connect its request and exception signals."""
        global _config, _installed
        _require_flask()
        _config = _Config(self.transaction_style)
        if _installed:
            return
        from flask import Flask, got_request_exception, request_started

        request_started.connect(_on_request_started, weak=False)
        got_request_exception.connect(_on_exception, weak=False)
        wrap(Flask, "__call__", _flask_call)
        _installed = True

    def uninstall(self) -> None:
        """Unwrap the entry point and disconnect the signals."""
        global _installed
        if not _installed:
            return
        from flask import Flask, got_request_exception, request_started

        request_started.disconnect(_on_request_started)
        got_request_exception.disconnect(_on_exception)
        unwrap(Flask, "__call__")
        _installed = False


def _flask_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 2:
        return wrapped(*args, **kwargs)
    return run_wsgi(wrapped, args[0], args[1], "flask")


@guarded("flask request")
def _on_request_started(sender: Any, **kwargs: Any) -> None:
    state = current_request()
    if state is None:
        return
    from flask import request

    _describe(state, cast(Any, request)._get_current_object())


def _on_exception(sender: Any, exception: BaseException | None = None, **kwargs: Any) -> None:
    exc = exception if exception is not None else sys.exc_info()[1]
    if exc is None or not is_enabled():
        return
    fallback = None
    if current_request() is None:
        # The app was driven without Flask.__call__ (wsgi_app called directly): describe it here.
        try:
            from flask import has_request_context, request

            if has_request_context():
                req = cast(Any, request)._get_current_object()
                fallback = RequestScope(_extractor(req))
                _describe(fallback, req)
        except Exception as error:
            log_internal_error("flask request", error)
    capture_exception(exc, "flask", fallback)


def _describe(state: RequestScope, req: Any) -> None:
    state.extract = _extractor(req)
    state.transaction = _transaction(req, _config.transaction_style)
    state.user = _login_user
    rule = req.url_rule
    if state.server_span is not None and rule is not None:
        state.server_span.set_route(str(rule.rule))  # the transaction is named after the URL rule


def _extractor(req: Any) -> Callable[[Policy], Extracted]:
    def extract(policy: Policy) -> Extracted:
        extracted = from_environ(req.environ, policy)
        if policy.body_limit != 0:
            _add_body(extracted, req, policy)
        return extracted

    return extract


def _add_body(extracted: Extracted, req: Any, policy: Policy) -> None:
    length = req.content_length
    if not length:
        return
    if not body_allowed(length, policy):
        set_oversize_body(extracted, length)
        return
    if req.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form, files = req.form, req.files
        except Exception:
            return  # an unreadable body is Flask's error to report, not ours
        data = form_to_dict(form.items(multi=True))
        for name in files:
            data[name] = ""
            extracted.meta.setdefault("data", {})[name] = {"": {"rem": [["!raw", "x"]]}}
        set_body(extracted, data)
        return
    decode_body(extracted, req.get_data(cache=True), req.content_type, policy)


def _transaction(req: Any, style: str) -> Callable[[], TransactionName | None]:
    def name() -> TransactionName | None:
        rule = req.url_rule
        if rule is None:
            return (req.path or "/", "url")
        if style == "url":
            return (str(rule.rule), "route")
        return (str(rule.endpoint), "component")

    return name


def _login_user(policy: Policy) -> dict[str, Any] | None:
    """Flask-Login's ``current_user``, if the app uses Flask-Login (never imported by us)."""
    flask_login = sys.modules.get("flask_login")
    if flask_login is None:
        return None
    from flask import has_request_context

    if not has_request_context():
        return None
    current = flask_login.current_user
    if current is None or not current.is_authenticated:
        return None
    info: dict[str, Any] = {}
    user_id = current.get_id()
    if user_id is not None:
        info["id"] = str(user_id)
    if policy.pii:
        for attribute in ("username", "email"):
            value = getattr(current, attribute, None)
            if isinstance(value, str) and value:
                info[attribute] = value
    return info or None
