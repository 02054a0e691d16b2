"""The receiver's web console (``sdk_core.devserver.console``), exercised over real loopback HTTP.

Events are posted as envelopes to a real receiver; pages, JSON and refusals are read back with
httpx (and raw sockets where httpx would fix the request up)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdk_core.devserver import Receiver, credential_scrub, read_events
from sdk_core.devserver.console import CONTENT_SECURITY_POLICY

REPO_ROOT = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(1)>"
HOSTILE = [
    XSS,
    "</script><script>alert(2)</script>",
    "\"'><svg onload=alert(3)>",
    "javascript:alert(4)",
    "{{7*7}} ${7*7} <!-- -->",
    "]]></textarea></title><style>*{display:none}</style>",
]


# -- helpers ---------------------------------------------------------------------------------


def frame(function: str, lineno: int, in_app: bool, **extra: Any) -> dict[str, Any]:
    return {"filename": f"{function}.py", "function": function, "lineno": lineno, "in_app": in_app, **extra}


def checkout_event(**extra: Any) -> dict[str, Any]:
    """An exception event shaped like the SDK's, with scrub remarks in ``_meta``."""
    event: dict[str, Any] = {
        "level": "error",
        "platform": "python",
        "timestamp": "2026-01-02T03:04:05.678901Z",
        "transaction": "/checkout",
        "release": "shop@1.2.3",
        "environment": "staging",
        "exception": {
            "values": [
                {"type": "KeyError", "value": "'coupon'", "mechanism": {"type": "chained", "source": "__cause__"}},
                {
                    "type": "PaymentDeclined",
                    "value": "card [Filtered] declined",
                    "module": "shop.payments",
                    "mechanism": {"type": "generic", "handled": False},
                    "stacktrace": {
                        "frames": [
                            frame("site_handler", 10, False, vars={"self": "<Handler>"}),
                            frame(
                                "checkout",
                                42,
                                True,
                                pre_context=["def checkout(form):", "    password = [Filtered]"],
                                context_line="    charge(form['card'])",
                                post_context=["", "def charge(card):"],
                                vars={"password": "[Filtered]", "cart_total": 4999, "form": {"card": "[Filtered]"}},
                            ),
                        ]
                    },
                },
            ]
        },
        "breadcrumbs": {
            "values": [
                {"timestamp": "2026-01-02T03:04:01Z", "category": "auth", "message": "user logged in"},
                {"timestamp": 1767323042.5, "category": "http", "message": "GET /cart", "data": {"status": 200}},
            ]
        },
        "request": {
            "method": "POST",
            "url": "http://shop.local/checkout",
            "headers": {"Authorization": "[Filtered]", "Accept": "text/html"},
        },
        "user": {"id": "user-1842"},
        "tags": {"feature": "checkout", "region": "eu"},
        "contexts": {
            "trace": {"type": "trace", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"},
            "runtime": {"type": "runtime", "name": "CPython", "version": "3.11.7"},
        },
        "_meta": {
            "exception": {
                "values": {
                    "1": {
                        "value": {"": {"rem": [["credit-card", "s", 5, 15]], "len": 29}},
                        "stacktrace": {
                            "frames": {
                                "1": {
                                    "vars": {
                                        "password": {"": {"rem": [["password-field", "s"]], "len": 12}},
                                        "form": {"card": {"": {"rem": [["credit-card", "s", 0, 10]], "len": 19}}},
                                    },
                                    "pre_context": {"1": {"": {"rem": [["password-field", "s", 15, 25]], "len": 30}}},
                                }
                            }
                        },
                    }
                }
            },
            "request": {"headers": {"Authorization": {"": {"rem": [["auth-header", "s"]], "len": 40}}}},
            "user": {"ip_address": {"": {"rem": [["ip-address-field", "x"]], "len": 9}}},
            "extra": {"blob": {"": {"rem": [["!limit", "x", 1021, 1024]], "len": 5000}}},
        },
        "extra": {"blob": "x" * 1021 + "..."},
    }
    event.update(extra)
    return event


def message_event(message: str, level: str = "warning", **extra: Any) -> dict[str, Any]:
    return {"level": level, "platform": "python", "logentry": {"message": message}, **extra}


class Console:
    """A receiver with its console on, and an httpx client for both sides of it."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.base = f"http://127.0.0.1:{receiver.port}"
        self.client = httpx.Client(timeout=30.0)

    def send(self, payload: dict[str, Any], event_id: Optional[str] = None) -> str:
        event_id = event_id or uuid.uuid4().hex
        body = json.dumps({**payload, "event_id": event_id}).encode()
        envelope = (
            json.dumps({"event_id": event_id}).encode()
            + b"\n"
            + json.dumps({"type": "event", "length": len(body)}).encode()
            + b"\n"
            + body
            + b"\n"
        )
        auth = {"X-Sentry-Auth": f"Sentry sentry_key={self.receiver.public_key}"}
        response = self.client.post(f"{self.base}/api/1/envelope/", content=envelope, headers=auth)
        assert response.status_code == 200, response.text
        return event_id

    def send_client_report(self, *outcomes: tuple[str, str, int]) -> None:
        report = json.dumps({"discarded_events": [{"reason": r, "category": c, "quantity": q} for r, c, q in outcomes]})
        envelope = b"{}\n" + json.dumps({"type": "client_report"}).encode() + b"\n" + report.encode() + b"\n"
        auth = {"X-Sentry-Auth": f"Sentry sentry_key={self.receiver.public_key}"}
        assert self.client.post(f"{self.base}/api/1/envelope/", content=envelope, headers=auth).status_code == 200

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.base + path, **kwargs)

    def row_id(self, event_id: str) -> int:
        (row,) = [r for r in self.receiver.events() if r["event_id"] == event_id]
        return int(row["id"])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with Receiver(db_path=str(tmp_path / "events.db"), scrub=credential_scrub(), console=True) as receiver:
        c = Console(receiver)
        try:
            yield c
        finally:
            c.client.close()


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


class Markup(HTMLParser):
    """What a browser would build from a page: element names, attribute names, link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.urls.append(value)

    @classmethod
    def parse(cls, page: str) -> Markup:
        parser = cls()
        parser.feed(page)
        parser.close()
        return parser


def row_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="ev" data-id="(\d+)"', page)]


# -- the list -------------------------------------------------------------------------------


class TestList:
    def test_newest_first_with_the_list_fields(self, console: Console) -> None:
        """Level, exception type and value (or message), transaction, release, environment, time, redactions."""
        first = console.send(message_event("search index is stale", transaction="/catalog", release="shop@1.2.3"))
        second = console.send(checkout_event())
        page = console.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert row_ids(page.text) == [console.row_id(second), console.row_id(first)]
        row = page.text.split('data-id="2"', 1)[1].split("</tr>", 1)[0]
        for text in ("lvl-error", ">PaymentDeclined<", "card [Filtered] declined", "/checkout", "shop@1.2.3"):
            assert text in row, text
        assert ">staging<" in row and "checkout.py:42" in row
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>', row)
        assert 'title="7 remark(s) in _meta">7</td>' in row  # every remark in _meta, whatever its rule
        message_row = page.text.split('data-id="1"', 1)[1].split("</tr>", 1)[0]
        assert "lvl-warning" in message_row and "search index is stale" in message_row and "/catalog" in message_row

    def test_empty_store_says_how_to_get_events(self, console: Console) -> None:
        page = console.get("/").text
        assert "No events yet" in page and row_ids(page) == []
        assert 'data-last-id="0"' in page

    def test_filter_by_level_and_text(self, console: Console) -> None:
        console.send(message_event("disk almost full", level="warning", transaction="/admin"))
        console.send(checkout_event())
        console.send(message_event("user signed up", level="info", release="shop@9.9.9"))
        assert row_ids(console.get("/", params={"level": "warning"}).text) == [1]
        assert row_ids(console.get("/", params={"level": "error"}).text) == [2]
        assert row_ids(console.get("/", params={"q": "PAYMENTdeclined"}).text) == [2]  # case-insensitive
        assert row_ids(console.get("/", params={"q": "shop@9.9"}).text) == [3]  # release
        assert row_ids(console.get("/", params={"q": "/admin"}).text) == [1]  # transaction
        assert row_ids(console.get("/", params={"q": "declined", "level": "info"}).text) == []
        assert "No events match" in console.get("/", params={"q": "nothing like this"}).text
        page = console.get("/", params={"level": "warning", "q": "disk"}).text
        assert '<option value="warning" selected>' in page and 'value="disk"' in page

    def test_pages_of_100_with_an_older_link(self, console: Console) -> None:
        for i in range(105):
            console.send(message_event(f"event number {i}", level="info"))
        page = console.get("/").text
        ids = row_ids(page)
        assert ids == list(range(105, 5, -1))
        assert 'href="/?before=6" id="older"' in page
        older = console.get("/?before=6").text
        assert row_ids(older) == [5, 4, 3, 2, 1]
        assert "data-last-id" not in older  # an older page does not live-update
        found = row_ids(console.get("/", params={"q": "number 10", "before": "200"}).text)
        assert found == [105, 104, 103, 102, 101, 11]  # "event number 10" and "... 100" to "... 104"

    def test_poll_feeds_new_rows_and_the_summary(self, console: Console) -> None:
        """The live update: rows after a row id, filtered like the page, plus the summary strip."""
        console.send(message_event("one", level="info"))
        data = console.get("/poll", params={"after": "0"}).json()
        assert [r["value"] for r in data["rows"]] == ["one"] and data["last_id"] == 1
        assert console.get("/poll", params={"after": "1"}).json()["rows"] == []
        console.send(checkout_event())
        console.send(message_event("three", level="info"))
        data = console.get("/poll", params={"after": "1"}).json()
        assert [r["id"] for r in data["rows"]] == [3, 2]
        assert data["rows"][1]["type"] == "PaymentDeclined" and data["rows"][1]["href"] == "/event/2"
        filtered = console.get("/poll", params={"after": "1", "level": "info"}).json()
        assert [r["id"] for r in filtered["rows"]] == [3] and filtered["last_id"] == 3  # skipped rows advance too
        assert data["summary"]["events"] == 3
        assert console.get("/poll", params={"after": "garbage"}).json()["last_id"] == 3

    def test_summary_strip_counts_events_drops_and_bytes(self, console: Console) -> None:
        console.send(message_event("hello"))
        console.send_client_report(("queue_overflow", "error", 3), ("ratelimit_backoff", "error", 2))
        console.send_client_report(("queue_overflow", "transaction", 1))
        bad = console.client.post(f"{console.base}/api/1/envelope/", content=b"{}\n")  # no key: 403
        assert bad.status_code == 403
        summary = console.get("/poll").json()["summary"]
        assert summary["events"] == 1
        assert summary["dropped"] == [
            {"reason": "queue_overflow", "quantity": 4, "categories": "error 3, transaction 1"},
            {"reason": "ratelimit_backoff", "quantity": 2, "categories": "error 2"},
        ]
        assert summary["dropped_total"] == 6
        assert summary["bytes"] == console.receiver.stats()["bytes_received"] > 0
        assert summary["refused"] == 1 and summary["refused_text"] == "403\u00d71"
        page = console.get("/").text
        assert '<dd id="sum-events">1</dd>' in page
        assert 'title="error 3, transaction 1">queue_overflow 4</span>' in page
        assert f'title="{summary["bytes"]} bytes">' in page

    def test_console_reads_are_not_counted_as_ingest(self, console: Console) -> None:
        console.send(message_event("hello"))
        before = console.receiver.stats()
        for path in ("/", "/poll", "/event/1", "/static/console.js", "/event/1.json"):
            assert console.get(path).status_code == 200
        for path in ("/favicon.ico", "/robots.txt", "/event/99"):
            assert console.get(path).status_code == 404
        assert console.receiver.stats() == before
        assert console.client.post(console.base + "/api/x/envelope/").status_code == 404  # an ingest typo counts
        assert console.receiver.stats()["status_404"] == 1


# -- the event page --------------------------------------------------------------------------


class TestEventPage:
    def test_exception_chain_frames_and_context(self, console: Console) -> None:
        row = console.row_id(console.send(checkout_event()))
        response = console.get(f"/event/{row}")
        assert response.status_code == 200
        page = response.text
        assert "Exception chain (2)" in page
        assert page.index(">PaymentDeclined<") < page.index(">KeyError<")  # the raised one first
        assert ">caused by<" in page and "unhandled" in page and "module shop.payments" in page
        # frames: in-app emphasised and open, library frames collapsed
        assert '<details class="frame in-app" open>' in page
        assert '<details class="frame">' in page and ">site_handler<" in page
        assert '<tr class="current"><td class="ln">42</td>' in page  # the context line, numbered
        assert '<td class="ln">40</td>' in page and "def checkout(form):" in page
        assert "Local variables" in page and ">cart_total<" in page and ">4999<" in page
        # breadcrumbs as a timeline, request, user, tags, contexts, trace id
        assert '<ol class="timeline">' in page and "user logged in" in page and "GET /cart" in page
        assert '<span class="method">POST</span>' in page and "http://shop.local/checkout" in page
        assert 'id="user"' in page and "user-1842" in page
        assert '<span class="k">feature</span>' in page and '<span class="k">region</span>' in page
        assert 'id="contexts"' in page and "CPython" in page
        assert 'id="trace-id"><span class="v-str">4bf92f3577b34da6a3ce929d0e0e4736</span>' in page

    def test_privacy_panel_lists_every_remark_and_links_to_its_highlight(self, console: Console) -> None:
        row = console.row_id(console.send(checkout_event()))
        page = console.get(f"/event/{row}").text
        panel = page.split('<aside class="privacy" id="privacy">', 1)[1].split("</aside>", 1)[0]
        remarks = re.findall(r'<tr class="remark">(.*?)</tr>', panel)
        assert len(remarks) == 7
        expected = [
            ("exception.values.1.value", "credit-card", "filtered"),
            ("exception.values.1.stacktrace.frames.1.vars.password", "password-field", "filtered"),
            ("exception.values.1.stacktrace.frames.1.vars.form.card", "credit-card", "filtered"),
            ("exception.values.1.stacktrace.frames.1.pre_context.1", "password-field", "filtered"),
            ("request.headers.Authorization", "auth-header", "filtered"),
            ("user.ip_address", "ip-address-field", "removed"),
            ("extra.blob", "!limit", "removed"),
        ]
        for (path, rule, action), html_row in zip(expected, remarks):
            assert path == re.sub(r"<[^>]+>", "", html_row.split("</code>", 1)[0]), html_row
            assert f"<code>{rule}</code>" in html_row and action in html_row
            anchor = re.search(r'href="#(r\d+)"', html_row)
            assert anchor, f"{path} is not linked to its highlight"
            assert f'<mark id="{anchor.group(1)}" class="redacted"' in page
        # ranged remarks mark exactly the replaced span, whole-value remarks the whole value
        assert 'card <mark id="r1" class="redacted" title="credit-card (filtered); original length 29"' in page
        assert 'data-rule="credit-card">[Filtered]</mark> declined' in page
        assert 'data-rule="password-field">[Filtered]</mark></span>' in page
        # a removed key still shows where it was
        assert '<tr class="removed"><th>ip_address</th><td><mark id=' in page
        # the second layer's findings
        assert "Receiver second layer" in panel and "found nothing left to redact" in panel

    def test_second_layer_findings_are_listed(self, console: Console) -> None:
        token = "xoxb-" + "1234567890-" * 2 + "a" * 24
        row = console.row_id(console.send(message_event(f"slack said no to {token}")))
        page = console.get(f"/event/{row}").text
        assert token not in page
        server = page.split('id="server-redactions"', 1)[1].split("</table>", 1)[0]
        assert "<code>slack-token</code>" in server and '<td class="num">1</td>' in server
        assert "logentry.<wbr>message" in page  # the receiver's own remark, in the panel too

    def test_without_a_second_layer_the_panel_says_so(self, tmp_path: Path) -> None:
        with Receiver(console=True) as receiver:
            c = Console(receiver)
            c.send(message_event("plain"))
            assert "Not enabled on this receiver." in c.get("/event/1").text
            c.client.close()

    def test_raw_json_view_json_and_download(self, console: Console) -> None:
        event_id = console.send(checkout_event())
        row = console.row_id(event_id)
        page = console.get(f"/event/{row}").text
        assert '<pre class="raw" id="raw-json">' in page and "&quot;transaction&quot;: &quot;/checkout&quot;" in page
        stored = read_events(console.receiver.db_path or "")[0]["payload"]
        as_json = console.get(f"/event/{row}.json")
        assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
        assert as_json.json() == stored
        assert "content-disposition" not in as_json.headers
        download = console.get(f"/event/{row}/download")
        assert download.headers["content-disposition"] == f'attachment; filename="event-{event_id}.json"'
        assert download.content == as_json.content
        assert f'href="/event/{row}/download" download' in page

    def test_unknown_event_is_404(self, console: Console) -> None:
        assert console.get("/event/999").status_code == 404
        assert console.get("/event/999.json").status_code == 404
        assert console.get("/event/abc").status_code == 404
        assert console.get("/event/1/../../etc/passwd").status_code == 404


# -- hostile data ------------------------------------------------------------------------------


class TestEscaping:
    def hostile_event(self) -> dict[str, Any]:
        h = HOSTILE
        event = checkout_event(
            transaction=h[1], release=h[2], environment=h[3], server_name=h[4], logger=h[5], dist=XSS
        )
        exc = event["exception"]["values"][1]
        exc["type"], exc["value"] = XSS, XSS
        exc["mechanism"]["type"] = h[1]
        exc["module"] = h[2]
        frames = exc["stacktrace"]["frames"]
        frames[1].update(function=XSS, filename=h[1], module=h[2], context_line=XSS, pre_context=[h[3]])
        frames[1]["vars"] = {XSS: XSS, h[1]: {h[2]: [h[3], h[4]]}}
        event["breadcrumbs"]["values"].append(
            {"category": XSS, "type": h[1], "level": h[2], "message": XSS, "data": {XSS: h[5]}, XSS: h[1]}
        )
        event["request"] = {"method": XSS, "url": h[3], "headers": {XSS: XSS}, XSS: XSS}
        event["user"] = {XSS: XSS}
        event["tags"] = [[XSS, XSS], [h[1], h[2]]]
        event["contexts"][XSS] = {XSS: XSS}
        event["contexts"]["trace"]["trace_id"] = XSS
        event["extra"] = {XSS: {"nested": XSS}}
        event["sdk"] = {"name": XSS, "version": h[1]}
        event[XSS] = XSS  # an unknown top-level key
        event["_meta"][XSS] = {"": {"rem": [[XSS, h[1], 0, 3]], "len": 10}}
        event["_meta"]["user"] = {XSS: {"": {"rem": [[h[2], "x"]]}}}
        return event

    def test_every_string_from_the_event_is_escaped(self, console: Console) -> None:
        """Exception, frames, variables, breadcrumbs, request, tags, contexts, _meta: all text."""
        row = console.row_id(console.send(self.hostile_event()))
        for path in ("/", f"/event/{row}"):
            page = console.get(path).text
            assert "&lt;img src=x onerror=alert(1)&gt;" in page
            for raw in ("<img", "<svg", "<style", "<textarea", "</script><script>", 'href="javascript'):
                assert raw not in page, (path, raw)
            assert page.count("<script") == 1 and '<script src="/static/console.js" defer></script>' in page
            parsed = Markup.parse(page)
            assert not [a for a in parsed.attributes if a.startswith("on")]  # no event handler attribute
            assert not [v for v in parsed.urls if not v.startswith(("/", "#"))]  # links are the console's own
            tags = parsed.tags
            allowed = {"html", "head", "meta", "title", "link", "script", "body", "header", "a", "span", "dl", "div"}
            allowed |= {"dt", "dd", "main", "form", "label", "select", "option", "input", "button", "table", "thead"}
            allowed |= {"tbody", "tr", "th", "td", "time", "footer", "p", "h1", "h2", "h3", "h4", "code", "section"}
            allowed |= {"details", "summary", "ol", "li", "mark", "pre", "aside", "wbr", "nav"}
            assert tags <= allowed, tags - allowed
            assert " style=" not in page and "<style" not in page

    def test_poll_json_is_json_not_html(self, console: Console) -> None:
        console.send(self.hostile_event())
        response = console.get("/poll")
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.json()["rows"][0]["type"] == XSS  # data, for textContent in the browser

    def test_control_and_bidi_characters_are_shown_not_applied(self, console: Console) -> None:
        row = console.row_id(console.send(message_event("admin\u202e\u2066gnp.exe\x1b[31m\x00")))
        page = console.get(f"/event/{row}").text
        for ch in ("\u202e", "\u2066", "\x1b", "\x00"):
            assert ch not in page
        assert '<span class="ctl" title="control or bidi character">U+202E</span>' in page
        assert "U+001B" in page and "U+0000" in page

    def test_broken_meta_and_odd_shapes_still_render(self, console: Console) -> None:
        odd = {
            "level": "error",
            "exception": [{"type": 1, "value": None, "stacktrace": {"frames": [None, {"vars": [1, 2]}, "x"]}}],
            "breadcrumbs": [{"message": 5}, "nope", {"timestamp": "yesterday", "data": [1]}],
            "threads": {"values": [{"id": 1, "crashed": True, "stacktrace": {"frames": [frame("run", 1, True)]}}]},
            "tags": "not tags",
            "contexts": [1, 2],
            "request": "GET /",
            "user": None,
            "_meta": {
                "": {"rem": "nope"},
                "exception": {"0": {"value": {"": {"rem": [[None], [], ["r", "s", 50, 2], ["r", "s", -1, 3], 7]}}}},
                "threads": {"values": {"0": {"": {"rem": [["deep", "s"]], "len": "long"}}}},
                "user": {"x": {"": {"rem": [["gone", "x"]]}}},
            },
        }
        row = console.row_id(console.send(odd))
        assert console.get(f"/event/{row}").status_code == 200
        assert console.get("/").status_code == 200
        deep: Any = "bottom"
        for _ in range(300):
            deep = {"d": deep}
        row = console.row_id(console.send({"extra": {"deep": deep}, "message": "deep"}))
        assert console.get(f"/event/{row}").status_code == 200

    def test_thousands_of_remarks_render(self, console: Console) -> None:
        n = 3000
        extra = {f"k{i}": "[Filtered]" for i in range(n)}
        meta = {"extra": {f"k{i}": {"": {"rem": [["password-field", "s"]], "len": 8}} for i in range(n)}}
        row = console.row_id(console.send({"message": "many", "extra": extra, "_meta": meta}))
        page = console.get(f"/event/{row}").text
        assert page.count('<tr class="remark">') == n
        assert page.count('class="redacted"') == 500  # the entries shown (500 per object)
        assert console.get("/").text.count(f">{n}</td>") == 1

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        payload=st.dictionaries(
            st.sampled_from(["exception", "breadcrumbs", "request", "user", "tags", "contexts", "extra", "_meta", "x"]),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                lambda children: (
                    st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
                ),
                max_leaves=30,
            ),
            max_size=6,
        )
    )
    def test_any_json_event_renders(self, console: Console, payload: dict[str, Any]) -> None:
        """Whatever an application sends, the list and the event page answer 200 and escape it."""
        row = console.row_id(console.send(payload))
        page = console.get(f"/event/{row}")
        assert page.status_code == 200 and page.text.count("<script") == 1
        assert console.get("/").status_code == 200


