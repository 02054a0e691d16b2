"""The receiver console in a real browser: headless Chromium (Debian's, at /usr/bin/chromium)
driven by Playwright's Python package. Events go through the public SDK API to a real receiver.

Never skipped: without Chromium this fails and says to run ``.ci/ensure-chromium``.

``python tests/e2e/test_console_browser.py --docs`` regenerates ``docs/console-list.png`` and
``docs/console-event.png`` from a run of ``examples/demo.py --keep-serving``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sdk_core
from sdk_core.devserver import Receiver, credential_scrub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these Chromium tries to reach Google at start
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "hunter2-correct-horse"
CARD = "4111 1111 1111 1111"
WAIT_MS = 15_000  # every browser wait is bounded by this


class PaymentDeclined(Exception):
    pass


def launch(playwright: Any) -> Any:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: the console's browser tests need Debian's chromium. "
            "Run .ci/ensure-chromium (apt-get install -y chromium) and try again.",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page plus everything that must not happen on it: dialogs, script errors, CSP reports."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1360, "height": 900})
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def no_injected_markup(self) -> None:
        assert self.page.evaluate("document.querySelectorAll('img, iframe, object, embed, svg').length") == 0
        handlers = self.page.evaluate(
            "Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes))"
            ".map(a => a.name).filter(n => n.startsWith('on'))"
        )
        assert handlers == []

    def close(self) -> None:
        self.context.close()


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


def pay(card_number: str) -> None:
    password = PASSWORD  # captured as a frame local, like amount_cents
    amount_cents = 4999
    raise PaymentDeclined(f"declined for {amount_cents} cents")


def checkout(form: dict[str, str]) -> None:
    pay(form["card"])


def send_events(dsn: str) -> None:
    """Through the public API: the XSS message first, then a failure with secrets in its locals."""
    sdk_core.init(dsn, default_integrations=False, release="shop@2.0.0", environment="browser-test")
    try:
        sdk_core.add_breadcrumb(category="auth", message="user logged in", data={"password": PASSWORD})
        sdk_core.add_breadcrumb(category="http", message="POST /checkout")
        try:
            raise ValueError(XSS)
        except ValueError:
            sdk_core.capture_exception()
        with sdk_core.isolation_scope() as scope:
            scope.set_transaction_name("/checkout")
            try:
                checkout({"card": CARD, "password": PASSWORD})
            except PaymentDeclined:
                sdk_core.capture_exception()
        assert sdk_core.flush(10), "the SDK did not deliver the events"
    finally:
        sdk_core.close()


def test_events_arrive_live_and_the_event_page_shows_frames_crumbs_and_privacy(
    receiver: Receiver, watched: Watched, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = watched.page
    url = receiver.console_url
    assert url is not None
    page.goto(url)
    expect(page.locator("tr.empty")).to_contain_text("No events yet")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    send_events(receiver.dsn)

    rows = page.locator("tbody tr.ev")
    expect(rows).to_have_count(2, timeout=WAIT_MS)  # appended by polling, no reload
    assert page.evaluate("window.__sameDocument === true"), "the list reloaded instead of updating"
    expect(page.locator("#sum-events")).to_have_text("2")
    expect(rows.nth(0)).to_contain_text("PaymentDeclined")  # newest first
    expect(rows.nth(0)).to_contain_text("/checkout")
    expect(rows.nth(1).locator(".evalue")).to_have_text(XSS)  # the payload, as text
    expect(rows.nth(1)).to_contain_text("shop@2.0.0")
    expect(rows.nth(1)).to_contain_text("browser-test")
    watched.no_injected_markup()
    page.screenshot(path=str(tmp_path / "console-list.png"))

    rows.nth(0).locator("a.title").click()
    page.wait_for_url("**/event/*")
    expect(page.locator("#event-title")).to_contain_text("PaymentDeclined")
    # frames: in-app ones expanded, with source context and local variables
    pay_frame = page.locator("details.frame.in-app", has=page.locator(".fn", has_text="pay"))
    expect(pay_frame).to_be_visible()
    expect(pay_frame.locator("tr.current")).to_contain_text("raise PaymentDeclined")
    expect(pay_frame.locator(".vars")).to_contain_text("amount_cents")
    expect(page.locator("details.frame.in-app .fn", has_text="checkout")).to_be_visible()
    password_var = pay_frame.locator(".vars tr", has=page.locator("th", has_text="password"))
    expect(password_var.locator("mark.redacted")).to_have_text("[Filtered]")
    # breadcrumbs as a timeline
    crumbs = page.locator("#breadcrumbs li.crumb")
    expect(crumbs).to_have_count(2)
    expect(crumbs.nth(0)).to_contain_text("user logged in")
    expect(crumbs.nth(1)).to_contain_text("POST /checkout")
    # the Privacy panel lists the remarks and links each to its highlighted spot
    panel = page.locator("#privacy")
    expect(panel).to_be_visible()
    remarks = panel.locator("tr.remark")
    expect(remarks.filter(has_text="password-field").first).to_be_visible()
    expect(remarks.filter(has_text="credit-card").first).to_be_visible()
    assert remarks.count() >= 3
    link = remarks.filter(has_text="vars.password").first.locator("a")
    anchor = link.get_attribute("href")
    assert anchor is not None and anchor.startswith("#r")
    link.click()
    target = page.locator(anchor)
    expect(target).to_be_in_viewport()
    expect(target).to_have_text("[Filtered]")
    assert page.evaluate("location.hash") == anchor
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "console-event.png"), full_page=True)
    content = page.content()
    assert PASSWORD not in content and CARD not in content

    page.goto(url)
    page.locator("tbody tr.ev").nth(1).locator("a.title").click()
    page.wait_for_url("**/event/*")
    expect(page.locator("#event-title .evalue")).to_have_text(XSS)
    expect(page.locator(".exception .evalue").first).to_have_text(XSS)
    watched.no_injected_markup()
    page.screenshot(path=str(tmp_path / "console-xss-event.png"), full_page=True)

    assert watched.dialogs == [], "the XSS payload ran"
    assert watched.errors == [], watched.errors  # no script errors, no CSP violations
    for name in ("console-list.png", "console-event.png", "console-xss-event.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_level_filter_and_raw_json(receiver: Receiver, watched: Watched) -> None:
    from playwright.sync_api import expect

    sdk_core.init(receiver.dsn, default_integrations=False)
    try:
        sdk_core.capture_message("disk almost full", level="warning")
        sdk_core.capture_message("user signed up", level="info")
        assert sdk_core.flush(10)
    finally:
        sdk_core.close()
    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url)
    expect(page.locator("tbody tr.ev")).to_have_count(2)
    page.select_option("#f-level", "warning")  # submits the filter form by itself
    page.wait_for_url("**/?level=warning*")
    expect(page.locator("tbody tr.ev")).to_have_count(1)
    expect(page.locator("tbody tr.ev")).to_contain_text("disk almost full")
    page.fill("#f-q", "nothing matches this")
    page.press("#f-q", "Enter")
    page.wait_for_url("**q=nothing*")
    expect(page.locator("tr.empty")).to_contain_text("No events match")
    page.goto(receiver.console_url + "event/1")
    page.locator("#raw summary").click()
    expect(page.locator("#raw-json")).to_contain_text('"level": "warning"')
    with page.expect_download() as download:
        page.locator("#download").click()
    assert download.value.suggested_filename.startswith("event-") and download.value.suggested_filename.endswith(
        ".json"
    )
    assert watched.dialogs == [] and watched.errors == [], watched.errors


# -- docs/console-*.png -------------------------------------------------------------------------


def update_docs_screenshots(out_dir: Path = REPO_ROOT / "docs") -> None:
    """Run the README demo with --keep-serving and photograph its console."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    demo = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "examples" / "demo.py"), "--keep-serving"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(REPO_ROOT),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout or []], daemon=True).start()
    try:
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            url = line[len("Console: ") :].strip() if line.startswith("Console: ") else ""
        if not url:
            raise RuntimeError("the demo printed no Console: line within 60 s")
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            try:
                page = chromium.new_page(viewport={"width": 1360, "height": 300})
                page.goto(url)
                page.locator("tbody tr.ev").first.wait_for(timeout=WAIT_MS)
                page.screenshot(path=str(out_dir / "console-list.png"), full_page=True)  # just the content
                page.set_viewport_size({"width": 1360, "height": 1300})
                page.locator("tbody tr.ev", has_text="PaymentDeclined").locator("a.title").click()
                page.wait_for_url("**/event/*")
                page.screenshot(path=str(out_dir / "console-event.png"))
            finally:
                chromium.close()
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()


if __name__ == "__main__":
    if sys.argv[1:] != ["--docs"]:
        sys.exit("usage: python tests/e2e/test_console_browser.py --docs")
    update_docs_screenshots()
