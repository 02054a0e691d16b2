"""Real application servers on loopback, run in a thread of the test process (so the test's
in-memory transport sees the events): uvicorn for ASGI apps, aiohttp's own runner, and a
redis-server child process in a temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from tests.support import processes

START_TIMEOUT = 15.0


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(_loopback_socket()) as sock:
        return int(sock.getsockname()[1])


def _wait(predicate: Any, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout} s")
        time.sleep(0.01)


@contextlib.contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port); yields the base URL."""
    import uvicorn

    sock = _loopback_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started or not thread.is_alive(), "uvicorn")
        if not server.started:
            raise RuntimeError("uvicorn exited at start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def aiohttp_server(app: Any) -> Iterator[str]:
    """Serve an ``aiohttp.web.Application`` with its own runner on 127.0.0.1; yields the base URL."""
    from aiohttp import web

    sock = _loopback_socket()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        if not started.wait(START_TIMEOUT):
            raise TimeoutError("aiohttp did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def redis_server(password: str | None = None) -> Iterator[tuple[str, int]]:
    """A private redis-server (``.ci/ensure-redis`` installs it) on a free loopback port, in a
    temporary directory, without persistence; stopped (bounded) on exit. Yields (host, port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run .ci/ensure-redis")
    workdir = Path(tempfile.mkdtemp(prefix="coderadar-redis-"))
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", str(workdir), "--daemonize", "no", "--protected-mode", "no"]
    if password:
        cmd += ["--requirepass", password]
    proc = processes.spawn(cmd, cwd=workdir, env={"PATH": "/usr/bin:/bin"}, log=workdir / "redis.log")
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                return True
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        _wait(ready, "redis-server")
        if proc.poll() is not None:
            raise RuntimeError((workdir / "redis.log").read_text())
        yield "127.0.0.1", port
    finally:
        processes.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
