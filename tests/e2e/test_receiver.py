"""The embedded development receiver (``sdk_core.devserver``), exercised over real loopback HTTP."""

from __future__ import annotations

import gzip
import io
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest

from sdk_core.devserver import (
    MAX_EVENT_SIZE,
    Receiver,
    events_main,
    read_client_reports,
    read_events,
    read_stats,
    serve_main,
)
from sdk_core.devserver import body as body_mod
from sdk_core.devserver import receiver as receiver_mod

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_ID = "9f2b3c4d5e6f40718293a4b5c6d7e8f9"


# -- helpers ---------------------------------------------------------------------------------


def event_payload(message: str = "card [Filtered]", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_id": EVENT_ID,
        "level": "error",
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": message,
                    "stacktrace": {
                        "frames": [
                            {"filename": "lib.py", "lineno": 3, "in_app": False},
                            {"filename": "demo.py", "lineno": 12, "in_app": True},
                        ]
                    },
                }
            ]
        },
    }
    payload.update(extra)
    return payload


def item(item_type: str, payload: Any, *, length: bool = True, **headers: Any) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    head: dict[str, Any] = {"type": item_type, **headers}
    if length:
        head["length"] = len(body)
    return json.dumps(head).encode() + b"\n" + body


def envelope(*items: bytes, headers: Optional[dict[str, Any]] = None, event_id: Optional[str] = EVENT_ID) -> bytes:
    head = dict(headers or {})
    if event_id is not None:
        head.setdefault("event_id", event_id)
    return b"\n".join([json.dumps(head).encode(), *items]) + b"\n"


def event_envelope(message: str = "card [Filtered]", event_id: str = EVENT_ID) -> bytes:
    return envelope(item("event", event_payload(message, event_id=event_id)), event_id=event_id)


def client_report(*outcomes: tuple[str, str, int]) -> bytes:
    discarded = [{"reason": r, "category": c, "quantity": q} for r, c, q in outcomes]
    return item("client_report", {"timestamp": 1700000000, "discarded_events": discarded})


class Api:
    """Posts to one receiver, authenticated unless told otherwise."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.base = f"http://127.0.0.1:{receiver.port}"
        self.client = httpx.Client(timeout=30.0)

    @property
    def auth(self) -> dict[str, str]:
        key = self.receiver.public_key
        return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=test/1, sentry_key={key}"}

    def post(
        self,
        body: Any,
        *,
        path: Optional[str] = None,
        headers: Optional[dict[str, str]] = None,
        auth: bool = True,
        gzipped: bool = False,
    ) -> httpx.Response:
        all_headers = {"Content-Type": "application/x-sentry-envelope"}
        if auth:
            all_headers.update(self.auth)
        if gzipped:
            body = gzip.compress(body)
            all_headers["Content-Encoding"] = "gzip"
        all_headers.update(headers or {})
        url = self.base + (path or f"/api/{self.receiver.project_id}/envelope/")
        return self.client.post(url, content=body, headers=all_headers)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "events.db")


@pytest.fixture
def receiver(db: str) -> Iterator[Receiver]:
    with Receiver(db_path=db) as r:
        yield r


@pytest.fixture
def api(receiver: Receiver) -> Iterator[Api]:
    client = Api(receiver)
    yield client
    client.close()


def assert_alive(api: Api) -> None:
    before = len(api.receiver.events())
    response = api.post(event_envelope("still alive", event_id=uuid.uuid4().hex))
    assert response.status_code == 200, response.text
    assert len(api.receiver.events()) == before + 1


# -- lifecycle and DSN -----------------------------------------------------------------------


class TestLifecycle:
    def test_binds_loopback_only_and_dsn_names_key_port_and_project(self, tmp_path: Path) -> None:
        """The server listens on 127.0.0.1 and its DSN is http://<32 hex>@127.0.0.1:<port>/<project>."""
        with Receiver(db_path=str(tmp_path / "a.db"), project_id=7) as r:
            assert r._server is not None
            assert r._server.server_address[0] == "127.0.0.1"
            assert len(r.public_key) == 32 and int(r.public_key, 16) >= 0
            assert r.dsn == f"http://{r.public_key}@127.0.0.1:{r.port}/7"

    def test_key_persists_across_restart_with_the_same_database(self, db: str) -> None:
        """Restarting on the same file gives the same key, so the printed DSN stays valid."""
        with Receiver(db_path=db) as first:
            key = first.public_key
            with Api(first) as api:
                assert api.post(event_envelope()).status_code == 200
        with Receiver(db_path=db) as second:
            assert second.public_key == key
            with Api(second) as api:
                assert api.post(event_envelope(event_id=uuid.uuid4().hex)).status_code == 200
            assert len(second.events()) == 2

    def test_explicit_key_is_used_and_persisted(self, db: str) -> None:
        """A given public_key wins over the stored one and becomes the stored one."""
        with Receiver(db_path=db):
            pass
        with Receiver(db_path=db, public_key="abc123"):
            pass
        with Receiver(db_path=db) as r:
            assert r.public_key == "abc123"

    def test_in_memory_receivers_get_distinct_keys(self) -> None:
        """Without a database each receiver invents its own random key."""
        with Receiver() as a, Receiver() as b:
            assert a.public_key != b.public_key
            assert a.port != b.port

    def test_rejects_bad_arguments(self) -> None:
        """Invalid project ids, ports and keys fail at construction, naming the field."""
        with pytest.raises(ValueError, match="project_id"):
            Receiver(project_id=0)
        with pytest.raises(ValueError, match="port"):
            Receiver(port=70000)
        with pytest.raises(ValueError, match="public_key"):
            Receiver(public_key="has@at")

    def test_stop_is_idempotent_and_releases_the_port(self) -> None:
        """After stop() the port is free again and a second stop() is harmless."""
        r = Receiver().start()
        port = r.port
        conn = httpx.Client()
        conn.post(f"http://127.0.0.1:{port}/api/1/envelope/", content=b"{}")  # leaves a keep-alive connection
        r.stop()
        r.stop()
        conn.close()
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the closed connection sits in TIME_WAIT
            s.bind(("127.0.0.1", port))
            s.listen(1)

    def test_taken_port_raises_oserror(self) -> None:
        """start() on a port already in use raises OSError instead of sharing it."""
        with Receiver() as r:
            other = Receiver(port=r.port)
            with pytest.raises(OSError):
                other.start()
            other.stop()


