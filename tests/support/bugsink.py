"""Bugsink on loopback: a real Sentry-protocol server for the end-to-end tests.

Bugsink (PyPI ``bugsink``, Django + SQLite) accepts Sentry envelopes and stores the events it
digests. ``BugsinkServer.start()`` installs it into its own virtualenv if needed (it pins its own
Django, so it never shares the SDK's test environment), writes a settings module and SQLite files
into a private directory, creates a user, team and project, and serves it with gunicorn on
``127.0.0.1`` and a port the kernel chose. ``events()`` reads back what the server kept, through
Bugsink's own models, so an event that is not listed was dropped by the server.

Facts this module relies on (Bugsink 2.6.1, see protocol.md section 7):

* ``SNAPPEA["TASK_ALWAYS_EAGER"]`` digests inside the request: when the 200 comes back, the
  event is in the database, so tests need no sleeps, only bounded polls.
* ``VALIDATE_ON_DIGEST = "warn"`` logs schema failures to the server log and keeps the event;
  "strict" would answer 200 and then drop it.
* One ``event`` item per envelope is stored (two events in one envelope: 200, nothing stored);
  transactions, sessions and client reports are ignored. The envelope's ``dsn`` header
  authenticates as well as ``X-Sentry-Auth`` does.

Processes: ``start()`` spawns the gunicorn master (which forks one worker) and one long-lived
event reader; ``stop()`` ends exactly those and the master's children, never anything found by
name. On Linux they also get SIGTERM if the process that started them dies.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.support import processes
from tests.support.bugsink_files import QUERY_SCRIPT, SETTINGS, SETUP_SCRIPT

BUGSINK_VERSION = "2.6.1"  # 2.6.2 needs a certifi release the local package mirror lacks
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-bugsink"
VENV_ENV_VAR = "CODERADAR_BUGSINK_VENV"
PYTHON_ENV_VAR = "CODERADAR_BUGSINK_PYTHON"  # interpreter (>= 3.10) used to create the venv

INSTALL_TIMEOUT = 900.0
SETUP_TIMEOUT = 180.0
READY_TIMEOUT = 60.0
QUERY_TIMEOUT = 60.0
_POLL_INTERVAL = 0.05


class BugsinkError(RuntimeError):
    """Bugsink could not be installed, started or queried; the message says why."""


def _tail(path: Path, lines: int = 40) -> str:
    """The end of a log file for an error message, without pip's mirror-location noise."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    kept = [line for line in text.splitlines() if not line.startswith("WARNING: Location ")]
    return f"--- {path.name} (last lines) ---\n" + "\n".join(kept[-lines:])


# --------------------------------------------------------------------------------------------
# virtualenv


