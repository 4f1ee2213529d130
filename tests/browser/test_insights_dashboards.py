"""Manager dashboards in a real Chromium: charts drawn under the strict CSP, tables behind them, print.

With INSIGHTS_SCREENSHOTS=1 the pages are saved to docs/screenshots/insights-*.png at both tablet widths.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from tests.browser.conftest import SCREENSHOTS, TABLET, TABLET_WIDE, sign_in
from tests.factories import PASSWORD
from tests.insights import demo

pytestmark = pytest.mark.browser

PAGES = {
    "sentiment": "/insights/sentiment/",
    "customers": "/insights/customers/",
    "moments": "/insights/moments/",
    "personas": "/insights/personas/",
}


@pytest.fixture
def world(transactional_db):
    return demo.build(customers=400, weeks=26, seed=7)


def test_each_dashboard_draws_its_charts_under_the_csp(new_page, live_server, world):
    save = os.environ.get("INSIGHTS_SCREENSHOTS") == "1"
    for label, viewport in (("desktop", TABLET_WIDE), ("tablet", TABLET)):
        page = new_page(viewport)
        sign_in(page, live_server, "camille", PASSWORD)
        page.goto(f"{live_server.url}/insights/")  # leave the floor: its live stream logs as it closes
        page.console_errors.clear()
        for name, path in PAGES.items():
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("load")
            canvases = page.locator("canvas[data-chart]")
            assert canvases.count() >= 1, name
            drawn = page.evaluate(
                "() => [...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart.getChart(c))"
            )
            assert drawn, f"{name}: a chart was not drawn"
            assert "New York" not in page.content()  # her stores only
            if save:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"insights-{name}-{label}.png"), full_page=True)
        assert page.console_errors == [], page.console_errors  # a CSP violation is a console error


def test_a_number_leads_to_the_customers_behind_it(new_page, live_server, world):
    page = new_page(TABLET)
    sign_in(page, live_server, "camille", PASSWORD)
    page.goto(f"{live_server.url}/insights/customers/")
    rate = page.locator(".kpi-hero .kpi-sub").inner_text()
    repeaters = int(rate.split(" of ")[0])
    page.locator(".kpi-hero .kpi-value a").click()
    page.wait_for_url("**/insights/customers/list/**")
    assert f"{repeaters} customer" in page.locator("main").inner_text()


def test_printing_opens_the_tables_behind_the_charts(new_page, live_server, world):
    page = new_page(TABLET)
    sign_in(page, live_server, "camille", PASSWORD)
    page.goto(f"{live_server.url}/insights/sentiment/")
    assert not page.locator("details.chart-table").first.evaluate("d => d.open")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.chart-table").first.evaluate("d => d.open")
    page.emulate_media(media="print")
    assert not page.locator(".filters").is_visible()


@pytest.mark.worker
@pytest.mark.xdist_group("worker")
def test_figures_counted_by_the_worker_replace_the_counting_placeholder(new_page, live_server, world, monkeypatch):
    from insights import selectors
    from insights.tasks import count_repeat_figures
    from tests.workers import celery_worker

    monkeypatch.setattr(selectors, "LIVE_STORE_DAYS", 0)  # as if her stores were a chain's 50
    with celery_worker() as (_, queue):
        monkeypatch.setattr(
            count_repeat_figures, "delay", lambda *args: count_repeat_figures.apply_async(args, queue=queue)
        )
        page = new_page(TABLET)
        sign_in(page, live_server, "camille", PASSWORD)
        end = timezone.localdate() - dt.timedelta(days=1)  # not a preset: no stored figures
        page.goto(f"{live_server.url}/insights/customers/?start={end - dt.timedelta(days=69)}&end={end}&window=60")
        page.console_errors.clear()
        assert page.locator("#repeat[aria-busy=true] .kpi-pending").count() == 3
        if os.environ.get("INSIGHTS_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "insights-customers-counting-tablet.png"))
        page.wait_for_selector("#repeat:not([aria-busy]) .kpi-hero .kpi-value a", timeout=30_000)
    assert "purchasers bought again within 60 days" in page.locator(".kpi-hero .kpi-sub").inner_text()
    assert page.evaluate("() => !!window.Chart.getChart(document.querySelector('#repeat canvas[data-chart]'))")
    assert page.console_errors == [], page.console_errors