# -- accepting events ------------------------------------------------------------------------


class TestAccepts:
    def test_plain_envelope_is_stored_and_readable(self, receiver: Receiver, api: Api, db: str) -> None:
        """A plain event envelope answers 200 {"id"} and read_events returns the stored row."""
        response = api.post(event_envelope())
        assert response.status_code == 200
        assert response.json() == {"id": EVENT_ID}
        assert "x-sentry-rate-limits" not in response.headers
        (row,) = read_events(db)
        assert row["event_id"] == EVENT_ID
        assert row["level"] == "error"
        assert row["summary"] == "ValueError: card [Filtered] (demo.py:12)"
        assert row["payload"] == event_payload()
        assert row["envelope_header"] == {"event_id": EVENT_ID}
        assert row["endpoint"] == "envelope"
        assert row["size"] == len(json.dumps(event_payload()).encode())
        assert row["server_redactions"] is None
        assert row["received_at"].endswith("Z")

    def test_gzip_envelope_is_stored(self, receiver: Receiver, api: Api) -> None:
        """Content-Encoding: gzip bodies are decompressed before parsing."""
        response = api.post(event_envelope(), gzipped=True)
        assert response.status_code == 200, response.text
        assert [e["event_id"] for e in receiver.events()] == [EVENT_ID]

    def test_x_gzip_and_case_insensitive_encoding_names(self, receiver: Receiver, api: Api) -> None:
        """Encoding names are trimmed and case-insensitive; x-gzip is gzip."""
        for name in ("x-gzip", "GZip"):
            body = gzip.compress(event_envelope(event_id=uuid.uuid4().hex))
            assert api.post(body, headers={"Content-Encoding": name}).status_code == 200
        assert len(receiver.events()) == 2

    def test_br_accepted_only_when_brotli_is_importable(self, receiver: Receiver, api: Api) -> None:
        """br decodes with the brotli module, and is refused like any unknown encoding without it."""
        brotli: Any = pytest.importorskip("brotli") if body_mod._brotli is not None else None
        if brotli is None:
            response = api.post(event_envelope(), headers={"Content-Encoding": "br"})
            assert response.status_code == 400
            assert receiver.events() == []
        else:
            body = brotli.compress(event_envelope())
            assert api.post(body, headers={"Content-Encoding": "br"}).status_code == 200
            truncated = brotli.compress(event_envelope(event_id=uuid.uuid4().hex))[:-3]
            assert api.post(truncated, headers={"Content-Encoding": "br"}).status_code == 400
            assert len(receiver.events()) == 1

    def test_item_without_length_runs_to_the_next_newline(self, receiver: Receiver, api: Api) -> None:
        """Items without a length header end at the next newline, as the envelope spec says."""
        body = envelope(
            item("client_report", {"discarded_events": []}, length=False),
            item("event", event_payload(), length=False),
            item("attachment", b"line1\nline2", filename="a.txt"),
        )
        assert api.post(body).status_code == 200
        assert receiver.events()[0]["payload"] == event_payload()

    def test_payload_with_newlines_needs_and_honours_length(self, receiver: Receiver, api: Api) -> None:
        """A pretty-printed payload is read exactly by its declared length."""
        pretty = json.dumps(event_payload(), indent=2).encode()
        body = envelope(item("event", pretty))
        assert api.post(body).status_code == 200
        assert receiver.events()[0]["payload"] == event_payload()

    def test_envelope_without_final_newline_and_with_crlf(self, receiver: Receiver, api: Api) -> None:
        """A missing trailing newline, or a CRLF after a length-delimited payload, is accepted."""
        assert api.post(event_envelope().rstrip(b"\n")).status_code == 200
        crlf = envelope(item("event", event_payload(event_id=EVENT_ID))).rstrip(b"\n") + b"\r\n"
        assert api.post(crlf).status_code == 200
        assert len(receiver.events()) == 2

    def test_envelope_without_event_answers_empty_object(self, receiver: Receiver, api: Api) -> None:
        """Sessions, attachments and unknown items are accepted with {} and not stored (transactions
        are stored: tests/e2e/test_tracing_receiver.py)."""
        for body in (
            envelope(item("session", {"sid": uuid.uuid4().hex, "status": "ok"}), event_id=None),
            envelope(item("something_new", b"opaque bytes")),
            envelope(event_id=None),
            b"{}",
        ):
            response = api.post(body)
            assert response.status_code == 200, (body, response.text)
            assert response.json() == {}
        assert receiver.events() == []

    def test_envelope_header_event_id_wins_and_is_normalised(self, receiver: Receiver, api: Api) -> None:
        """The envelope header's event_id (a dashed UUID is fine) is the stored id."""
        dashed = str(uuid.UUID(EVENT_ID))
        body = envelope(item("event", event_payload(event_id="0" * 32)), event_id=dashed)
        assert api.post(body).json() == {"id": EVENT_ID}
        assert receiver.events()[0]["event_id"] == EVENT_ID

    def test_chunked_request_body(self, receiver: Receiver, api: Api) -> None:
        """Transfer-Encoding: chunked bodies (httpx streams an iterator that way) are accepted."""
        data = event_envelope()
        chunks = iter([data[:10], data[10:]])
        response = api.client.post(api.base + "/api/1/envelope/", content=chunks, headers=api.auth)
        assert response.status_code == 200, response.text
        assert len(receiver.events()) == 1

    def test_many_envelopes_over_one_keep_alive_connection(self, receiver: Receiver, api: Api) -> None:
        """Batching is many envelopes over a reused connection: all of them are stored."""
        ports = set()
        for _ in range(20):
            with api.client.stream(
                "POST", api.base + "/api/1/envelope/", content=event_envelope(event_id=uuid.uuid4().hex),
                headers=api.auth,
            ) as response:  # fmt: skip
                response.read()
                assert response.status_code == 200
                stream = response.extensions["network_stream"]
                ports.add(stream.get_extra_info("client_addr")[1])
        assert len(ports) == 1
        assert len(receiver.events()) == 20
        assert receiver.stats()["requests"] == 20

    def test_events_are_kept_in_arrival_order_and_limit_takes_the_last(self, receiver: Receiver, api: Api) -> None:
        """read_events(limit=N) returns the N most recent events, oldest first."""
        ids = [uuid.uuid4().hex for _ in range(5)]
        for eid in ids:
            assert api.post(event_envelope(eid, event_id=eid)).status_code == 200
        assert [e["event_id"] for e in receiver.events()] == ids
        assert [e["event_id"] for e in receiver.events(limit=2)] == ids[-2:]

    def test_message_event_summary_uses_logentry(self, receiver: Receiver, api: Api) -> None:
        """Message events are summarised from logentry.formatted, with the level they carry."""
        payload = {"level": "warning", "logentry": {"message": "disk %s", "formatted": "disk full"}}
        assert api.post(envelope(item("event", payload))).status_code == 200
        row = receiver.events()[0]
        assert (row["level"], row["summary"]) == ("warning", "disk full")


