"""redis-py (sync and asyncio): commands as breadcrumbs with key names only, connection errors
described by host and port.

``Redis.execute_command`` (every command method ends there) and ``Pipeline.execute`` are wrapped
on both ``redis.client`` and ``redis.asyncio.client``. A breadcrumb (category ``redis``) carries
the command name and the key names it touches, never a value or an argument that is not a key:
``SET user:1 <value>`` is recorded as ``SET user:1``, ``AUTH``, ``CONFIG`` and other commands
without keys as their name alone. A pipeline is one breadcrumb listing its commands.

When a command fails with a connection error or a timeout, the exception is marked; an event for
it gets a ``redis`` context with the server's host, port and database (read from the connection
pool's settings, which is all that is read: never the password or the URL).

With tracing on, each command inside a sampled trace is also a ``db.redis`` span (origin
``auto.db.redis``) described as the breadcrumb is (``SET user:1``: command and key names only),
with ``db.system`` ``redis``, ``db.operation.name``, the keys and the server's host and port; a
pipeline is one span listing its commands. A failed command's span has status error.
"""

from __future__ import annotations

from typing import Any

import sdk_core
from integrations._patch import unwrap, wrap
from sdk_core.integration import (
    DidNotEnable,
    Event,
    Hint,
    add_event_processor,
    fail_span,
    is_enabled,
    log_internal_error,
    remove_event_processor,
    start_child_span,
    tracing_enabled,
)

__all__ = ["RedisIntegration"]

_MARK = "_coderadar_redis"
_MAX_KEYS = 10
_MAX_PIPELINE = 20

# Commands whose arguments are all keys (or end in a timeout, which is dropped as a non-key).
_ALL_KEYS = frozenset(
    "DEL UNLINK EXISTS MGET TOUCH WATCH SDIFF SINTER SUNION PFCOUNT BLPOP BRPOP BZPOPMIN BZPOPMAX".split()
)
# Commands whose arguments alternate key, value.
_PAIRS = frozenset(("MSET", "MSETNX"))
# Commands whose arguments are no key names (credentials, scripts, settings, messages).
_NO_KEYS = frozenset(
    "AUTH HELLO ECHO PING CONFIG CLIENT ACL SCRIPT FUNCTION MODULE DEBUG EVAL EVALSHA EVAL_RO EVALSHA_RO "
    "FCALL FCALL_RO INFO SELECT FLUSHDB FLUSHALL DBSIZE TIME MULTI EXEC DISCARD UNWATCH QUIT SAVE BGSAVE "
    "COMMAND MIGRATE SLOWLOG MEMORY LATENCY CLUSTER SHUTDOWN REPLICAOF SLAVEOF MONITOR SWAPDB WAIT".split()
)


class RedisIntegration:
    """Breadcrumbs for redis-py commands (sync and asyncio) and host/port on connection errors."""

    identifier = "redis"
    framework_module = "redis"

    def setup_once(self) -> None:
        """Wrap command execution and pipelines of the sync and asyncio clients."""
        try:
            import redis.client
        except ImportError as exc:
            raise DidNotEnable("redis is not installed") from exc
        wrap(redis.client.Redis, "execute_command", _execute_command)
        wrap(redis.client.Pipeline, "execute", _pipeline_execute)
        try:
            import redis.asyncio.client as aio
        except ImportError:
            pass  # a redis-py without asyncio support: the sync client only
        else:
            wrap(aio.Redis, "execute_command", _async_execute_command)
            wrap(aio.Pipeline, "execute", _async_pipeline_execute)
        add_event_processor(_describe_failure)

    def uninstall(self) -> None:
        """Restore every wrapped client method."""
        remove_event_processor(_describe_failure)
        try:
            import redis.client
        except ImportError:
            return
        unwrap(redis.client.Redis, "execute_command")
        unwrap(redis.client.Pipeline, "execute")
        try:
            import redis.asyncio.client as aio
        except ImportError:
            return
        unwrap(aio.Redis, "execute_command")
        unwrap(aio.Pipeline, "execute")


