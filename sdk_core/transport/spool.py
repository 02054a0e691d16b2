"""The optional disk spool (``init(spool_dir=...)``): envelopes that could not be delivered survive
the process and are replayed, oldest first, by the next worker in this process or another one.

Only the HTTP transport writes here, from the worker thread, after the pipeline has run: what
reaches the disk is already scrubbed. Layout, one directory per DSN under ``spool_dir``::

    <spool_dir>/<dsn id>/<stem>.<attempts>.env                 ready to send
    <spool_dir>/<dsn id>/<stem>.<attempts>.<owner>.claim       being sent by process <owner>
    <spool_dir>/<dsn id>/.tmp-<owner>-<random>                 being written by <owner>
    <spool_dir>/<dsn id>/owners/<owner>.lock                   flock-ed by <owner> while it lives

``stem`` is the wall-clock write time in nanoseconds plus random bits, so names sort oldest first.
``attempts`` counts the failures charged to the envelope itself (see ``HttpTransport``).

* Writes are atomic: temp file (``O_EXCL``, 0600) + fsync + rename. A file starts with a header
  ``CRSPOOL1 <length> <crc32>``; a torn or corrupt file is skipped, deleted and counted, never
  sent and never fatal.
* Claims are atomic: a file is renamed to a claim name carrying the owner token before it is sent,
  so several processes sharing a directory never send the same file at once. A claim whose owner
  is dead (its ``owners/<owner>.lock`` is no longer locked, which the kernel guarantees once the
  process is gone, SIGKILL included) is renamed back to ready. Owner tokens are ``<pid>x<random>``:
  a recycled pid (a container's pid 1) is a different owner. Without ``fcntl`` (Windows) a claim
  is considered abandoned after ``STALE_CLAIM_SECONDS``.
* Bounded by file count and bytes: the oldest ready files are dropped first and counted as
  ``cache_overflow`` (a spooled client report that is dropped gives its counts back instead).
* Delivery is at least once: a process killed between the server's 200 and the unlink sends the
  envelope again; receivers deduplicate by ``event_id``.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection

from typing_extensions import Protocol

from .._internal_errors import log_internal_error
from .envelope import Envelope, Item, parse

try:  # POSIX only; elsewhere liveness degrades to claim age.
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_FILES = 1000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
STALE_CLAIM_SECONDS = 600.0
RESCAN_SECONDS = 1.0

MAGIC = b"CRSPOOL1"
_READY = re.compile(r"^(\d{20}-[0-9a-f]{12})\.(\d{1,6})\.env$")
_CLAIM = re.compile(r"^(\d{20}-[0-9a-f]{12})\.(\d{1,6})\.(\d+x[0-9a-f]{8})\.claim$")
_TMP = re.compile(r"^\.tmp-(\d+x[0-9a-f]{8})-[0-9a-f]+$")
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

OnDiscard = Callable[[str, str, int], None]
"""``(reason, category, quantity)``: how the spool reports what it dropped."""


class Spool(Protocol):
    """The seam the HTTP transport uses; ``DiskSpool`` is the implementation."""

    def write(self, envelope: Envelope, attempts: int = 0) -> str | None:
        """Persist an already scrubbed envelope; its key, or None when the spool refused it (counted)."""

    def claim_next(self, skip: Collection[str] = ()) -> SpooledEnvelope | None:
        """Claim the oldest ready envelope not in ``skip`` for this process, or None."""

    def release(self, spooled: SpooledEnvelope, attempts: int | None = None) -> None:
        """Give a claimed envelope back (to retry later), with its new attempt count."""

    def remove(self, key: str | SpooledEnvelope) -> None:
        """Delete a delivered (or given up) envelope."""


@dataclass
class SpooledEnvelope:
    """A claimed spool file: only the claiming process may send, release or remove it."""

    key: str
    attempts: int
    path: str
    envelope: Envelope
    size: int


def namespace_for(*parts: object) -> str:
    """A directory name for one DSN, so two applications sharing ``spool_dir`` never swap events."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:16]