class TestLegacyStore:
    def test_store_endpoint_accepts_plain_and_gzip_json(self, receiver: Receiver, api: Api) -> None:
        """POST /api/<id>/store/ takes one JSON event, plain or gzip."""
        first = api.post(json.dumps(event_payload()).encode(), path="/api/1/store/")
        assert first.status_code == 200 and first.json() == {"id": EVENT_ID}
        other = uuid.uuid4().hex
        second = api.post(json.dumps(event_payload(event_id=other)).encode(), path="/api/1/store/", gzipped=True)
        assert second.json() == {"id": other}
        assert [(e["event_id"], e["endpoint"]) for e in receiver.events()] == [
            (EVENT_ID, "store"),
            (other, "store"),
        ]

    def test_store_endpoint_accepts_base64_zlib_from_old_sdks(self, receiver: Receiver, api: Api) -> None:
        """Pre-envelope SDKs posted base64(zlib(json)); that still decodes."""
        import base64

        body = base64.b64encode(zlib.compress(json.dumps(event_payload()).encode()))
        assert api.post(body, path="/api/1/store/").status_code == 200
        assert receiver.events()[0]["event_id"] == EVENT_ID

    def test_store_endpoint_requires_auth_and_json(self, receiver: Receiver, api: Api) -> None:
        """The store endpoint has no envelope dsn, so it needs header or query auth; garbage is 400."""
        assert api.post(b"{}", path="/api/1/store/", auth=False).status_code == 403
        assert api.post(b"[1]", path="/api/1/store/").status_code == 400
        assert api.post(b"not json", path="/api/1/store/").status_code == 400
        assert receiver.events() == []


# -- auth ------------------------------------------------------------------------------------