def _name(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _keys(command: str, args: Any) -> list[str]:
    """The key names among a command's arguments, never a value."""
    if command in _NO_KEYS or not args:
        return []
    if command in _ALL_KEYS:
        keys = [a for a in args if isinstance(a, (str, bytes))]
    elif command in _PAIRS:
        keys = list(args[0::2])
    else:
        keys = [args[0]]
    return [_name(k) for k in keys[:_MAX_KEYS]]


def _describe(args: Any) -> tuple[str, list[str]]:
    command = _name(args[0]).upper() if args else ""
    if " " in command:  # "CLIENT SETINFO", "CONFIG SET": a sub-command, no key
        return command.split(" ", 1)[0], []
    return command, _keys(command, args[1:])


def _crumb(args: Any, level: str = "info", error: BaseException | None = None) -> None:
    try:
        command, keys = _describe(args)
        data: dict[str, Any] = {"redis.command": command}
        if keys:
            data["redis.keys"] = keys
        if error is not None:
            data["error"] = type(error).__name__
        message = " ".join([command, *keys])
        sdk_core.add_breadcrumb(type="redis", category="redis", level=level, message=message, data=data)
    except Exception as exc:
        log_internal_error("redis breadcrumb", exc)


def _pipeline_crumb(instance: Any, error: BaseException | None = None) -> None:
    try:
        stack = getattr(instance, "command_stack", None) or ()
        commands = [" ".join([c, *k]) for c, k in (_describe(args) for args, _ in list(stack)[:_MAX_PIPELINE])]
        data: dict[str, Any] = {"redis.commands": commands, "redis.transaction": bool(instance.transaction)}
        if len(stack) > _MAX_PIPELINE:
            data["redis.commands_total"] = len(stack)
        if error is not None:
            data["error"] = type(error).__name__
        sdk_core.add_breadcrumb(
            type="redis", category="redis", level="error" if error else "info", message="PIPELINE", data=data
        )
    except Exception as exc:
        log_internal_error("redis pipeline breadcrumb", exc)


def _failed(instance: Any, args: Any, error: BaseException) -> None:
    """A failed command's breadcrumb, and its connection errors marked with host and port."""
    _crumb(args, "error", error)
    _mark(instance, error)


def _mark(instance: Any, error: BaseException) -> None:
    try:
        from redis.exceptions import ConnectionError, TimeoutError

        if isinstance(error, (ConnectionError, TimeoutError)):
            pool = getattr(instance, "connection_pool", None)
            settings = getattr(pool, "connection_kwargs", None) or {}
            server: dict[str, Any] = {}
            for key in ("host", "port", "db", "path"):
                value = settings.get(key)
                if value is not None and value != "":
                    server[key] = value
            setattr(error, _MARK, server)
    except Exception as exc:
        log_internal_error("redis connection error", exc)


def _server(instance: Any) -> dict[str, Any]:
    """The server's host and port (``server.address``/``server.port``), from the pool's settings."""
    settings = getattr(getattr(instance, "connection_pool", None), "connection_kwargs", None) or {}
    found: dict[str, Any] = {}
    host, port = settings.get("host"), settings.get("port")
    if isinstance(host, str) and host:
        found["server.address"] = host
    if isinstance(port, int):
        found["server.port"] = port
    return found


def _command_span(instance: Any, args: Any) -> Any:
    """A ``db.redis`` span for one command: its name and key names, never a value."""
    try:
        command, keys = _describe(args)
        attributes: dict[str, Any] = {"db.system": "redis", "db.operation.name": command, **_server(instance)}
        if keys:
            attributes["db.redis.keys"] = keys
        name = " ".join([command, *keys]) or "redis"
        return start_child_span(name, kind="client", op="db.redis", origin="auto.db.redis", attributes=attributes)
    except Exception as exc:
        log_internal_error("redis span", exc)
        return None


def _pipeline_span(instance: Any, stack: list[Any]) -> Any:
    """One ``db.redis`` span for a pipeline: the commands it sent, with key names only."""
    try:
        commands = [" ".join([c, *k]) for c, k in (_describe(entry[0]) for entry in stack[:_MAX_PIPELINE])]
        attributes: dict[str, Any] = {
            "db.system": "redis",
            "db.operation.name": "PIPELINE",
            "db.redis.commands": commands,
            "db.redis.transaction": bool(getattr(instance, "transaction", False)),
            **_server(instance),
        }
        if len(stack) > _MAX_PIPELINE:
            attributes["db.redis.commands_total"] = len(stack)
        return start_child_span("PIPELINE", kind="client", op="db.redis", origin="auto.db.redis", attributes=attributes)
    except Exception as exc:
        log_internal_error("redis pipeline span", exc)
        return None


def _end_span(span: Any, error: BaseException | None) -> None:
    if span is None:
        return
    try:
        if error is not None:
            fail_span(span, error)
        span.end()
    except Exception as exc:
        log_internal_error("redis span", exc)


def _execute_command(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not is_enabled():
        return wrapped(*args, **kwargs)
    span = _command_span(instance, args) if tracing_enabled() else None
    try:
        result = wrapped(*args, **kwargs)
    except Exception as error:
        _end_span(span, error)
        _failed(instance, args, error)
        raise
    _end_span(span, None)
    _crumb(args)
    return result


async def _async_execute_command(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not is_enabled():
        return await wrapped(*args, **kwargs)
    span = _command_span(instance, args) if tracing_enabled() else None
    try:
        result = await wrapped(*args, **kwargs)
    except Exception as error:
        _end_span(span, error)
        _failed(instance, args, error)
        raise
    _end_span(span, None)
    _crumb(args)
    return result


def _pipeline_execute(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not is_enabled():
        return wrapped(*args, **kwargs)
    stack = list(getattr(instance, "command_stack", None) or ())
    span = _pipeline_span(instance, stack) if tracing_enabled() else None
    try:
        result = wrapped(*args, **kwargs)
    except Exception as error:
        _end_span(span, error)
        _pipeline_failed(instance, stack, error)
        raise
    _end_span(span, None)
    _pipeline_crumb(_Stack(instance, stack))
    return result


async def _async_pipeline_execute(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not is_enabled():
        return await wrapped(*args, **kwargs)
    stack = list(getattr(instance, "command_stack", None) or ())
    span = _pipeline_span(instance, stack) if tracing_enabled() else None
    try:
        result = await wrapped(*args, **kwargs)
    except Exception as error:
        _end_span(span, error)
        _pipeline_failed(instance, stack, error)
        raise
    _end_span(span, None)
    _pipeline_crumb(_Stack(instance, stack))
    return result


def _pipeline_failed(instance: Any, stack: list[Any], error: BaseException) -> None:
    _pipeline_crumb(_Stack(instance, stack), error)
    _mark(instance, error)


class _Stack:
    """The pipeline as it was before ``execute`` emptied its command stack."""

    __slots__ = ("command_stack", "transaction")

    def __init__(self, pipeline: Any, stack: list[Any]) -> None:
        self.command_stack = [(entry[0], None) for entry in stack]
        self.transaction = getattr(pipeline, "transaction", False)


def _describe_failure(event: Event, hint: Hint) -> Event:
    exc_info = hint.get("exc_info") if isinstance(hint, dict) else None
    if not isinstance(exc_info, tuple) or len(exc_info) != 3:
        return event
    exc: BaseException | None = exc_info[1]
    for _ in range(16):
        if exc is None:
            return event
        server = getattr(exc, _MARK, None)
        if isinstance(server, dict):
            contexts = event.setdefault("contexts", {})
            if isinstance(contexts, dict):
                contexts.setdefault("redis", dict(server))
            return event
        exc = exc.__cause__ or exc.__context__
    return event
