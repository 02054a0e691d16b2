"""Outgoing-HTTP breadcrumbs (httpx and http.client) against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import http.client
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import sdk_core
from integrations.httpx import HttpxIntegration
from integrations.stdlib import StdlibIntegration
from tests.support.loopback import LoopbackServer
from tests.support.sdk import init_with as _init


class _StatusHandler(BaseHTTPRequestHandler):
    """``GET /status/<code>`` answers with that status and a small body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        status = int(path.rsplit("/", 1)[-1]) if path.startswith("/status/") else 200
        body = f"status {status}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _http_crumbs() -> list[dict[str, Any]]:
    """The http breadcrumbs recorded so far, read from a real event."""
    transport = sdk_core.get_client().transport  # type: ignore[union-attr]
    transport.clear()
    sdk_core.capture_message("probe")
    assert sdk_core.flush(5.0)
    (event,) = transport.events
    crumbs = (event.get("breadcrumbs") or {}).get("values") or []
    return [c for c in crumbs if c.get("category") == "http"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestStdlibBreadcrumbs:
    def test_http_client_request_is_a_breadcrumb(self, server: str) -> None:
        """``http.client`` requests record method, URL and status under category ``http``."""
        _init(StdlibIntegration())
        port = int(server.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/status/201")
        response = conn.getresponse()
        assert (response.status, response.read()) == (201, b"status 201")
        conn.close()
        (crumb,) = _http_crumbs()
        assert crumb["type"] == "http"
        assert crumb["level"] == "info"
        assert crumb["data"] == {"method": "POST", "url": f"{server}/status/201", "status_code": 201}

    def test_query_values_never_reach_the_breadcrumb(self, server: str) -> None:
        """The URL loses its query and fragment; only the parameter names are kept."""
        _init(StdlibIntegration())
        with urllib.request.urlopen(f"{server}/status/200?token=s3cr3t-value&page=2", timeout=5) as response:
            assert response.read() == b"status 200"
        (crumb,) = _http_crumbs()
        assert crumb["data"]["url"] == f"{server}/status/200"
        assert crumb["data"]["http.query"] == "token&page"
        assert "s3cr3t" not in repr(crumb)

    def test_error_statuses_raise_the_level(self, server: str) -> None:
        """4xx is a warning breadcrumb, 5xx an error one."""
        _init(StdlibIntegration())
        port = int(server.rsplit(":", 1)[1])
        for status in (404, 503):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", f"/status/{status}")
            conn.getresponse().read()
            conn.close()
        assert [(c["data"]["status_code"], c["level"]) for c in _http_crumbs()] == [(404, "warning"), (503, "error")]

    def test_uninstall_restores_http_connection(self) -> None:
        """Closing the SDK puts ``putrequest`` and ``getresponse`` back."""
        originals = {n: http.client.HTTPConnection.__dict__[n] for n in ("putrequest", "getresponse")}
        _init(StdlibIntegration())
        assert all(http.client.HTTPConnection.__dict__[n] is not f for n, f in originals.items())
        sdk_core.close(1.0)
        assert all(http.client.HTTPConnection.__dict__[n] is f for n, f in originals.items())

    def test_setup_once_twice_records_once(self, server: str) -> None:
        """A second ``setup_once`` does not wrap twice: one request, one breadcrumb."""
        integration = StdlibIntegration()
        _init(integration)
        integration.setup_once()
        with urllib.request.urlopen(f"{server}/status/200", timeout=5) as response:
            response.read()
        assert len(_http_crumbs()) == 1


class TestHttpxBreadcrumbs:
    def test_sync_client_request_is_a_breadcrumb(self, server: str) -> None:
        """``httpx.Client`` requests record method, URL and status; the response is untouched."""
        _init(HttpxIntegration())
        with httpx.Client() as client:
            response = client.get(f"{server}/status/404", params={"q": "private words"})
        assert (response.status_code, response.text) == (404, "status 404")
        (crumb,) = _http_crumbs()
        assert crumb["level"] == "warning"
        assert crumb["data"] == {
            "method": "GET",
            "url": f"{server}/status/404",
            "http.query": "q",
            "status_code": 404,
        }

    def test_async_client_request_is_a_breadcrumb(self, server: str) -> None:
        """``httpx.AsyncClient`` requests are recorded the same way."""
        _init(HttpxIntegration())

        async def fetch() -> int:
            async with httpx.AsyncClient() as client:
                response = await client.post(f"{server}/status/500", json={"a": 1})
                return response.status_code

        assert asyncio.run(fetch()) == 500
        (crumb,) = _http_crumbs()
        assert crumb["level"] == "error"
        assert crumb["data"]["method"] == "POST"
        assert crumb["data"]["status_code"] == 500

    def test_failed_request_records_the_error_and_still_raises(self) -> None:
        """A request that cannot connect is an error breadcrumb and the exception reaches the caller."""
        _init(HttpxIntegration())
        url = f"http://127.0.0.1:{_free_port()}/nothing-here"
        with httpx.Client() as client, pytest.raises(httpx.ConnectError):
            client.get(url)
        (crumb,) = _http_crumbs()
        assert crumb["level"] == "error"
        assert crumb["data"] == {"method": "GET", "url": url, "reason": "ConnectError"}

    def test_uninstall_restores_send(self) -> None:
        """Closing the SDK puts ``Client.send`` and ``AsyncClient.send`` back."""
        originals = (httpx.Client.__dict__["send"], httpx.AsyncClient.__dict__["send"])
        _init(HttpxIntegration())
        assert httpx.Client.__dict__["send"] is not originals[0]
        assert httpx.AsyncClient.__dict__["send"] is not originals[1]
        sdk_core.close(1.0)
        assert httpx.Client.__dict__["send"] is originals[0]
        assert httpx.AsyncClient.__dict__["send"] is originals[1]

    def test_setup_once_twice_records_once(self, server: str) -> None:
        """A second ``setup_once`` does not wrap twice."""
        integration = HttpxIntegration()
        _init(integration)
        integration.setup_once()
        httpx.get(f"{server}/status/200")
        assert len(_http_crumbs()) == 1


class TestSdkOwnRequests:
    def test_sdk_uploads_leave_no_breadcrumbs(self, server: str) -> None:
        """With a real DSN, the SDK's own uploads (httpx, on its worker) are not recorded."""
        with LoopbackServer() as ingest:
            sdk_core.init(
                ingest.dsn(), default_integrations=False, integrations=[HttpxIntegration(), StdlibIntegration()]
            )
            sdk_core.capture_message("first upload")
            assert sdk_core.flush(5.0)
            httpx.get(f"{server}/status/204")
            sdk_core.capture_message("second upload")
            assert sdk_core.flush(5.0)
            assert ingest.wait_for(lambda: len(ingest.events) == 2)
            second = ingest.events[1]
        crumbs = (second.get("breadcrumbs") or {}).get("values") or []
        assert [c["data"]["url"] for c in crumbs if c.get("category") == "http"] == [f"{server}/status/204"]
