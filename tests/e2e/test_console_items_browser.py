"""The console's Logs, Monitors and Releases pages, the trace page and event attachments, in headless
Chromium (as ``test_console_browser.py``), fed through the public SDK API to a real receiver."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client as WsgiClient

import sdk_core
from integrations.wsgi import WsgiMiddleware
from sdk_core.devserver import Receiver, credential_scrub
from tests.e2e.test_console_browser import WAIT_MS, XSS, Watched, launch

CARD = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(scrub=credential_scrub(), console=True) as r:
        yield r


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("shop.checkout")
    log.setLevel(logging.DEBUG)
    yield log
    log.setLevel(logging.NOTSET)


def test_logs_page_filters_and_links_to_the_trace_and_its_events(
    receiver: Receiver, watched: Watched, app_logger: logging.Logger, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    sdk_core.init(receiver.dsn, enable_logs=True, logs_level="debug")
    with sdk_core.isolation_scope():
        app_logger.info("cart has %d items", 3)
        app_logger.warning("payment retry for card %s", CARD)
        try:
            raise ValueError("declined")
        except ValueError:
            sdk_core.capture_exception()
    app_logger.error(XSS)  # another trace
    assert sdk_core.flush(10)
    sdk_core.close()

    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url + "logs")
    rows = page.locator("#logs tbody tr.log")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator(".logbody")).to_have_text(XSS)  # newest first, shown as text
    expect(rows.nth(1)).to_contain_text("payment retry for card [Filtered]")
    expect(rows.nth(1)).to_contain_text("shop.checkout")
    watched.no_injected_markup()
    page.screenshot(path=str(tmp_path / "console-logs.png"), full_page=True)

    page.select_option("#f-level", "warn")  # submits by itself, like the event list
    page.wait_for_url("**/logs?level=warn*")
    expect(rows).to_have_count(1)
    page.goto(receiver.console_url + "logs")
    page.fill("#f-q", "cart has")
    page.press("#f-q", "Enter")
    page.wait_for_url("**q=cart*")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cart has 3 items")

    rows.first.locator("a.trace").click()
    page.wait_for_url("**/trace/*")
    expect(page.locator("#logs tbody tr.log")).to_have_count(2)  # both logs of the request
    events = page.locator("#trace-errors li")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("declined")
    events.first.locator("a").click()
    page.wait_for_url("**/event/*")
    expect(page.locator("#event-title")).to_contain_text("ValueError")
    assert CARD not in page.content()
    assert watched.dialogs == [] and watched.errors == [], watched.errors


def test_monitors_page_shows_runs_and_highlights_missed_ones(receiver: Receiver, watched: Watched) -> None:
    from playwright.sync_api import expect

    sdk_core.init(receiver.dsn)

    @sdk_core.monitor("nightly-report", monitor_config={"schedule": {"type": "crontab", "value": "0 3 * * *"}})
    def report(fail: bool) -> None:
        if fail:
            raise RuntimeError("no data")

    report(False)
    with pytest.raises(RuntimeError):
        report(True)
    sdk_core.capture_checkin("backup", status="in_progress")  # started, never finished
    assert sdk_core.flush(10)
    sdk_core.close()

    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url)
    page.locator("#sections a", has_text="Monitors").click()
    page.wait_for_url("**/monitors")
    nightly = page.locator("section.monitor[data-slug='nightly-report']")
    expect(nightly.locator("h2")).to_contain_text("crontab: 0 3 * * *")
    statuses = nightly.locator("tr.checkin .status")
    expect(statuses).to_have_text(["error", "in_progress", "ok", "in_progress"])  # newest first
    expect(nightly.locator("tr.checkin.missed")).to_have_count(1)  # the error run
    expect(nightly.locator("tr.checkin").first.locator("td.num")).to_contain_text("ms")
    backup = page.locator("section.monitor[data-slug='backup']")
    expect(backup.locator("tr.checkin.missed .status")).to_have_text("missed (no final check-in)")
    assert watched.dialogs == [] and watched.errors == [], watched.errors


def test_releases_page_shows_crash_free_rate(receiver: Receiver, watched: Watched) -> None:
    from playwright.sync_api import expect

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/crash":
            raise RuntimeError("crash")
        start_response("200 OK", [])
        return [b"ok"]

    sdk_core.init(receiver.dsn, release="shop@4.0", environment="prod", default_integrations=False)
    client = WsgiClient(WsgiMiddleware(app))
    for path in ("/", "/", "/", "/crash"):
        try:
            client.get(path)
        except RuntimeError:
            pass
    sdk_core.close()

    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url + "releases")
    row = page.locator("#releases tr.release[data-release='shop@4.0']")
    expect(row.locator("td.crashfree")).to_have_text("75.00%")
    expect(row).to_contain_text("prod")
    expect(row.locator("td.num").nth(1)).to_have_text("4")  # sessions
    expect(row.locator("td.num").nth(3)).to_have_text("1")  # crashed
    assert watched.dialogs == [] and watched.errors == [], watched.errors


def test_event_page_lists_and_downloads_its_attachments(receiver: Receiver, watched: Watched) -> None:
    from playwright.sync_api import expect

    sdk_core.init(receiver.dsn, default_integrations=False)
    files = [
        sdk_core.Attachment(bytes=f"card {CARD}\n", filename="checkout.log"),
        sdk_core.Attachment(bytes=b"<script>alert(1)</script>", filename="page.html", content_type="text/html"),
    ]
    sdk_core.capture_message("with files", attachments=files)
    assert sdk_core.flush(10)
    sdk_core.close()

    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url + "event/1")
    links = page.locator("#attachments li a")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_have_text("checkout.log")
    expect(page.locator("#attachments")).to_contain_text("text/plain")
    with page.expect_download(timeout=WAIT_MS) as download:
        links.nth(1).click()  # an HTML attachment is downloaded, never rendered by the console
    assert download.value.suggested_filename == "page.html"
    with page.expect_download(timeout=WAIT_MS) as download:
        links.nth(0).click()
    path = download.value.path()
    content = Path(path).read_bytes()
    assert CARD.encode() not in content and b"[Filtered]" in content
    assert watched.dialogs == [] and watched.errors == [], watched.errors


# -- docs/console-logs.png, docs/console-monitors.png ---------------------------------------------


def update_docs_screenshots(out_dir: Path = Path(__file__).resolve().parents[2] / "docs") -> None:
    """Fill a receiver through the public API and photograph the Logs and Monitors pages."""
    from playwright.sync_api import sync_playwright

    with Receiver(console=True) as receiver:
        log = logging.getLogger("shop.checkout")
        log.setLevel(logging.INFO)
        sdk_core.init(receiver.dsn, enable_logs=True, release="shop@2.0.0", default_integrations=True)
        with sdk_core.isolation_scope():
            log.info("cart %s has %d items", "c-1842", 3)
            log.warning("payment provider slow: %d ms", 1840)
            log.error("charge declined for card %s", CARD)

        @sdk_core.monitor("nightly-report", monitor_config={"schedule": {"type": "crontab", "value": "0 3 * * *"}})
        def report(fail: bool) -> None:
            if fail:
                raise RuntimeError("no data")

        report(False)
        try:
            report(True)
        except RuntimeError:
            pass
        sdk_core.capture_checkin("backup", status="in_progress")
        sdk_core.close()
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            try:
                page = chromium.new_page(viewport={"width": 1360, "height": 300})
                for name in ("logs", "monitors"):
                    page.goto(f"{receiver.console_url}{name}")
                    page.screenshot(path=str(out_dir / f"console-{name}.png"), full_page=True)
            finally:
                chromium.close()


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--docs"]:
        sys.exit("usage: python tests/e2e/test_console_items_browser.py --docs")
    update_docs_screenshots()