def encode(envelope: Envelope) -> bytes:
    """Spool file bytes: a header with a CRC32, then the envelope."""
    body = envelope.serialize()
    return b"%s %d %08x\n" % (MAGIC, len(body), zlib.crc32(body) & 0xFFFFFFFF) + body


def decode(data: bytes) -> Envelope | None:
    """The envelope in a spool file, or None if the file is torn or corrupt."""
    newline = data.find(b"\n", 0, 64)
    if newline < 0:
        return None
    fields = data[:newline].split(b" ")
    if len(fields) != 3 or fields[0] != MAGIC:
        return None
    body = data[newline + 1 :]
    try:
        length = int(fields[1])
        crc = int(fields[2], 16)
    except ValueError:
        return None
    if length != len(body) or zlib.crc32(body) & 0xFFFFFFFF != crc:
        return None
    try:
        envelope = parse(body)
    except Exception:
        return None
    return envelope if envelope.items else None


def _stem(name: str) -> str:
    return name.split(".", 1)[0]


class DiskSpool:
    """A directory of envelope files. Thread-safe; fork-safe (``reset_after_fork`` or lazily by pid)."""

    def __init__(
        self,
        directory: str,
        *,
        namespace: str = "",
        max_files: int = DEFAULT_MAX_FILES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        on_discard: OnDiscard | None = None,
        on_restore: Callable[[Item], None] | None = None,
        fsync: bool = True,
    ) -> None:
        self.max_files = max(1, int(max_files))
        self.max_bytes = max(1, int(max_bytes))
        self._on_discard = on_discard
        self._on_restore = on_restore
        self._fsync = fsync
        self.counters: Counter[str] = Counter()
        os.makedirs(directory, 0o700, exist_ok=True)
        self.path = os.path.join(directory, namespace) if namespace else directory
        self._owners = os.path.join(self.path, "owners")
        for path in (self.path, self._owners):
            _private_dir(path)
        self._lock = threading.Lock()
        self._owner_fd: int | None = None
        self._start_process()
        self._sweep_owners()

    # -- process identity ----------------------------------------------------------------------
    def _start_process(self) -> None:
        self._pid = os.getpid()
        self.owner = f"{self._pid}x{os.urandom(4).hex()}"
        self._ready: list[tuple[str, int]] = []  # (name, size), sorted: oldest first
        self._ready_bytes = 0
        self._claimed = (0, 0)  # files and bytes claimed by anyone at the last scan
        self._scanned_at = float("-inf")
        self._dead: set[str] = set()
        self._owner_fd = self._lock_owner()

    def _lock_owner(self) -> int | None:
        """Hold ``owners/<token>.lock`` for the life of this process (one fd, closed on exec)."""
        if _fcntl is None:
            return None
        tmp = os.path.join(self._owners, f".new-{self.owner}")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
            # Renamed only once locked, so nobody can see the file unlocked and call us dead.
            os.rename(tmp, os.path.join(self._owners, f"{self.owner}.lock"))
        except Exception:
            os.close(fd)
            _unlink(tmp)
            raise
        return fd

    def reset_after_fork(self) -> None:
        """In a forked child: a new owner token and lock, and no claim or index of the parent's."""
        fd, self._owner_fd = self._owner_fd, None
        if fd is not None:
            try:
                os.close(fd)  # our copy only: the parent keeps its lock
            except OSError:
                pass
        self._lock = threading.Lock()
        try:
            self._start_process()
        except Exception as exc:
            log_internal_error("spool after fork", exc)

    def _check_pid(self) -> None:
        if os.getpid() != self._pid:
            self.reset_after_fork()

    def close(self) -> None:
        """Give up the owner lock (claims we still hold become reclaimable by others)."""
        fd, self._owner_fd = self._owner_fd, None
        if fd is not None and self._pid == os.getpid():
            _unlink(os.path.join(self._owners, f"{self.owner}.lock"))
            try:
                os.close(fd)
            except OSError:
                pass

    # -- the Spool protocol --------------------------------------------------------------------
    def write(self, envelope: Envelope, attempts: int = 0) -> str | None:
        """Store ``envelope``; return its key, or None if it cannot be kept (too large, disk error)."""
        self._check_pid()
        data = encode(envelope)
        size = len(data)
        if size > self.max_bytes:
            self.counters["too_large"] += 1
            return None
        key = f"{time.time_ns():020d}-{os.urandom(6).hex()}"
        name = f"{key}.{max(0, min(attempts, 999999))}.env"
        with self._lock:
            self._make_room(size)
            tmp = os.path.join(self.path, f".tmp-{self.owner}-{os.urandom(4).hex()}")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_NOFOLLOW, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    if self._fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, os.path.join(self.path, name))
            except OSError as exc:
                _unlink(tmp)
                self.counters["write_errors"] += 1
                log_internal_error("spool write", exc)
                return None
            bisect.insort(self._ready, (name, size))
            self._ready_bytes += size
        self.counters["written"] += 1
        return key

    def claim_next(self, skip: Collection[str] = ()) -> SpooledEnvelope | None:
        """Claim the oldest ready envelope, preferring keys not in ``skip``; None when there is none."""
        self._check_pid()
        with self._lock:
            if not self._ready or time.monotonic() - self._scanned_at > RESCAN_SECONDS:
                self._scan()
            for rescanned in (False, True):
                if rescanned:
                    if time.monotonic() - self._scanned_at < 0.05:
                        return None
                    self._scan()
                for avoid in (True, False) if skip else (False,):
                    i = 0
                    while i < len(self._ready):
                        name, size = self._ready[i]
                        if avoid and _stem(name) in skip:
                            i += 1
                            continue
                        del self._ready[i]
                        self._ready_bytes -= size
                        spooled = self._take(name)
                        if spooled is not None:
                            return spooled
        return None

    def release(self, spooled: SpooledEnvelope, attempts: int | None = None) -> None:
        """Put a claimed envelope back for a later attempt (by us or by anybody)."""
        count = spooled.attempts if attempts is None else max(0, min(attempts, 999999))
        name = f"{spooled.key}.{count}.env"
        try:
            os.replace(spooled.path, os.path.join(self.path, name))
        except OSError as exc:
            log_internal_error("spool release", exc)
            return
        with self._lock:
            bisect.insort(self._ready, (name, spooled.size))
            self._ready_bytes += spooled.size

    def remove(self, key: str | SpooledEnvelope) -> None:
        """Delete a claimed envelope (delivered or finally dropped), or a ready one by key."""
        if isinstance(key, SpooledEnvelope):
            _unlink(key.path)
            self.counters["removed"] += 1
            return
        with self._lock:
            for i, (name, size) in enumerate(self._ready):
                if _stem(name) == key:
                    del self._ready[i]
                    self._ready_bytes -= size
                    break
        for name in _listdir(self.path):
            if name.startswith(key + ".") and _READY.match(name):
                _unlink(os.path.join(self.path, name))
                self.counters["removed"] += 1

    # -- inspection ----------------------------------------------------------------------------
    def pending(self) -> int:
        """Files on disk now (ready or claimed by anyone), from a fresh scan."""
        self._check_pid()
        with self._lock:
            self._scan()
            return len(self._ready) + self._claimed[0]

    def has_ready(self) -> bool:
        """Whether a spooled envelope is ready to replay now."""
        with self._lock:
            return bool(self._ready)

    # -- internals -----------------------------------------------------------------------------
    def _scan(self) -> None:
        """Rebuild the ready index from the directory; return dead owners' claims and temp files."""
        ready: list[tuple[str, int]] = []
        claimed_files = claimed_bytes = 0
        for name in _listdir(self.path):
            path = os.path.join(self.path, name)
            if name.endswith(".env"):
                if _READY.match(name):
                    size = _size(path)
                    if size is not None:
                        ready.append((name, size))
                continue
            m = _CLAIM.match(name)
            if m is not None:
                if m.group(3) != self.owner and not self._alive(m.group(3), path):
                    back = f"{m.group(1)}.{m.group(2)}.env"
                    try:
                        os.rename(path, os.path.join(self.path, back))
                    except OSError:
                        continue
                    self.counters["reclaimed"] += 1
                    size = _size(os.path.join(self.path, back))
                    if size is not None:
                        ready.append((back, size))
                    continue
                claimed_files += 1
                claimed_bytes += _size(path) or 0
                continue
            m = _TMP.match(name)
            if m is not None and m.group(1) != self.owner and not self._alive(m.group(1), path):
                _unlink(path)
        ready.sort()
        self._ready = ready
        self._ready_bytes = sum(size for _name, size in ready)
        self._claimed = (claimed_files, claimed_bytes)
        self._scanned_at = time.monotonic()

    def _alive(self, owner: str, path: str) -> bool:
        if owner in self._dead:
            return False
        if self._owner_alive(owner, path):
            return True
        if len(self._dead) > 4096:
            self._dead.clear()
        self._dead.add(owner)  # a dead owner stays dead: its token is never reused
        return False

    def _owner_alive(self, owner: str, path: str) -> bool:
        if _fcntl is None:
            try:
                return time.time() - os.stat(path).st_mtime < STALE_CLAIM_SECONDS
            except OSError:
                return True
        lock_path = os.path.join(self._owners, f"{owner}.lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | _O_NOFOLLOW)
        except FileNotFoundError:
            return False
        except OSError:
            return True  # cannot tell: never steal
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError:
            return True
        else:
            _unlink(lock_path)  # its process is gone; we hold the lock while we clean up
            return False
        finally:
            os.close(fd)

    def _sweep_owners(self) -> None:
        """Remove lock files of dead owners left behind (their claims are returned on the next scan)."""
        for name in _listdir(self._owners):
            if name.endswith(".lock"):
                owner = name[: -len(".lock")]
                if owner != self.owner:
                    self._alive(owner, os.path.join(self._owners, name))

    def _take(self, name: str) -> SpooledEnvelope | None:
        """Claim ``name`` by renaming it; read and verify it. None if gone or corrupt."""
        m = _READY.match(name)
        if m is None:
            return None
        key, attempts = m.group(1), int(m.group(2))
        src = os.path.join(self.path, name)
        dst = os.path.join(self.path, f"{key}.{attempts}.{self.owner}.claim")
        try:
            os.rename(src, dst)
        except FileNotFoundError:
            return None  # somebody else claimed it first
        except OSError as exc:
            log_internal_error("spool claim", exc)
            return None
        if _fcntl is None:
            try:
                os.utime(dst)
            except OSError:
                pass
        try:
            with open(dst, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            log_internal_error("spool read", exc)
            _rename_quiet(dst, src)
            return None
        envelope = decode(data)
        if envelope is None:
            self.counters["corrupt"] += 1
            _unlink(dst)
            self._discard("internal_sdk_error", "error", 1)
            return None
        return SpooledEnvelope(key, attempts, dst, envelope, len(data))

    def _make_room(self, size: int) -> None:
        if time.monotonic() - self._scanned_at > RESCAN_SECONDS:
            self._scan()
        claimed_files, claimed_bytes = self._claimed
        while self._ready and (
            len(self._ready) + claimed_files + 1 > self.max_files
            or self._ready_bytes + claimed_bytes + size > self.max_bytes
        ):
            name, old_size = self._ready.pop(0)
            self._ready_bytes -= old_size
            spooled = self._take(name)
            if spooled is None:
                continue
            _unlink(spooled.path)
            self.counters["evicted"] += 1
            self._count_evicted(spooled.envelope)

    def _count_evicted(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type != "client_report":
                self._discard("cache_overflow", item.category, 1)
            elif self._on_restore is not None:
                try:  # a stored report's counts are not lost with it: they go back to the counter
                    self._on_restore(item)
                except Exception as exc:
                    log_internal_error("spool restore report", exc)

    def _discard(self, reason: str, category: str, quantity: int) -> None:
        if self._on_discard is not None:
            try:
                self._on_discard(reason, category, quantity)
            except Exception as exc:
                log_internal_error("spool discard count", exc)


def _private_dir(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    if os.name == "posix":
        st = os.stat(path)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(path, 0o700)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _rename_quiet(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except OSError:
        pass