class TestAuth:
    def test_query_string_auth(self, receiver: Receiver, api: Api) -> None:
        """?sentry_key= authenticates like the header."""
        path = f"/api/1/envelope/?sentry_version=7&sentry_key={receiver.public_key}"
        assert api.post(event_envelope(), path=path, auth=False).status_code == 200

    def test_authorization_header_with_sentry_scheme(self, receiver: Receiver, api: Api) -> None:
        """Relay also reads `Authorization: Sentry sentry_key=...`."""
        headers = {"Authorization": f"Sentry sentry_key={receiver.public_key}, sentry_version=7"}
        assert api.post(event_envelope(), headers=headers, auth=False).status_code == 200

    def test_envelope_dsn_header_auth(self, receiver: Receiver, api: Api) -> None:
        """Without header or query auth, the envelope header dsn authenticates."""
        body = envelope(item("event", event_payload()), headers={"dsn": receiver.dsn})
        assert api.post(body, auth=False).status_code == 200
        assert len(receiver.events()) == 1

    @pytest.mark.parametrize(
        "case",
        ["wrong_key", "wrong_project", "missing", "wrong_query_key", "dsn_wrong_key", "dsn_wrong_project",
         "bad_header", "header_without_key", "header_wins_over_dsn"],
    )  # fmt: skip
    def test_bad_auth_is_403_and_nothing_stored(self, case: str, receiver: Receiver, api: Api) -> None:
        """Wrong key, wrong project or no auth at all answer 403, as real servers do."""
        path, headers, auth, headers_env = None, {}, False, {}
        good_dsn = receiver.dsn
        if case == "wrong_key":
            headers = {"X-Sentry-Auth": "Sentry sentry_key=" + "0" * 32}
        elif case == "wrong_project":
            path, auth = "/api/2/envelope/", True
        elif case == "wrong_query_key":
            path = "/api/1/envelope/?sentry_key=" + "1" * 32
        elif case == "dsn_wrong_key":
            headers_env = {"dsn": good_dsn.replace(receiver.public_key, "f" * 32)}
        elif case == "dsn_wrong_project":
            headers_env = {"dsn": good_dsn[: -len("/1")] + "/2"}
        elif case == "bad_header":
            headers = {"X-Sentry-Auth": "Bearer " + receiver.public_key}
        elif case == "header_without_key":
            headers = {"X-Sentry-Auth": "Sentry sentry_version=7"}
        elif case == "header_wins_over_dsn":
            headers, headers_env = {"X-Sentry-Auth": "Sentry sentry_key=" + "0" * 32}, {"dsn": good_dsn}
        body = envelope(item("event", event_payload()), headers=headers_env)
        response = api.post(body, path=path, headers=headers, auth=auth)
        assert response.status_code == 403, response.text
        assert "detail" in response.json()
        assert receiver.events() == []

    def test_anonymous_garbage_is_403_not_400(self, receiver: Receiver, api: Api) -> None:
        """An unauthenticated client learns nothing about the parser: garbage without auth is 403."""
        assert api.post(b"\x00garbage", auth=False).status_code == 403
        assert api.post(b"\x1f\x8b\x08trunc", auth=False, headers={"Content-Encoding": "gzip"}).status_code == 403

    def test_key_never_appears_in_diagnostics(self, db: str, capfd: pytest.CaptureFixture[str]) -> None:
        """Rejected-request lines name status and path only: no query string, no key."""
        with Receiver(db_path=db, verbose=True) as r:
            with Api(r) as api:
                api.post(b"garbage", path=f"/api/1/envelope/?sentry_key={r.public_key}", auth=False)
                api.post(b"garbage")
            key = r.public_key
        out, err = capfd.readouterr()
        assert "[rejected] 400 POST /api/1/envelope/" in err
        assert key not in out + err


# -- refusals --------------------------------------------------------------------------------


class TestMalformed:
    MALFORMED = {
        "empty body": b"",
        "header not json": b"{not json}\n",
        "header is a list": b"[]\n",
        "header not utf-8": b'{"event_id": "\xff"}\n',
        "header NaN": b'{"x": NaN}\n',
        "item header not json": b"{}\n{type: event}\n{}\n",
        "item header without type": b'{}\n{"length": 2}\n{}\n',
        "item type not a string": b'{}\n{"type": 5}\n{}\n',
        "length past end": b'{}\n{"type": "attachment", "length": 50}\nshort\n',
        "negative length": b'{}\n{"type": "attachment", "length": -1}\nx\n',
        "length is a string": b'{}\n{"type": "attachment", "length": "2"}\nxx\n',
        "length is a bool": b'{}\n{"type": "attachment", "length": true}\nx\n',
        "length is a float": b'{}\n{"type": "attachment", "length": 1.5}\nx\n',
        "no newline after payload": b'{}\n{"type": "attachment", "length": 2}\nxxyy\n',
        "event payload not json": envelope(item("event", b"{oops")),
        "event payload not an object": envelope(item("event", b"[1, 2]")),
        "event id not a uuid": envelope(item("event", event_payload()), event_id="not-a-uuid"),
        "event without envelope event_id": envelope(item("event", event_payload()), event_id=None),
    }

    @pytest.mark.parametrize("name", sorted(MALFORMED))
    def test_malformed_envelope_is_400_with_json_detail(self, name: str, receiver: Receiver, api: Api) -> None:
        """Every way of breaking the envelope format answers 400 {"detail": ...} and stores nothing."""
        response = api.post(self.MALFORMED[name])
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str) and 0 < len(detail) < 200
        assert receiver.events() == []

    @pytest.mark.parametrize(
        ("encoding", "body"),
        [
            ("deflate", zlib.compress(b"{}\n")),
            ("zstd", b"(\xb5/\xfd"),
            ("gzip, br", b"{}"),
            ("gzip", b"\x1f\x8b\x08\x00garbage"),
            ("gzip", gzip.compress(b"{}\n" * 100)[:-12]),
            ("gzip", b""),
            ("gzip", gzip.compress(b"{}\n") + b"trailing garbage"),
        ],
    )
    def test_bad_or_unknown_encodings_are_400(self, encoding: str, body: bytes, receiver: Receiver, api: Api) -> None:
        """deflate, zstd, unknown names, truncated or corrupt gzip: 400."""
        response = api.post(body, headers={"Content-Encoding": encoding})
        assert response.status_code == 400, response.text
        assert "detail" in response.json()

    def test_concatenated_gzip_members_are_one_body(self, receiver: Receiver, api: Api) -> None:
        """Two gzip members back to back decode as one body (RFC 1952), like gunzip does."""
        data = event_envelope()
        body = gzip.compress(data[:20]) + gzip.compress(data[20:])
        assert api.post(body, headers={"Content-Encoding": "gzip"}).status_code == 200


