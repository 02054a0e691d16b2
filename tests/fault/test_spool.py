"""DiskSpool on its own: atomic private files, corrupt files, bounds, claims, dead owners."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from sdk_core.transport.envelope import Envelope, Item
from sdk_core.transport.spool import DiskSpool, SpooledEnvelope, decode, encode, namespace_for
from tests.support.processes import close_pipes

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and flock")


def envelope(n: int, size: int = 0) -> Envelope:
    payload = orjson.dumps({"event_id": f"{n:032x}", "message": f"m{n}", "pad": "x" * size})
    return Envelope({"event_id": f"{n:032x}"}, [Item("event", payload, {"content_type": "application/json"})])


def report_envelope(quantity: int) -> Envelope:
    payload = orjson.dumps(
        {"timestamp": 1.0, "discarded_events": [{"reason": "before_send", "category": "error", "quantity": quantity}]}
    )
    return Envelope({}, [Item("client_report", payload)])


class Counts:
    def __init__(self) -> None:
        self.discarded: dict[tuple[str, str], int] = {}
        self.restored: list[Item] = []

    def discard(self, reason: str, category: str, quantity: int) -> None:
        self.discarded[(reason, category)] = self.discarded.get((reason, category), 0) + quantity


def make(path: Path, counts: Counts | None = None, **kwargs: Any) -> DiskSpool:
    counts = counts or Counts()
    return DiskSpool(str(path), on_discard=counts.discard, on_restore=counts.restored.append, **kwargs)


def drain(spool: DiskSpool) -> list[str]:
    """Claim and remove everything; the event ids in the order they came out."""
    out = []
    while True:
        spooled = spool.claim_next()
        if spooled is None:
            return out
        out.append(str(spooled.envelope.event_id))
        spool.remove(spooled)


def files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_file())


def test_round_trip_oldest_first(tmp_path: Path) -> None:
    spool = make(tmp_path)
    keys = [spool.write(envelope(i)) for i in range(5)]
    assert all(keys) and len(set(keys)) == 5
    assert spool.pending() == 5
    assert drain(spool) == [f"{i:032x}" for i in range(5)]
    assert spool.pending() == 0 and files(tmp_path) == []


def test_encoding_detects_every_kind_of_damage() -> None:
    data = encode(envelope(1))
    assert decode(data) is not None
    assert decode(data[:-5]) is None  # torn
    assert decode(data[:10]) is None
    assert decode(b"") is None
    assert decode(data.replace(b"m1", b"m2")) is None  # bit rot: crc
    assert decode(b"CRSPOOL1 3 00000000\nabc") is None
    assert decode(b"NOTSPOOL" + data[8:]) is None
    body = b"not an envelope\n"
    assert decode(b"CRSPOOL1 %d %08x\n" % (len(body), __import__("zlib").crc32(body)) + body) is None


@posix_only
def test_files_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        spool = make(tmp_path / "spool", namespace="ns")
        spool.write(envelope(1))
    finally:
        os.umask(old)
    root = tmp_path / "spool"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "ns").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "ns" / "owners").stat().st_mode) == 0o700
    for p in (root / "ns").iterdir():
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    for p in (root / "ns" / "owners").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name


@posix_only
def test_an_existing_namespace_dir_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "ns").mkdir(mode=0o755)
    os.chmod(tmp_path / "ns", 0o755)
    make(tmp_path, namespace="ns")
    assert stat.S_IMODE((tmp_path / "ns").stat().st_mode) == 0o700


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = make(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    assert spool.write(envelope(1)) is None
    assert files(tmp_path) == []
    assert spool.counters["write_errors"] == 1


def test_torn_and_corrupt_files_are_skipped_counted_and_removed(tmp_path: Path) -> None:
    counts = Counts()
    spool = make(tmp_path, counts)
    good = encode(envelope(7))
    damaged = {
        "00000000000000000001-aaaaaaaaaaaa.0.env": good[: len(good) // 2],  # torn
        "00000000000000000002-aaaaaaaaaaaa.0.env": b"",
        "00000000000000000003-aaaaaaaaaaaa.0.env": good.replace(b"m7", b"m8"),
        "00000000000000000004-aaaaaaaaaaaa.0.env": os.urandom(300),
    }
    for name, data in damaged.items():
        (tmp_path / name).write_bytes(data)
    spool.write(envelope(7))
    assert drain(spool) == [f"{7:032x}"]
    assert spool.counters["corrupt"] == 4
    assert counts.discarded == {("internal_sdk_error", "error"): 4}
    assert files(tmp_path) == []


def test_foreign_files_are_left_alone(tmp_path: Path) -> None:
    spool = make(tmp_path)
    (tmp_path / "README").write_text("mine")
    (tmp_path / "notes.env").write_text("not ours")
    spool.write(envelope(1))
    assert drain(spool) == [f"{1:032x}"]
    assert files(tmp_path) == ["README", "notes.env"]


def test_bounded_by_count_oldest_dropped_first_and_counted(tmp_path: Path) -> None:
    counts = Counts()
    spool = make(tmp_path, counts, max_files=3)
    for i in range(5):
        assert spool.write(envelope(i)) is not None
    assert drain(spool) == [f"{i:032x}" for i in (2, 3, 4)]
    assert counts.discarded == {("cache_overflow", "error"): 2}
    assert spool.counters["evicted"] == 2


def test_bounded_by_bytes(tmp_path: Path) -> None:
    counts = Counts()
    one = len(encode(envelope(0, size=1000)))
    spool = make(tmp_path, counts, max_bytes=one * 3 + 10)
    for i in range(6):
        spool.write(envelope(i, size=1000))
    assert drain(spool) == [f"{i:032x}" for i in (3, 4, 5)]
    assert counts.discarded == {("cache_overflow", "error"): 3}


def test_an_envelope_larger_than_the_whole_spool_is_refused(tmp_path: Path) -> None:
    spool = make(tmp_path, max_bytes=500)
    assert spool.write(envelope(1, size=1000)) is None
    assert spool.counters["too_large"] == 1 and spool.pending() == 0


def test_an_evicted_client_report_gives_its_counts_back(tmp_path: Path) -> None:
    counts = Counts()
    spool = make(tmp_path, counts, max_files=1)
    spool.write(report_envelope(4))
    spool.write(envelope(1))
    assert counts.discarded == {}  # a report is not an event: nothing "overflowed"
    (item,) = counts.restored
    assert orjson.loads(item.payload)["discarded_events"][0]["quantity"] == 4


def test_bounds_see_files_of_other_processes(tmp_path: Path) -> None:
    other = make(tmp_path)
    for i in range(4):
        other.write(envelope(i))
    counts = Counts()
    spool = make(tmp_path, counts, max_files=3)
    spool.write(envelope(9))
    assert counts.discarded == {("cache_overflow", "error"): 2}
    assert drain(spool) == [f"{i:032x}" for i in (2, 3, 9)]


def test_a_claimed_file_is_invisible_to_other_owners_until_released(tmp_path: Path) -> None:
    a, b = make(tmp_path), make(tmp_path)
    a.write(envelope(1))
    claimed = a.claim_next()
    assert claimed is not None
    assert b.claim_next() is None
    assert b.pending() == 1  # still on disk, still counted against the bounds
    a.release(claimed, attempts=2)
    again = b.claim_next()
    assert again is not None and again.attempts == 2 and again.key == claimed.key
    b.remove(again)
    assert a.pending() == 0


def test_claim_next_prefers_keys_not_skipped(tmp_path: Path) -> None:
    spool = make(tmp_path)
    keys = [spool.write(envelope(i)) for i in range(3)]
    first = spool.claim_next(skip={keys[0], keys[1]})
    assert first is not None and first.key == keys[2]
    second = spool.claim_next(skip={keys[0], keys[1]})
    assert second is not None and second.key == keys[0]  # only skipped ones left: oldest of them


def test_remove_by_key(tmp_path: Path) -> None:
    spool = make(tmp_path)
    key = spool.write(envelope(1))
    assert key is not None
    spool.remove(key)
    assert spool.pending() == 0


def test_threads_sharing_a_directory_claim_each_file_once(tmp_path: Path) -> None:
    writer = make(tmp_path)
    for i in range(200):
        writer.write(envelope(i))
    spools = [make(tmp_path) for _ in range(4)]
    seen: list[str] = []
    lock = threading.Lock()

    def run(spool: DiskSpool) -> None:
        ids = drain(spool)
        with lock:
            seen.extend(ids)

    threads = [threading.Thread(target=run, args=(s,)) for s in spools]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seen) == [f"{i:032x}" for i in range(200)]


def test_a_claim_of_an_owner_that_never_locked_is_returned(tmp_path: Path) -> None:
    """A token with our own pid but not our lock: a pid reused after a crash (container pid 1)."""
    spool = make(tmp_path)
    data = encode(envelope(1))
    ghost = f"{os.getpid()}x0badf00d"
    (tmp_path / f"00000000000000000001-aaaaaaaaaaaa.3.{ghost}.claim").write_bytes(data)
    (tmp_path / f".tmp-{ghost}-1234").write_bytes(data[:10])
    spooled = spool.claim_next()
    assert spooled is not None and spooled.attempts == 3
    assert spool.counters["reclaimed"] == 1
    spool.remove(spooled)
    assert files(tmp_path) == []  # the dead owner's temp file is swept too


CLAIM_AND_HANG = """
import sys, time
from sdk_core.transport.spool import DiskSpool
spool = DiskSpool(sys.argv[1])
spooled = spool.claim_next()
print(spooled.key, flush=True)
time.sleep(600)
"""


@posix_only
def test_claims_of_a_killed_process_are_reclaimed(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.write(envelope(1))
    spool.write(envelope(2))
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        key = child.stdout.readline().strip()
        assert key
        names = files(tmp_path)
        assert any(n.startswith(key) and n.endswith(".claim") for n in names), names
        # Alive: its claim is respected.
        live = spool.claim_next()
        assert live is not None and live.key != key
        spool.remove(live)
        assert spool.claim_next() is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        spool._scanned_at = float("-inf")  # no waiting for the periodic rescan
        back = spool.claim_next()
        assert isinstance(back, SpooledEnvelope) and back.key == key
        assert spool.counters["reclaimed"] == 1
        spool.remove(back)
        assert list((tmp_path / "owners").iterdir()) == [tmp_path / "owners" / f"{spool.owner}.lock"]
    finally:
        close_pipes(child)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)


@posix_only
def test_a_closed_spool_gives_up_its_claims(tmp_path: Path) -> None:
    a, b = make(tmp_path), make(tmp_path)
    a.write(envelope(1))
    assert a.claim_next() is not None
    assert b.claim_next() is None
    a.close()
    b._scanned_at = float("-inf")
    assert b.claim_next() is not None


def test_namespaces_keep_dsns_apart(tmp_path: Path) -> None:
    one, two = namespace_for("https", "a", "", "1", "k"), namespace_for("https", "a", "", "2", "k")
    assert one != two and len(one) == 16
    make(tmp_path, namespace=one).write(envelope(1))
    assert make(tmp_path, namespace=two).claim_next() is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_a_new_owner(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.write(envelope(1))
    spool.write(envelope(2))
    mine = spool.claim_next()
    assert mine is not None
    parent_owner = spool.owner
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's claim is not ours and its owner is alive
        code = 1
        try:
            theirs = spool.claim_next()
            ok = spool.owner != parent_owner and theirs is not None and theirs.key != mine.key
            if theirs is not None:
                spool.remove(theirs)
            ok = ok and spool.claim_next() is None
            code = 0 if ok else 2
        finally:
            os.write(write, b"done")
            os._exit(code)
    os.close(write)
    os.read(read, 10)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert spool.owner == parent_owner
    spool.remove(mine)
    assert spool.pending() == 0
