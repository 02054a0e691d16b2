"""The set-ups docs/deployment.md recommends, run for real: gunicorn (``post_fork`` with
``--preload``, ``init`` at import with ``--preload``) and Celery's prefork pool
(``worker_process_init``). Each must deliver the workers' events to a loopback ingest server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import processes
from tests.support.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

WSGI_APP = """
import os
import flask
{init}

app = flask.Flask("deployed")


@app.route("/fail")
def fail():
    raise RuntimeError(f"boom in worker {{os.getpid()}}")
"""

INIT_AT_IMPORT = """
import sdk_core
sdk_core.init(os.environ["DEPLOY_DSN"])
with open(os.environ["DEPLOY_MARKS"], "a") as marks:
    marks.write(f"init {os.getpid()}\\n")
"""

POST_FORK_CONF = """
import os
import sdk_core


def post_fork(server, worker):
    sdk_core.init(os.environ["DEPLOY_DSN"])
    with open(os.environ["DEPLOY_MARKS"], "a") as marks:
        marks.write(f"init {os.getpid()}\\n")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ingest() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def _env(tmp_path: Path, ingest: LoopbackServer) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "DEPLOY_DSN": ingest.dsn(),
        "DEPLOY_MARKS": str(tmp_path / "marks"),
    }


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start: " + log.read_text())


def _worker_pids(master: int) -> set[int]:
    return set(processes.descendants(master))


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")
@pytest.mark.parametrize("where", ["post_fork", "import"])
def test_gunicorn_preload_delivers_the_workers_events(tmp_path: Path, ingest: LoopbackServer, where: str) -> None:
    port = _free_port()
    (tmp_path / "deployed.py").write_text(
        textwrap.dedent(WSGI_APP.format(init=INIT_AT_IMPORT if where == "import" else ""))
    )
    (tmp_path / "gunicorn.conf.py").write_text(textwrap.dedent(POST_FORK_CONF if where == "post_fork" else ""))
    cmd = [str(GUNICORN), "-c", str(tmp_path / "gunicorn.conf.py"), "--preload", "-w", "2"]
    cmd += ["-b", f"127.0.0.1:{port}", "deployed:app"]
    log = tmp_path / "server.log"
    proc = processes.spawn(cmd, cwd=tmp_path, env=_env(tmp_path, ingest), log=log)
    try:
        _wait_listening(proc, port, log)
        deadline = time.monotonic() + 30
        while len(_worker_pids(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _worker_pids(proc.pid)
        for _ in range(6):
            assert httpx.get(f"http://127.0.0.1:{port}/fail", timeout=30).status_code == 500
        assert ingest.wait_for(lambda: len(ingest.events) >= 6, timeout=30), log.read_text()[-2000:]
    finally:
        processes.stop(proc)
    inits = {int(line.split()[1]) for line in (tmp_path / "marks").read_text().splitlines()}
    if where == "post_fork":
        assert proc.pid not in inits and inits == workers  # once in each worker, never in the master
    else:
        assert inits == {proc.pid}  # --preload: the module, and init, ran in the master only
    senders = {int(e["exception"]["values"][-1]["value"].rsplit(" ", 1)[1]) for e in ingest.events}
    assert senders <= workers and proc.pid not in senders
    assert all(e["exception"]["values"][-1]["mechanism"]["type"] == "flask" for e in ingest.events)


CELERY_APP = """
import os
from celery import Celery
from celery.signals import worker_process_init

import sdk_core

folder = os.environ["DEPLOY_BROKER"]
app = Celery("deployed", broker="filesystem://")
app.conf.update(
    broker_transport_options={"data_folder_in": folder, "data_folder_out": folder, "polling_interval": 0.05},
    worker_hijack_root_logger=False,
    task_default_queue="deployed",
)


@worker_process_init.connect
def init_sdk(**kwargs):
    sdk_core.init(os.environ["DEPLOY_DSN"])
    with open(os.environ["DEPLOY_MARKS"], "a") as marks:
        marks.write(f"init {os.getpid()}\\n")


@app.task(name="deployed.fail")
def fail(n):
    raise RuntimeError(f"task {n} failed in {os.getpid()}")
"""


def test_celery_prefork_worker_process_init_delivers_the_childrens_events(
    tmp_path: Path, ingest: LoopbackServer
) -> None:
    from celery import Celery

    broker = tmp_path / "broker"
    broker.mkdir()
    (tmp_path / "deployed.py").write_text(textwrap.dedent(CELERY_APP))
    env = _env(tmp_path, ingest)
    env["DEPLOY_BROKER"] = str(broker)
    cmd = [sys.executable, "-m", "celery", "-A", "deployed", "worker", "-P", "prefork", "-c", "2", "-Q", "deployed"]
    cmd += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = tmp_path / "worker.log"
    proc = processes.spawn(cmd, cwd=tmp_path, env=env, log=log)
    producer = Celery("producer", broker="filesystem://")
    producer.conf.broker_transport_options = {
        "data_folder_in": str(broker),
        "data_folder_out": str(broker),
        "control_folder": str(tmp_path / "control"),
    }
    try:
        for n in range(4):
            producer.send_task("deployed.fail", args=[n], queue="deployed")
        assert ingest.wait_for(lambda: len(ingest.events) >= 4, timeout=90), log.read_text()[-3000:]
        children = set(processes.descendants(proc.pid))
    finally:
        processes.stop(proc)
    inits = {int(line.split()[1]) for line in (tmp_path / "marks").read_text().splitlines()}
    assert proc.pid not in inits and inits <= children
    senders = {int(e["exception"]["values"][-1]["value"].rsplit(" ", 1)[1]) for e in ingest.events}
    assert senders <= inits
    assert sorted(e["contexts"]["celery"]["task_name"] for e in ingest.events) == ["deployed.fail"] * 4
    assert os.getpid() not in senders