class TestTooLarge:
    def test_body_over_20_mib_is_413(self, receiver: Receiver, api: Api) -> None:
        """A request body over 20 MiB is refused with 413 (and the connection stays usable)."""
        response = api.post(b"{}\n" + b" " * (20 * 1024 * 1024))
        assert response.status_code == 413
        assert_alive(api)

    def test_decompressed_body_over_20_mib_is_413(self, receiver: Receiver, api: Api) -> None:
        """Size limits apply after decompression too: a small gzip bomb is 413."""
        bomb = gzip.compress(b"{}\n" + b" " * (21 * 1024 * 1024))
        assert len(bomb) < 100_000
        response = api.post(bomb, headers={"Content-Encoding": "gzip"})
        assert response.status_code == 413
        assert receiver.events() == []

    def test_event_item_over_1_mib_is_413(self, receiver: Receiver, api: Api) -> None:
        """An event payload over 1 MiB (Relay's max_event_size) is 413."""
        big = event_payload(extra={"blob": "x" * MAX_EVENT_SIZE})
        response = api.post(envelope(item("event", big)))
        assert response.status_code == 413
        assert receiver.events() == []
        store = api.post(json.dumps(big).encode(), path="/api/1/store/")
        assert store.status_code == 413

    def test_event_of_exactly_1_mib_is_accepted(self, receiver: Receiver, api: Api) -> None:
        """The limit is inclusive: exactly 1 MiB passes."""
        base = json.dumps(event_payload(extra={"blob": ""})).encode()
        exact = event_payload(extra={"blob": "x" * (MAX_EVENT_SIZE - len(base))})
        assert len(json.dumps(exact).encode()) == MAX_EVENT_SIZE
        assert api.post(envelope(item("event", exact))).status_code == 200

    @pytest.mark.parametrize("second", ["event", "transaction", "feedback"])
    def test_two_event_items_in_one_envelope_are_413_and_nothing_stored(
        self, second: str, receiver: Receiver, api: Api
    ) -> None:
        """One event-like item per envelope: a second one fails the whole envelope with 413 (Relay)."""
        body = envelope(
            item("event", event_payload()),
            client_report(("send_error", "error", 1)),
            item(second, event_payload(event_id=uuid.uuid4().hex)),
        )
        response = api.post(body)
        assert response.status_code == 413
        assert "one event per envelope" in response.json()["detail"]
        assert receiver.events() == []
        assert receiver.client_reports() == []


class TestWriteOnly:
    @pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
    @pytest.mark.parametrize("path", ["/api/1/envelope/", "/api/1/store/"])
    def test_other_methods_on_api_paths_are_refused_even_with_the_key(
        self, method: str, path: str, receiver: Receiver, api: Api
    ) -> None:
        """The DSN key is write-only: reading (or anything but POST) on the API is 405."""
        assert api.post(event_envelope()).status_code == 200
        url = f"{api.base}{path}?sentry_key={receiver.public_key}"
        response = api.client.request(method, url, headers=api.auth)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert EVENT_ID not in response.text

    @pytest.mark.parametrize("path", ["/", "/api/1/events/", "/api/0/projects/", "/events", "/api/x/envelope/"])
    def test_no_endpoint_reads_events(self, path: str, receiver: Receiver, api: Api) -> None:
        """Nothing on HTTP lists or reads events (reading is local, via read_events)."""
        assert api.post(event_envelope()).status_code == 200
        response = api.client.get(api.base + path, headers=api.auth)
        assert response.status_code in (403, 404, 405)
        assert EVENT_ID not in response.text

    def test_route_seam_dispatches_by_method_and_path(self, receiver: Receiver) -> None:
        """_route is the single dispatch point a future console plugs into."""
        handler, params = receiver._route("POST", "/api/1/envelope/")  # type: ignore[misc]
        assert (handler, params) == (receiver._ingest._handle_envelope, {"project_id": "1"})
        assert receiver._route("GET", "/api/1/envelope/").status == 405  # type: ignore[union-attr]
        assert receiver._route("GET", "/").status == 404  # type: ignore[union-attr]

    def test_loopback_host_check_for_the_future_console(self) -> None:
        """The console seam's Host check accepts loopback names only (DNS-rebinding guard)."""
        for host in ("127.0.0.1:8030", "localhost", "LOCALHOST:1", "[::1]:8030", "[::1]"):
            assert receiver_mod._is_loopback_host(host), host
        for bad in (None, "", "evil.example:8030", "127.0.0.1.evil.example", "0.0.0.0:8030"):
            assert not receiver_mod._is_loopback_host(bad), bad


