"""The console's traces pages in a real browser (headless Chromium, as in test_console_browser.py):
a traced request with spans and an error, sent through the public SDK API to a real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sdk_core
from sdk_core.devserver import Receiver, credential_scrub
from tests.e2e import test_console_browser as _browser_tests
from tests.support.otel import global_provider

XSS = _browser_tests.XSS
browser = _browser_tests.browser  # the module's fixtures, shared
watched = _browser_tests.watched


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with global_provider(None), Receiver(scrub=credential_scrub(), console=True) as r:
        yield r


def send_trace(dsn: str) -> str:
    sdk_core.init(dsn, default_integrations=False, traces_sample_rate=1.0, release="shop@2.0.0")
    try:
        with sdk_core.start_span(op="http.server", name=f"checkout {XSS}") as root:
            with sdk_core.start_span(op="db", name="load cart", description="SELECT * FROM carts WHERE id = %s"):
                pass
            with sdk_core.start_span(op="http.client", name="charge", description="POST https://pay.example/charge"):
                try:
                    raise RuntimeError("card declined")
                except RuntimeError:
                    sdk_core.capture_exception()
        assert sdk_core.flush(10), "the SDK did not deliver"
        return f"{root.get_span_context().trace_id:032x}"
    finally:
        sdk_core.close()


def test_traces_list_trace_waterfall_and_the_error_links_to_its_trace(receiver: Receiver, watched: Any) -> None:
    from playwright.sync_api import expect

    trace_id = send_trace(receiver.dsn)
    page = watched.page
    assert receiver.console_url is not None
    page.goto(receiver.console_url + "traces")
    row = page.locator("#traces tbody tr").first
    expect(row).to_contain_text(f"checkout {XSS}")
    expect(row).to_contain_text(trace_id)
    row.locator("a").first.click()
    expect(page).to_have_url(receiver.console_url + f"trace/{trace_id}")
    spans = page.locator("tr.span-row")
    expect(spans).to_have_count(3)
    expect(spans.nth(0)).to_contain_text("http.server")
    expect(page.locator("table.spans")).to_contain_text("SELECT * FROM carts WHERE id = %s")
    expect(page.locator("table.spans")).to_contain_text("POST https://pay.example/charge")
    assert page.locator("svg.bar rect").count() == 3
    widths = [float(w) for w in page.locator("svg.bar rect").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")]
    assert widths[0] == pytest.approx(1000.0, abs=1.0)  # the root spans the whole trace
    errors = page.locator("#trace-errors li")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("card declined")
    errors.locator("a").click()
    expect(page.locator("#trace-link")).to_be_visible()
    page.locator("#trace-link").click()
    expect(page).to_have_url(receiver.console_url + f"trace/{trace_id}")
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed, script:not([src])').length") == 0
    assert watched.dialogs == [] and watched.errors == []


# -- docs/console-trace.png ---------------------------------------------------------------------


def update_docs_screenshot() -> None:
    """A traced Flask request (ORM-like spans, an outgoing call, a captured error) photographed."""
    from pathlib import Path

    from flask import Flask
    from playwright.sync_api import sync_playwright

    from integrations.flask import FlaskIntegration

    out = Path(__file__).resolve().parents[2] / "docs" / "console-trace.png"
    with global_provider(None), Receiver(scrub=credential_scrub(), console=True) as r:
        sdk_core.init(r.dsn, default_integrations=False, integrations=[FlaskIntegration()], traces_sample_rate=1.0)
        app = Flask("shop")

        @app.post("/orders/<int:order_id>/pay")
        def pay(order_id: int) -> str:
            import time

            with sdk_core.start_span(op="db", description="SELECT * FROM orders WHERE id = %s"):
                time.sleep(0.004)
            with sdk_core.start_span(op="db", description="SELECT * FROM order_lines WHERE order_id = %s"):
                time.sleep(0.006)
            with sdk_core.start_span(op="http.client", description="POST https://payments.example/charge"):
                time.sleep(0.02)
                try:
                    raise RuntimeError("card declined")
                except RuntimeError:
                    sdk_core.capture_exception()
            with sdk_core.start_span(op="db", description="UPDATE orders SET status = %s WHERE id = %s"):
                time.sleep(0.003)
            return "ok"

        app.test_client().post("/orders/17/pay").close()
        assert sdk_core.flush(10)
        sdk_core.close()
        (tx,) = r.transactions()
        assert r.console_url is not None
        with sync_playwright() as playwright:
            chromium = _browser_tests.launch(playwright)
            try:
                page = chromium.new_page(viewport={"width": 1360, "height": 640})
                page.goto(r.console_url + f"trace/{tx['trace_id']}")
                page.locator("tr.span-row").first.wait_for(timeout=_browser_tests.WAIT_MS)
                page.screenshot(path=str(out), full_page=True)
            finally:
                chromium.close()


if __name__ == "__main__":
    import sys

    if "--docs" in sys.argv:
        update_docs_screenshot()