# -- security: Host check, the key, headers ----------------------------------------------------

CONSOLE_PATHS = ["/", "/poll", "/event/1", "/event/1.json", "/event/1/download", "/static/console.js"]


class TestSecurity:
    @pytest.mark.parametrize("path", CONSOLE_PATHS)
    @pytest.mark.parametrize("host", ["evil.example", "evil.example:8030", "127.0.0.1.evil.example", "0.0.0.0"])
    def test_non_loopback_host_is_refused(self, console: Console, path: str, host: str) -> None:
        """DNS rebinding: a page on evil.example resolved to 127.0.0.1 gets 421 and no data."""
        console.send(checkout_event())
        response = console.get(path, headers={"Host": host})
        assert response.status_code == 421
        assert "PaymentDeclined" not in response.text and "Misdirected" in response.text
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

    @pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"])
    def test_loopback_names_are_served(self, console: Console, host: str) -> None:
        response = console.get("/", headers={"Host": host.format(port=console.receiver.port)})
        assert response.status_code == 200

    def test_missing_or_repeated_host_is_refused(self, console: Console) -> None:
        port = console.receiver.port
        assert raw_request(port, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 421 ")
        twice = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        assert raw_request(port, twice).startswith(b"HTTP/1.1 421 ")
        ok = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert raw_request(port, ok).startswith(b"HTTP/1.1 200 ")

    def test_ingest_keeps_working_whatever_the_host(self, console: Console) -> None:
        """The Host check is the console's: ingest is guarded by the key and stays as it was."""
        body = b'{"event_id":"' + uuid.uuid4().hex.encode() + b'"}\n{"type":"event"}\n{"message":"x"}\n'
        auth = {"X-Sentry-Auth": f"Sentry sentry_key={console.receiver.public_key}", "Host": "ingest.example"}
        assert console.client.post(f"{console.base}/api/1/envelope/", content=body, headers=auth).status_code == 200

    @pytest.mark.parametrize("path", CONSOLE_PATHS)
    def test_the_dsn_key_reads_nothing(self, console: Console, path: str) -> None:
        """A request carrying the DSN key gets no more than one without it: here, 403 and no data."""
        console.send(checkout_event())
        key = console.receiver.public_key
        attempts: list[dict[str, Any]] = [
            {"headers": {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"}},
            {"headers": {"Authorization": f"Sentry sentry_key={key}"}},
            {"headers": {"Authorization": f"Bearer {key}"}},
            {"headers": {"Cookie": f"key={key}"}},
            {"params": {"sentry_key": key}},
            {"params": {"key": key}},
        ]
        for attempt in attempts:
            response = console.get(path, **attempt)
            assert response.status_code == 403, attempt
            assert "PaymentDeclined" not in response.text and key not in response.text
            assert "write-only" in response.text
        assert console.get(path).status_code == 200  # without it, the local console answers

    @pytest.mark.parametrize("path", ["/api/1/envelope/", "/api/1/store/", "/api/1/events/", "/api/1/event/1"])
    def test_api_paths_stay_write_only_with_the_console_on(self, console: Console, path: str) -> None:
        console.send(checkout_event())
        key = console.receiver.public_key
        response = console.get(path, headers={"X-Sentry-Auth": f"Sentry sentry_key={key}"})
        assert response.status_code in (404, 405)
        assert "PaymentDeclined" not in response.text

    def test_the_key_never_appears_in_console_answers(self, console: Console) -> None:
        """Not even when the event carries it: the envelope header's trace.public_key is never
        shown, and the key inside event data is masked on the way out."""
        key = console.receiver.public_key
        event_id = uuid.uuid4().hex
        payload = json.dumps({"event_id": event_id, "message": f"dsn key is {key}", "extra": {key: key}}).encode()
        header = {"event_id": event_id, "trace": {"public_key": key, "trace_id": "a" * 32}}
        envelope = json.dumps(header).encode() + b"\n" + b'{"type":"event"}\n' + payload + b"\n"
        auth = {"X-Sentry-Auth": f"Sentry sentry_key={key}"}
        assert console.client.post(f"{console.base}/api/1/envelope/", content=envelope, headers=auth).status_code == 200
        for path in ["/", "/poll", "/event/1", "/event/1.json", "/event/1/download"]:
            response = console.get(path)
            assert response.status_code == 200
            assert key not in response.text, path
        assert "dsn key is [DSN key]" in console.get("/event/1").text

    @pytest.mark.parametrize("path", [*CONSOLE_PATHS, "/event/404", "/static/nope.js"])
    def test_security_headers_on_every_console_answer(self, console: Console, path: str) -> None:
        console.send(checkout_event())
        response = console.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        csp = response.headers["content-security-policy"]
        for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
            assert directive in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cross-origin-resource-policy"] == "same-origin"
        assert "access-control-allow-origin" not in response.headers

    def test_pages_need_no_inline_script_or_style(self, console: Console) -> None:
        row = console.row_id(console.send(checkout_event()))
        for path in ("/", f"/event/{row}"):
            page = console.get(path).text
            assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/console.js" defer>']
            assert "<style" not in page and " style=" not in page and " on" not in re.sub(r">[^<]*<", "><", page)
            assert '<link rel="stylesheet" href="/static/console.css">' in page

    def test_static_assets(self, console: Console) -> None:
        css = console.get("/static/console.css")
        js = console.get("/static/console.js")
        icon = console.get("/static/favicon.svg")
        assert css.headers["content-type"] == "text/css; charset=utf-8" and "mark.redacted" in css.text
        assert js.headers["content-type"] == "text/javascript; charset=utf-8" and "/poll?" in js.text
        assert icon.headers["content-type"] == "image/svg+xml" and "<script" not in icon.text
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
            assert sink not in js.text, sink  # the JS writes event data with textContent only
        assert "http://" not in js.text and "https://" not in js.text and "//cdn" not in css.text

    def test_cross_site_subresource_requests_are_refused(self, console: Console) -> None:
        console.send(checkout_event())
        cross = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}
        assert console.get("/poll", headers=cross).status_code == 403
        navigate = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        assert console.get("/", headers=navigate).status_code == 200
        same = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
        assert console.get("/poll", headers=same).status_code == 200

    def test_head_and_other_methods(self, console: Console) -> None:
        head = console.client.head(console.base + "/")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        for method in ("POST", "PUT", "DELETE"):
            response = console.client.request(method, console.base + "/")
            assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"

    def test_console_is_off_unless_asked_for(self) -> None:
        with Receiver() as receiver:
            assert receiver.console_url is None
            response = httpx.get(f"http://127.0.0.1:{receiver.port}/")
            assert response.status_code == 404 and response.headers["content-type"] == "application/json"


# -- python -m sdk_core serve ------------------------------------------------------------------


class LineReader:
    """Reads a subprocess's stdout on a thread so waits have deadlines."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def next(self, timeout: float = 20.0) -> str:
        return self.lines.get(timeout=timeout)


def start_serve(*args: str) -> tuple[subprocess.Popen[str], LineReader]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdk_core", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env, cwd=str(REPO_ROOT),
    )  # fmt: skip
    return proc, LineReader(proc.stdout)


def stop_serve(proc: subprocess.Popen[str]) -> int:
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]


class TestServe:
    def test_prints_dsn_then_console_and_serves_both(self, tmp_path: Path) -> None:
        proc, reader = start_serve("--port", "0", "--db", str(tmp_path / "e.db"))
        try:
            first, second = reader.next().rstrip("\n"), reader.next().rstrip("\n")
            assert re.fullmatch(r"DSN: http://[0-9a-f]{32}@127\.0\.0\.1:\d+/1", first), first
            port = httpx.URL(first[len("DSN: ") :]).port
            assert second == f"Console: http://127.0.0.1:{port}/"
            key = httpx.URL(first[len("DSN: ") :]).username
            body = b'{"event_id":"' + uuid.uuid4().hex.encode() + b'"}\n{"type":"event"}\n{"message":"from serve"}\n'
            auth = {"X-Sentry-Auth": f"Sentry sentry_key={key}"}
            assert httpx.post(f"http://127.0.0.1:{port}/api/1/envelope/", content=body, headers=auth).status_code == 200
            page = httpx.get(second[len("Console: ") :])
            assert page.status_code == 200 and "from serve" in page.text and key not in page.text
            assert httpx.get(second[len("Console: ") :], headers={"Host": "evil.example"}).status_code == 421
        finally:
            assert stop_serve(proc) == 0

    def test_no_console_flag(self, tmp_path: Path) -> None:
        proc, reader = start_serve("--port", "0", "--db", str(tmp_path / "e.db"), "--quiet", "--no-console")
        try:
            first = reader.next()
            port = httpx.URL(first[len("DSN: ") :].strip()).port
            assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
            with pytest.raises(queue.Empty):
                reader.next(timeout=0.5)
        finally:
            assert stop_serve(proc) == 0