# -- client reports and scrubbing -------------------------------------------------------------


class TestClientReports:
    def test_client_reports_are_aggregated(self, receiver: Receiver, api: Api, db: str) -> None:
        """Outcomes are summed per (reason, category) across envelopes, including event envelopes."""
        assert (
            api.post(envelope(client_report(("send_error", "error", 2), ("queue_overflow", "error", 1)))).json() == {}
        )
        assert api.post(envelope(client_report(("send_error", "error", 3)), event_id=None)).status_code == 200
        body = envelope(item("event", event_payload()), client_report(("ratelimit_backoff", "attachment", 7)))
        assert api.post(body).json() == {"id": EVENT_ID}
        expected = [
            {"reason": "queue_overflow", "category": "error", "quantity": 1},
            {"reason": "ratelimit_backoff", "category": "attachment", "quantity": 7},
            {"reason": "send_error", "category": "error", "quantity": 5},
        ]
        assert receiver.client_reports() == expected
        assert read_client_reports(db) == expected

    def test_invalid_client_reports_are_counted_not_fatal(self, receiver: Receiver, api: Api) -> None:
        """A broken client_report item does not fail the envelope; it is counted in stats."""
        body = envelope(item("client_report", b"{broken"), item("event", event_payload()))
        assert api.post(body).status_code == 200
        assert receiver.client_reports() == []
        assert receiver.stats()["client_reports_invalid"] == 1
        assert len(receiver.events()) == 1


SECRET = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"


def fake_scrub(payload: dict[str, Any]) -> dict[str, int]:
    """Stand-in for scrubbers.compile_rules(...).scrub_in_place: replaces SECRET anywhere."""
    text = json.dumps(payload)
    count = text.count(SECRET)
    replaced = json.loads(text.replace(SECRET, "[Filtered]"))
    payload.clear()
    payload.update(replaced)
    return {"stripe-live-key": count} if count else {}


class TestScrubHook:
    def test_secret_never_reaches_storage_or_output(self, db: str, capfd: pytest.CaptureFixture[str]) -> None:
        """The second-layer scrub runs before storing and printing; its counts are recorded."""
        out = io.StringIO()
        with Receiver(db_path=db, scrub=fake_scrub, verbose=True, stream=out) as r:
            with Api(r) as api:
                payload = event_payload(f"key {SECRET}", extra={"token": SECRET})
                assert api.post(envelope(item("event", payload))).status_code == 200
        line = out.getvalue()
        assert (
            line == f"[event] {EVENT_ID[:8]}\u2026 error ValueError: key [Filtered] (demo.py:12) [server redacted 2]\n"
        )
        (row,) = read_events(db)
        assert row["server_redactions"] == {"stripe-live-key": 2}
        assert row["payload"]["extra"] == {"token": "[Filtered]"}
        captured = capfd.readouterr()
        raw = Path(db).read_bytes() + b"".join(p.read_bytes() for p in Path(db).parent.glob("events.db-*"))
        assert SECRET.encode() not in raw
        assert SECRET not in line + captured.out + captured.err

    def test_scrub_failure_stores_nothing(self, db: str) -> None:
        """If the scrub hook raises, the event is refused (500) rather than stored unscrubbed."""

        def broken(payload: dict[str, Any]) -> dict[str, int]:
            raise RuntimeError("boom")

        with Receiver(db_path=db, scrub=broken) as r:
            with Api(r) as api:
                assert api.post(event_envelope()).status_code == 500
                assert r.events() == []

    def test_event_line_is_one_printable_line(self) -> None:
        """Control characters and bidi overrides in messages cannot break or spoof the output line."""
        out = io.StringIO()
        with Receiver(verbose=True, stream=out) as r:
            with Api(r) as api:
                assert api.post(event_envelope("a\nb\x1b[31mred\u202egnp.exe\r")).status_code == 200
        line = out.getvalue()
        assert line.count("\n") == 1
        assert "\x1b" not in line and "\u202e" not in line and "\r" not in line


# -- robustness ------------------------------------------------------------------------------