def venv_path(venv: str | os.PathLike[str] | None = None) -> Path:
    """The Bugsink virtualenv: *venv*, else ``$CODERADAR_BUGSINK_VENV``, else ``.venv-bugsink``."""
    if venv is not None:
        return Path(venv)
    from_env = os.environ.get(VENV_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_VENV


def _venv_is_ready(venv: Path) -> bool:
    # File checks only, no interpreter start-up. pip records bugsink itself after its
    # dependencies, so a half-finished install does not pass.
    bin_dir = venv / "bin"
    if not all((bin_dir / name).exists() for name in ("python", "gunicorn", "bugsink-manage")):
        return False
    return any(venv.glob(f"lib/python3*/site-packages/bugsink-{BUGSINK_VERSION}.dist-info/RECORD"))


def _base_python() -> str:
    override = os.environ.get(PYTHON_ENV_VAR)
    if override:
        return override
    if sys.version_info >= (3, 10):  # Bugsink 2.6.1 requires Python >= 3.10
        return sys.executable
    for name in ("python3.13", "python3.12", "python3.11", "python3.10"):
        found = shutil.which(name)
        if found:
            return found
    raise BugsinkError(f"no Python >= 3.10 found to create the Bugsink venv; set {PYTHON_ENV_VAR}")


def ensure_venv(venv: str | os.PathLike[str] | None = None, timeout: float = INSTALL_TIMEOUT) -> Path:
    """Return a virtualenv with ``bugsink==2.6.1``, creating it (venv + pip) if missing.

    Blocks for the install (about 20 s from the local mirror). Concurrent callers (pytest-xdist
    workers, parallel runs) serialise on a lock file inside the venv directory.
    """
    path = venv_path(venv).absolute()
    if _venv_is_ready(path):
        return path
    path.mkdir(parents=True, exist_ok=True)
    log = path / "coderadar-install.log"
    with open(path / ".coderadar-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another holder is itself bounded by its timeout
        if _venv_is_ready(path):
            return path
        python = path / "bin" / "python"
        steps = [] if python.exists() else [[_base_python(), "-m", "venv", str(path)]]
        steps.append(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", f"bugsink=={BUGSINK_VERSION}"]
        )
        deadline = time.monotonic() + timeout
        with open(log, "a") as out:
            for cmd in steps:
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                try:
                    subprocess.run(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        check=True,
                        timeout=max(1.0, deadline - time.monotonic()),
                    )
                except (OSError, subprocess.SubprocessError) as exc:
                    out.flush()
                    raise BugsinkError(
                        f"installing bugsink=={BUGSINK_VERSION} into {path} failed: {exc}\n{_tail(log)}"
                    ) from exc
    if not _venv_is_ready(path):
        raise BugsinkError(f"pip finished but {path} still lacks bugsink {BUGSINK_VERSION}\n{_tail(log)}")
    return path


# --------------------------------------------------------------------------------------------
# the server


def _bugsink_env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONINSPECT")
    }
    env["PYTHONPATH"] = str(home)  # only the settings module; nothing from the SDK checkout
    env["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_setup(venv: Path, home: Path, project: str, key: str | None, template: Path | None) -> dict[str, Any]:
    """Migrate (from the template copy when there is one) and create the project; its DSN etc."""
    log = home / "setup.log"
    cmd = [
        str(venv / "bin" / "python"),
        str(home / "coderadar_bugsink_setup.py"),
        str(home),
        str(template or ""),
        project,
        key or "",
    ]
    with open(log, "ab") as log_file:
        try:
            done = subprocess.run(
                cmd,
                cwd=home,
                env=_bugsink_env(home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                timeout=SETUP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BugsinkError(f"Bugsink migrate/project setup took over {SETUP_TIMEOUT:.0f} s\n{_tail(log)}") from exc
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BugsinkError(f"Bugsink migrate/project setup failed (exit {done.returncode})\n{_tail(log)}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _utc_iso(since: datetime | str) -> str:
    if isinstance(since, str):
        return since
    if since.tzinfo is None:  # naive datetimes are taken as UTC, like the server's clock
        since = since.replace(tzinfo=timezone.utc)
    return since.isoformat()


_RUNNING: weakref.WeakSet[BugsinkServer] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()


@dataclass(eq=False)
class BugsinkServer:
    """A running Bugsink on 127.0.0.1. Build with ``BugsinkServer.start()``; end with ``stop()``.

    ``events()`` and ``wait_for_events()`` are thread-safe; ``stop()`` is idempotent.
    """

    dsn: str
    key: str
    project_id: int
    port: int
    home: Path
    venv: Path
    _gunicorn: subprocess.Popen[bytes] = field(repr=False)
    _remove_home: bool = field(default=False, repr=False)
    _reader: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = field(default=False, repr=False)

    # ---------------------------------------------------------------- start

    @classmethod
    def start(
        cls,
        *,
        home: str | os.PathLike[str] | None = None,
        venv: str | os.PathLike[str] | None = None,
        key: str | None = None,
        project: str = "coderadar-e2e",
        validate: str = "warn",
        template_cache: bool = True,
    ) -> BugsinkServer:
        """Install if needed, configure, migrate and serve a fresh Bugsink; return once it answers.

        *home* holds the settings, SQLite files and logs (default: a new temp dir that ``stop()``
        deletes; a given directory is kept). *key* fixes the DSN's public key (32 lowercase hex;
        default random). *validate* is Bugsink's VALIDATE_ON_DIGEST (none, warn or strict).
        *template_cache* keeps migrated empty databases in the venv, so later starts skip the
        migrations. Raises BugsinkError, with the relevant log's last lines, on any failure.
        """
        if key is not None and (len(key) != 32 or any(c not in "0123456789abcdef" for c in key)):
            raise ValueError(f"key must be 32 lowercase hex characters, got {key!r}")
        if validate not in ("none", "warn", "strict"):
            raise ValueError(f"validate must be none, warn or strict, got {validate!r}")
        venv_dir = ensure_venv(venv)
        remove_home = home is None
        home_dir = Path(tempfile.mkdtemp(prefix="coderadar-bugsink-") if home is None else home).absolute()
        home_dir.mkdir(parents=True, exist_ok=True)
        try:
            template = venv_dir / "coderadar-db-template" if template_cache else None
            server = cls._serve(home_dir, venv_dir, key, project, validate, template, remove_home)
        except BaseException:
            if remove_home:
                shutil.rmtree(home_dir, ignore_errors=True)
            raise
        try:
            server._wait_ready(READY_TIMEOUT)
            with server._lock:
                server._live_reader()  # started now, while nobody waits for it
        except BaseException:
            server.stop()
            raise
        return server

    @classmethod
    def _serve(
        cls,
        home: Path,
        venv: Path,
        key: str | None,
        project: str,
        validate: str,
        template: Path | None,
        remove_home: bool,
    ) -> BugsinkServer:
        # Bind the listening socket here and hand it to gunicorn (fd://): the port is ours from
        # the start, with no window in which another process could take it.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            port = listener.getsockname()[1]
            (home / "bugsink_conf.py").write_text(
                SETTINGS.format(
                    secret_key=secrets.token_urlsafe(50),
                    db=str(home / "db.sqlite3"),
                    test_db=str(home / "test.sqlite3"),
                    snappea_db=str(home / "snappea.sqlite3"),
                    base_url=f"http://127.0.0.1:{port}",
                    ingest_dir=str(home / "ingestion"),
                    validate=validate,
                )
            )
            (home / "coderadar_bugsink_setup.py").write_text(SETUP_SCRIPT)
            (home / "coderadar_bugsink_query.py").write_text(QUERY_SCRIPT)
            setup = _run_setup(venv, home, project, key, template)
            fd = listener.fileno()
            options = "--workers 1 --threads 4 --timeout 60 --graceful-timeout 3 --no-control-socket --capture-output"
            logs = ["--access-logfile", str(home / "access.log"), "--error-logfile", str(home / "server.log")]
            gunicorn = processes.spawn(
                [str(venv / "bin" / "gunicorn"), "--bind", f"fd://{fd}", *options.split(), *logs, "bugsink.wsgi"],
                cwd=home,
                env=_bugsink_env(home),
                log=home / "server.log",
                pass_fds=(fd,),
            )
        server = cls(
            dsn=setup["dsn"],
            key=setup["key"],
            project_id=int(setup["project_id"]),
            port=port,
            home=home,
            venv=venv,
            _gunicorn=gunicorn,
            _remove_home=remove_home,
        )
        _RUNNING.add(server)
        return server

    def _wait_ready(self, timeout: float) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        deadline = time.monotonic() + timeout
        while True:
            if self._gunicorn.poll() is not None:
                raise BugsinkError(
                    f"gunicorn exited with {self._gunicorn.returncode} during start\n{_tail(self.home / 'server.log')}"
                )
            try:
                with opener.open(f"{self.base_url}/health/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:  # URLError is an OSError: not listening yet, or not ready
                pass
            if time.monotonic() >= deadline:
                raise BugsinkError(
                    f"Bugsink did not answer /health/ready within {timeout:.0f} s\n{_tail(self.home / 'server.log')}"
                )
            time.sleep(_POLL_INTERVAL)

    # ---------------------------------------------------------------- addresses

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def envelope_url(self) -> str:
        return f"{self.base_url}/api/{self.project_id}/envelope/"

    @property
    def store_url(self) -> str:
        return f"{self.base_url}/api/{self.project_id}/store/"

    def auth_header(self, client: str = "coderadar-tests/0") -> str:
        """An ``X-Sentry-Auth`` value for this project's key."""
        return f"Sentry sentry_key={self.key}, sentry_version=7, sentry_client={client}"

    # ---------------------------------------------------------------- reading back

    def events(
        self,
        since: datetime | str | None = None,
        *,
        event_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The events this project stored, oldest first, each with its full payload in ``"data"``.

        *since* keeps events digested at or after that time (aware datetime, naive = UTC, or
        ISO-8601); *event_id* (32 hex or UUID form) keeps only that event. The other keys are
        Bugsink's view of the event: ``type``/``value`` (calculated exception type and value; for
        a message event "log message" and the message), ``title``, ``release``, ``environment``,
        ``sdk_name``, ``sdk_version``, ``level``, ``tags``, timestamps.
        """
        request = json.dumps(
            {"project_id": self.project_id, "event_id": event_id, "since": None if since is None else _utc_iso(since)}
        )
        with self._lock:
            reader = self._live_reader()
            assert reader.stdin is not None
            try:
                reader.stdin.write(request.encode() + b"\n")
                reader.stdin.flush()
            except OSError as exc:
                self._drop_reader()
                raise BugsinkError(f"the event reader has exited: {exc}\n{_tail(self.home / 'query.log')}") from exc
            answer = self._read_answer(reader, QUERY_TIMEOUT)
        if "error" in answer:
            raise BugsinkError(f"reading events failed: {answer['error']}")
        events: list[dict[str, Any]] = answer["events"]
        return events

    def _live_reader(self) -> subprocess.Popen[bytes]:
        """The event reader process, (re)started if needed. Call with ``_lock`` held."""
        if self._stopped:
            raise BugsinkError("the Bugsink server is stopped")
        if self._reader is not None and self._reader.poll() is None:
            return self._reader
        self._drop_reader()
        self._reader = processes.spawn(
            [str(self.venv / "bin" / "python"), str(self.home / "coderadar_bugsink_query.py")],
            cwd=self.home,
            env=_bugsink_env(self.home),
            log=self.home / "query.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._read_answer(self._reader, QUERY_TIMEOUT)  # {"ready": true} once Django is loaded
        return self._reader

    def _drop_reader(self) -> None:
        if self._reader is not None:
            if self._reader.stdin is not None:
                with contextlib.suppress(OSError):
                    self._reader.stdin.close()  # EOF: the reader ends its loop and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reader.wait(2)
            processes.stop(self._reader)  # no-op if it has exited; closes its pipes
            self._reader = None

    def _read_answer(self, reader: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        """One JSON line from the reader, within *timeout*; a reader that fails is dropped."""
        assert reader.stdout is not None
        fd = reader.stdout.fileno()
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            chunk = os.read(fd, 1 << 16) if remaining > 0 and select.select([fd], [], [], remaining)[0] else None
            if not chunk:
                self._drop_reader()  # a half-read answer would poison the next request
                what = "exited" if chunk == b"" else f"did not answer within {timeout:.0f} s"
                raise BugsinkError(f"the event reader {what}\n{_tail(self.home / 'query.log')}")
            buf += chunk
        answer: dict[str, Any] = json.loads(buf)
        return answer

    def wait_for_events(
        self,
        n: int,
        timeout: float = 10.0,
        since: datetime | str | None = None,
        *,
        event_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Poll ``events(since, event_id=...)`` until at least *n* are stored; return them all.

        Raises TimeoutError, with the count seen and the server log's last lines, after *timeout* s.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(since, event_id=event_id)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                code = self._gunicorn.poll()
                raise TimeoutError(
                    f"Bugsink stored {len(found)} of {n} expected events within {timeout} s "
                    f"(since={since!r}, event_id={event_id!r}; server "
                    f"{'running' if code is None else f'exited ({code})'})\n{_tail(self.home / 'server.log')}"
                )
            time.sleep(_POLL_INTERVAL)

    def log_text(self) -> str:
        """Gunicorn's and Bugsink's log so far (VALIDATE_ON_DIGEST warnings land here)."""
        return self._read_log("server.log")

    def access_log_text(self) -> str:
        """One line per HTTP request the server answered, with its status code."""
        return self._read_log("access.log")

    def _read_log(self, name: str) -> str:
        try:
            return (self.home / name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def pids(self) -> list[int]:
        """Live processes this server owns: gunicorn master, its worker, the event reader."""
        out: list[int] = []
        for proc in (self._gunicorn, self._reader):
            if proc is not None and proc.poll() is None:
                out.append(proc.pid)
                out.extend(processes.descendants(proc.pid))
        return out

    # ---------------------------------------------------------------- stop

    def stop(self) -> None:
        """End every process this server started (TERM, bounded wait, then KILL). Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            _RUNNING.discard(self)
            try:
                self._drop_reader()
                processes.stop(self._gunicorn)
            finally:
                if self._remove_home:
                    shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> BugsinkServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
