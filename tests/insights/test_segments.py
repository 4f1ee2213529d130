"""Nightly segments: lifecycle snapshot and moves, personas written on the customer summary."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from insights import selectors, services, tasks
from insights.models import PersonaDaily, StageFlow
from insights.scope import Period, Scope
from profiles.models import CustomerSummary
from tests.insights.conftest import at, touch

pytestmark = pytest.mark.django_db
PARIS = Scope(("PAR01",), "Paris")
NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)


def _summary(customer):
    return CustomerSummary.objects.get_or_create(customer=customer)[0]


@time_machine.travel(NOW, tick=False)
def test_each_customer_gets_the_first_persona_whose_rule_she_matches(store, make_customer):
    regular, drifting, newcomer, browser, dormant = (make_customer(home_store_code="PAR01") for _ in range(5))
    for c in (regular, drifting, newcomer, browser, dormant):
        _summary(c)
    for month in (1, 2, 3, 5):  # 4 orders in the year, the last 2 weeks ago
        touch(regular, "purchased", at(f"2026-0{month}-15"), channel="store", store="PAR01", revenue="80")
    touch(drifting, "purchased", at("2025-06-01"), channel="web", revenue="50")
    touch(drifting, "purchased", at("2025-09-01"), channel="web", revenue="50")
    touch(newcomer, "purchased", at("2026-05-10"), channel="store", store="PAR01", revenue="30")
    touch(browser, "product_viewed", at("2026-05-20"))
    touch(dormant, "product_viewed", at("2024-01-01"))
    services.touchpoint_rollups_refresh()

    tasks.nightly_segments.apply()

    personas = dict(CustomerSummary.objects.values_list("customer_id", "persona"))
    assert personas == {
        regular.pk: "loyal_regular",
        drifting.pk: "drifting_repeat",
        newcomer.pk: "newcomer",
        browser.pk: "window_shopper",
        dormant.pk: "dormant",
    }
    assert CustomerSummary.objects.get(customer=regular).persona_name == "Loyal regulars"
    summary = selectors.personas_summary(PARIS, Period(dt.date(2026, 5, 1), dt.date(2026, 6, 1)))
    sizes = {p["persona"].code: p["customers"] for p in summary["personas"]}
    assert sizes["loyal_regular"] == 1 and sizes["dormant"] == 1 and summary["total"] == 5
    assert PersonaDaily.objects.filter(day=dt.date(2026, 6, 1)).count() == 5


def test_the_nightly_snapshot_counts_stages_and_the_moves_between_them(store, make_customer):
    anna = make_customer(home_store_code="PAR01", lifecycle="new")
    make_customer(home_store_code="PAR01", lifecycle="lapsed", tier="platinum")
    services.lifecycle_snapshot_take(day=dt.date(2026, 3, 1))
    anna.lifecycle = "repeat"
    anna.save()
    services.lifecycle_snapshot_take(day=dt.date(2026, 3, 2))

    moves = list(StageFlow.objects.exclude(from_stage="").values_list("day", "from_stage", "to_stage", "customers"))
    assert moves == [(dt.date(2026, 3, 2), "new", "repeat", 1)]
    summary = selectors.lifecycle_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    stages = {s["stage"]: s["customers"] for s in summary["stages"]}
    assert stages == {"prospect": 0, "new": 0, "repeat": 1, "loyal": 0, "lapsed": 1}
    assert summary["lapsed_vips"] == 1
    assert summary["as_of"] == dt.date(2026, 3, 2)


def test_the_touchpoint_refresh_task_folds_each_touchpoint_in_once(store, customer):
    touch(customer, "store_visit", at("2026-03-10"), channel="store", store="PAR01")
    tasks.refresh_touchpoint_rollups.apply()
    tasks.refresh_touchpoint_rollups.apply()
    summary = selectors.moments_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert next(m for m in summary["funnel"] if m["moment"] == "store_visit")["touchpoints"] == 1


def test_a_fresh_install_with_data_gets_its_personas_without_waiting_for_the_night(store, customer):
    from clienteling.celery import app

    _summary(customer)
    touch(customer, "product_viewed", at("2026-03-10"))
    app.conf.task_always_eager = True  # unit test of one task: the follow-up task runs inline
    try:
        tasks.refresh_touchpoint_rollups.apply()
    finally:
        app.conf.task_always_eager = False
    assert PersonaDaily.objects.exists()
    assert CustomerSummary.objects.get(customer=customer).persona != ""