def raw_request(port: int, data: bytes, *, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


class TestNeverCrashes:
    def test_random_bodies_and_mutations_never_kill_the_server(self, receiver: Receiver, api: Api) -> None:
        """Random bytes, mutated and truncated envelopes, bad gzip: answers stay in {200, 400, 413}."""
        rng = random.Random(1234)
        good = event_envelope()
        bodies: list[tuple[bytes, dict[str, str]]] = []
        for _ in range(60):
            bodies.append((rng.randbytes(rng.randint(0, 300)), {}))
        for _ in range(120):
            data = bytearray(good)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            bodies.append((bytes(data), {}))
            bodies.append((good[: rng.randrange(len(good))], {}))
        for _ in range(40):
            compressed = gzip.compress(good)
            cut = compressed[: rng.randrange(len(compressed))]
            bodies.append((cut, {"Content-Encoding": "gzip"}))
        odd_lengths: list[Any] = [-5, 0, 10**12, "1e3", None, [], {}, 2**70]
        for length in odd_lengths:
            bodies.append((b'{}\n{"type":"event","length":' + json.dumps(length).encode() + b"}\n{}", {}))
        bodies.append((b"{}\n" + b"[" * 100_000 + b"\n", {}))
        bodies.append((envelope(item("event", b"[" * 5000 + b"]" * 5000)), {}))
        bodies.append((envelope(item("event", b'{"a":' * 300 + b"1" + b"}" * 300)), {}))
        bodies.append((envelope(item("event", b'{"message": "\\ud800 lone", "level": "\\udfff"}')), {}))
        bodies.append((envelope(item("event", b'{"exception": {"values": [1, null, {"type": 5}]}}')), {}))
        bodies.append((envelope(item("event", b'{"exception": "x", "threads": {"values": [1]}}')), {}))
        for body, headers in bodies:
            response = api.post(body, headers=headers)
            assert response.status_code in (200, 400, 413), (body[:80], response.status_code, response.text)
            assert response.headers["content-type"] == "application/json"
            response.json()
        assert_alive(api)

    def test_broken_http_never_kills_the_server(self, receiver: Receiver, api: Api) -> None:
        """Bad request lines, lying Content-Length, broken chunking and hang-ups leave it serving."""
        port = receiver.port
        auth = f"X-Sentry-Auth: Sentry sentry_key={receiver.public_key}\r\n".encode()
        head = b"POST /api/1/envelope/ HTTP/1.1\r\nHost: x\r\n" + auth
        for data in (
            b"\x00\xff garbage\r\n\r\n",
            b"GET\r\n\r\n",
            b"POST /api/1/envelope/ HTTP/9.9\r\n\r\n",
            head + b"Content-Length: -1\r\n\r\n",
            head + b"Content-Length: abc\r\n\r\n",
            head + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n{}\n",
            head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            head + b"Transfer-Encoding: gzip\r\n\r\n",
            head + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
            head + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
            b"POST /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        ):
            reply = raw_request(port, data)
            assert reply.startswith(b"HTTP/1."), reply[:100]
            assert b"application/json" in reply.partition(b"\r\n\r\n")[0], reply[:300]
        for hang_up in (b"Content-Length: 100\r\n\r\nshort", b"Transfer-Encoding: chunked\r\n\r\n5\r\n{}\n"):
            assert raw_request(port, head + hang_up) == b""  # the client left mid-body: nobody to answer
        raw_request(port, head + b"Content-Length: 1000\r\n\r\n{}", read=False)
        for status_bad in (b"Content-Length: -1", b"Content-Length: abc", b"Transfer-Encoding: gzip"):
            reply = raw_request(port, head + status_bad + b"\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
        assert_alive(api)

    def test_concurrent_posts_are_all_stored(self, receiver: Receiver) -> None:
        """Request threads share the store safely."""
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                with Api(receiver) as api:
                    for _ in range(10):
                        assert api.post(event_envelope(event_id=uuid.uuid4().hex)).status_code == 200
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(receiver.events()) == 80
        assert receiver.stats()["events_stored"] == 80


# -- CLI -------------------------------------------------------------------------------------


class LineReader:
    """Reads a subprocess's stdout on a thread so waits have deadlines."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)

    def next(self, timeout: float = 20.0) -> str:
        return self.lines.get(timeout=timeout)


def start_serve(*args: str) -> tuple[subprocess.Popen[str], LineReader]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import sys; from sdk_core.devserver import serve_main; sys.exit(serve_main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env, cwd=str(REPO_ROOT),
    )  # fmt: skip
    return proc, LineReader(proc.stdout)


def post_to_dsn(dsn: str, body: bytes) -> httpx.Response:
    parsed = httpx.URL(dsn)
    url = f"http://127.0.0.1:{parsed.port}/api{parsed.path}/envelope/"
    return httpx.post(url, content=body, headers={"X-Sentry-Auth": f"Sentry sentry_key={parsed.username}"})


class TestServeMain:
    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
    def test_prints_dsn_first_then_events_and_exits_cleanly_on_signal(self, sig: int, db: str) -> None:
        """serve prints `DSN: ...` as its first line, one line per event, and exits 0 on SIGTERM/SIGINT."""
        proc, reader = start_serve("--port", "0", "--db", db)
        try:
            first = reader.next()
            assert first.startswith("DSN: http://") and first.rstrip().endswith("/1")
            dsn = first[len("DSN: ") :].strip()
            assert reader.next() == f"Console: http://127.0.0.1:{httpx.URL(dsn).port}/\n"
            assert post_to_dsn(dsn, event_envelope()).status_code == 200
            assert reader.next() == f"[event] {EVENT_ID[:8]}\u2026 error ValueError: card [Filtered] (demo.py:12)\n"
            started = time.monotonic()
            proc.send_signal(sig)
            assert proc.wait(timeout=10) == 0
            assert time.monotonic() - started < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()  # type: ignore[union-attr]
            proc.stdout.close()  # type: ignore[union-attr]
        assert [e["event_id"] for e in read_events(db)] == [EVENT_ID]

    def test_restart_on_the_same_db_prints_the_same_dsn_key(self, db: str) -> None:
        """The key is persisted: a restarted `serve --db same.db` prints a DSN with the same key."""
        keys = []
        for _ in range(2):
            proc, reader = start_serve("--port", "0", "--db", db, "--quiet")
            try:
                keys.append(httpx.URL(reader.next()[len("DSN: ") :].strip()).username)
                proc.terminate()
                assert proc.wait(timeout=10) == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stderr.close()  # type: ignore[union-attr]
                proc.stdout.close()  # type: ignore[union-attr]
        assert keys[0] == keys[1] and len(keys[0]) == 32

    def test_default_port_falls_back_when_taken(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --port it tries 8030 and picks a free port when 8030 is busy."""
        blocker = socket.socket()
        try:
            blocker.bind(("127.0.0.1", 8030))
            blocker.listen(1)
        except OSError:
            pass  # already taken by someone else: the fallback is exercised all the same
        stop = threading.Event()
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(serve_main(["--db", db], stop_event=stop)))
        thread.start()
        out, err = "", ""
        try:
            deadline = time.monotonic() + 20
            while "DSN: " not in out and time.monotonic() < deadline:
                stop.wait(0.05)
                captured = capsys.readouterr()
                out, err = out + captured.out, err + captured.err
        finally:
            stop.set()
            thread.join(20)
            blocker.close()
        captured = capsys.readouterr()
        out, err = out + captured.out, err + captured.err
        assert result == [0]
        assert out.startswith("DSN: http://")
        assert ":8030/" not in out
        assert "8030 is taken" in err

    def test_explicit_taken_port_is_an_error(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """An explicit --port that is in use fails with exit 1 instead of silently moving."""
        with Receiver() as r:
            assert serve_main(["--port", str(r.port), "--db", db]) == 1
        assert "cannot listen" in capsys.readouterr().err

    def test_unusable_database_is_an_error(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A --db that is not a SQLite file exits 1 with a message, before printing a DSN."""
        bad = tmp_path / "not.db"
        bad.write_bytes(b"this is not sqlite" * 100)
        assert serve_main(["--port", "0", "--db", str(bad)]) == 1
        captured = capsys.readouterr()
        assert "DSN" not in captured.out and "not.db" in captured.err


class TestEventsMain:
    def fill(self, db: str, n: int) -> list[str]:
        ids = [uuid.uuid4().hex for _ in range(n)]
        with Receiver(db_path=db) as r:
            with Api(r) as api:
                for i, eid in enumerate(ids):
                    assert api.post(event_envelope(f"error {i}", event_id=eid)).status_code == 200
                assert api.post(envelope(client_report(("send_error", "error", 4)))).status_code == 200
        return ids

    def test_readable_lines(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Default output is one readable line per event, oldest first."""
        ids = self.fill(db, 3)
        assert events_main(["--db", db]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 3
        assert all(
            f"[event] {eid[:8]}\u2026 error ValueError: error {i} (demo.py:12)" in lines[i] for i, eid in enumerate(ids)
        )

    def test_json_lines_and_last(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints full rows as JSON lines; --last N keeps the newest N."""
        ids = self.fill(db, 4)
        assert events_main(["--db", db, "--json", "--last", "2"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["event_id"] for r in rows] == ids[-2:]
        assert rows[0]["payload"]["exception"]["values"][0]["value"] == "error 2"

    def test_client_reports_flag(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """--client-reports appends the aggregated outcomes."""
        self.fill(db, 1)
        assert events_main(["--db", db, "--client-reports"]) == 0
        assert "[client_report] send_error error x4" in capsys.readouterr().out

    def test_missing_database_is_exit_1(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """No database yet: exit 1 and say how to create one."""
        assert events_main(["--db", str(tmp_path / "none.db")]) == 1
        assert "serve" in capsys.readouterr().err
        assert not (tmp_path / "none.db").exists()

    def test_stats_are_readable_without_the_key(self, db: str) -> None:
        """read_stats reports counters (bytes, statuses) and never the key."""
        self.fill(db, 2)
        stats = read_stats(db)
        assert stats["events_stored"] == 2 and stats["status_200"] == 3 and stats["bytes_received"] > 0
        assert "public_key" not in stats

    def test_read_events_on_a_foreign_sqlite_file(self, tmp_path: Path) -> None:
        """A SQLite file that is not a receiver database is refused clearly."""
        import sqlite3

        path = tmp_path / "other.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        with pytest.raises(ValueError, match="not a receiver database"):
            read_events(str(path))
