"""Stored repeat-customer figures: always the live count's numbers, kept exact by the refresh, never stale."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models import F
from django.utils import timezone

from clienteling.models import Region
from insights import selectors, services
from insights.models import RepeatFigure, RepeatFigureSet, Watermark
from insights.scope import WINDOWS, Scope, preset_periods
from profiles.models import Customer
from tests.insights.conftest import at, touch

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 9, 1)
NOON = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def region(store, other_store):
    region = Region.objects.create(name="Europe and US")
    for s in (store, other_store):
        s.region = region
        s.save(update_fields=["region"])
    return region


def _scopes():
    return [
        Scope(None, "everything"),
        Scope(("PAR01",), "Paris"),
        Scope(("NYC01",), "New York"),
        Scope(("PAR01", "NYC01"), "region, in the order a manager's stores come"),
    ]


def _shop(make_customer):
    """Purchases over a year at two stores and online: repeats at every gap the windows tell apart, an
    order of two lines, a customer whose first purchase is before both periods, months with one buyer."""
    people = [make_customer() for _ in range(7)]
    a, b, c, d, e, f, g = people
    touch(a, "purchased", at("2026-08-02"), channel="store", store="PAR01", revenue="10")
    touch(a, "purchased", at("2026-08-20"), channel="web", revenue="10")  # 18 days later, online
    touch(b, "purchased", at("2026-06-10"), channel="store", store="PAR01", revenue="10")
    touch(b, "purchased", at("2026-08-25"), channel="store", store="NYC01", revenue="10")  # 76 days
    touch(c, "purchased", at("2025-09-03"), channel="store", store="NYC01", revenue="10", order="o1")
    touch(c, "purchased", at("2025-09-03", "12:05"), channel="store", store="NYC01", revenue="10", order="o1")
    touch(c, "purchased", at("2026-03-01"), channel="store", store="NYC01", revenue="10")  # 179 days
    touch(d, "purchased", at("2024-12-24"), channel="store", store="PAR01", revenue="10")  # before both periods
    touch(d, "purchased", at("2026-07-14"), channel="store", store="PAR01", revenue="10")
    touch(e, "purchased", at("2025-11-30", "23:30", "Europe/Paris"), channel="store", store="PAR01", revenue="10")
    touch(e, "purchased", at("2026-08-31"), channel="store", store="PAR01", revenue="10")  # 273 days
    touch(f, "purchased", at("2026-04-15"), channel="web", revenue="10")  # the only buyer in April
    touch(g, "product_viewed", at("2026-08-30"))  # never bought
    return people


def _assert_stored_equals_live(scopes=None, ends=(TODAY, TODAY + dt.timedelta(days=1))):
    checked = 0
    for scope in scopes or _scopes():
        for period in [p for end in ends for p in preset_periods(end)]:
            for window, _label in WINDOWS:
                stored = selectors._stored_repeat_rows(scope, period, window)
                live = selectors._live_repeat_rows(scope, period, window)
                assert stored, (scope.label, period, window)  # served from the stored figures
                assert stored == [(m, p, r, n, int(o or 0)) for m, p, r, n, o in live] or (
                    not live and stored == [(None, 0, 0, 0, 0)]
                ), (scope.label, period, window)
                checked += 1
    return checked


@time_machine.travel(NOON, tick=False)
def test_stored_figures_equal_the_live_count_for_every_fixed_scope_period_window_and_month(region, make_customer):
    _shop(make_customer)
    services.touchpoint_rollups_refresh()

    computed = services.repeat_figures_refresh()

    # Everything, Paris, New York, the region: 2 presets ending today and 2 ending tomorrow each.
    assert computed == 4 * 4
    assert _assert_stored_equals_live() == 4 * 4 * len(WINDOWS)
    paris_year = selectors.repeat_summary(Scope(("PAR01",), "Paris"), preset_periods(TODAY)[1], 90)
    # Paris over the year: a (Aug), b (Jun), d (Jul, returning), e (Nov); b bought again within 90 days
    # (at another store: any store counts), a's next purchase was online (any channel counts).
    assert (paris_year["purchasers"], paris_year["repeaters"], paris_year["new"]) == (4, 2, 3)


@time_machine.travel(NOON, tick=False)
def test_a_custom_period_is_counted_live(store, make_customer):
    _shop(make_customer)
    services.touchpoint_rollups_refresh()
    services.repeat_figures_refresh()
    march = preset_periods(dt.date(2026, 3, 31))[1]  # a year's length, but not ending today or tomorrow

    assert selectors._stored_repeat_rows(Scope(None, "all"), march, 90) == []
    assert selectors.repeat_summary(Scope(None, "all"), march, 90)["purchasers"] == 2  # c and e


@time_machine.travel(NOON, tick=False)
def test_stored_figures_follow_the_rollups_when_purchases_arrive_change_or_go(region, make_customer):
    a, b, c, d, e, f, g = _shop(make_customer)
    h = make_customer()
    touch(h, "purchased", at("2026-08-01", "12:00"), channel="web", revenue="10", order="h1")
    touch(h, "purchased", at("2026-09-01", "11:00"), channel="web", revenue="10", order="h2")  # 30 days later
    services.touchpoint_rollups_refresh()
    services.repeat_figures_refresh()
    before = Watermark.objects.get(name="touchpoints").last_id

    # A late purchase between two counted ones changes b's gap; g buys for the first time, in a month
    # nobody bought in; f is erased, so her only purchase goes, and April with it.
    touch(b, "purchased", at("2026-06-20"), channel="store", store="PAR01", revenue="10")
    touch(g, "purchased", at("2026-05-05"), channel="store", store="NYC01", revenue="10")
    touch(a, "purchased", at("2026-08-21"), channel="web", revenue="5")
    Customer.objects.filter(pk=f.pk).update(erased_at=timezone.now())
    # A late line of h's first order, earlier the same day: only the gap to her next purchase changes (31).
    touch(h, "purchased", at("2026-08-01", "10:00"), channel="web", revenue="5", order="h1")
    services.touchpoint_rollups_refresh()

    assert RepeatFigureSet.objects.filter(as_of_id__gt=before).count() == 16
    _assert_stored_equals_live()
    everything_year = selectors.repeat_summary(Scope(None, "all"), preset_periods(TODAY)[1], 30)
    assert [m["month"] for m in everything_year["monthly"]] == [
        dt.date(2025, 9, 1),
        dt.date(2025, 11, 1),
        dt.date(2026, 3, 1),
        dt.date(2026, 5, 1),
        dt.date(2026, 6, 1),
        dt.date(2026, 7, 1),
        dt.date(2026, 8, 1),
        dt.date(2026, 9, 1),
    ]
    june = next(m for m in everything_year["monthly"] if m["month"] == dt.date(2026, 6, 1))
    assert (june["purchasers"], june["repeaters"], june["orders"]) == (1, 1, 2)  # b, twice, 10 days apart
    august = next(m for m in everything_year["monthly"] if m["month"] == dt.date(2026, 8, 1))
    assert (august["purchasers"], august["repeaters"]) == (4, 1)  # a, b, e, h; only a within 30 days


@time_machine.travel(NOON, tick=False)
def test_a_figure_behind_the_watermark_is_never_served(store, make_customer):
    _shop(make_customer)
    services.touchpoint_rollups_refresh()
    services.repeat_figures_refresh()
    paris, year = Scope(("PAR01",), "Paris"), preset_periods(TODAY)[1]
    shown = selectors.repeat_summary(paris, year, 90)
    # Something changed the facts without keeping the figures (it cannot happen through the services):
    # a wrong stored number, and the watermark moved on without the set.
    RepeatFigure.objects.filter(within_days=90, month__isnull=True).update(purchasers=F("purchasers") + 100)
    Watermark.objects.filter(name="touchpoints").update(last_id=F("last_id") + 1)

    assert selectors._stored_repeat_rows(paris, year, 90) == []
    assert selectors.repeat_summary(paris, year, 90) == shown

    # The next hourly run recomputes the sets it cannot vouch for.
    assert services.repeat_figures_refresh() == 2 * 2 * 2  # everything and Paris, 2 presets, 2 days
    assert selectors._stored_repeat_rows(paris, year, 90)
    assert selectors.repeat_summary(paris, year, 90) == shown


def test_tomorrows_figures_are_ready_when_the_day_turns_and_past_ones_are_dropped(store, make_customer):
    with time_machine.travel(NOON, tick=False):
        _shop(make_customer)
        services.touchpoint_rollups_refresh()
        assert services.repeat_figures_refresh() == 8
        assert services.repeat_figures_refresh() == 0  # nothing missing: one query

    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        touch(make_customer(), "purchased", at("2026-09-02"), channel="store", store="PAR01", revenue="10")
        services.touchpoint_rollups_refresh()
        # Before the hourly run: the sets prepared yesterday for today are served, and up to date.
        tomorrow = TODAY + dt.timedelta(days=1)
        _assert_stored_equals_live(scopes=_scopes()[:2], ends=[tomorrow])

        assert services.repeat_figures_refresh() == 4  # the day after: 2 presets x (everything, Paris)
        assert not RepeatFigureSet.objects.filter(end__lt=tomorrow).exists()


@time_machine.travel(NOON, tick=False)
def test_a_full_rebuild_recomputes_the_stored_figures(region, make_customer):
    _shop(make_customer)
    services.touchpoint_rollups_refresh()
    services.repeat_figures_refresh()
    first = set(RepeatFigureSet.objects.values_list("pk", flat=True))

    services.rollups_rebuild()

    assert first.isdisjoint(RepeatFigureSet.objects.values_list("pk", flat=True))
    _assert_stored_equals_live()


def _requested():
    return list(RepeatFigureSet.objects.filter(requested_at__isnull=False).values_list("start", flat=True))


@time_machine.travel(NOON, tick=False)
def test_figures_too_large_to_count_live_are_counted_once_on_request_then_served_and_kept_exact(
    store, make_customer, monkeypatch
):
    a, b, c, d, e, f, g = _shop(make_customer)
    services.touchpoint_rollups_refresh()
    monkeypatch.setattr(selectors, "LIVE_STORE_DAYS", 0)  # as if every scope were a chain's 50 stores
    march = preset_periods(dt.date(2026, 3, 31))[1]
    everything = Scope(None, "all")
    pending = selectors.repeat_summary(everything, march, 90)
    assert pending["pending"] and pending["rate"] is None

    assert services.repeat_figures_count(None, march.start, march.end)
    assert not services.repeat_figures_count(None, march.start, march.end)  # counted once

    summary = selectors.repeat_summary(everything, march, 90)
    assert not summary["pending"] and summary["purchasers"] == 2  # c and e, as counted live above the limit
    touch(g, "purchased", at("2026-02-02"), channel="web", revenue="10")  # arrives later: kept exact
    touch(g, "purchased", at("2026-02-20"), channel="web", revenue="10")
    services.touchpoint_rollups_refresh()
    for window, _label in WINDOWS:
        live = selectors._live_repeat_rows(everything, march, window)
        assert selectors._stored_repeat_rows(everything, march, window) == [
            (m, p, r, n, int(o)) for m, p, r, n, o in live
        ]
    assert selectors.repeat_summary(everything, march, 30)["repeaters"] == 1  # g, 18 days apart


def test_figures_counted_on_request_are_kept_a_week_after_they_were_last_opened(store, make_customer, monkeypatch):
    _shop(make_customer)
    monkeypatch.setattr(selectors, "LIVE_STORE_DAYS", 0)
    march = preset_periods(dt.date(2026, 3, 31))[1]
    with time_machine.travel(NOON, tick=False):
        services.touchpoint_rollups_refresh()
        services.repeat_figures_count(None, march.start, march.end)
        services.repeat_figures_refresh()
        assert _requested() == [march.start]
    with time_machine.travel(NOON + dt.timedelta(days=4), tick=False):
        selectors.repeat_summary(Scope(None, "all"), march, 90)  # opened again
    with time_machine.travel(NOON + dt.timedelta(days=10), tick=False):
        services.repeat_figures_refresh()
        assert _requested() == [march.start]
    with time_machine.travel(NOON + dt.timedelta(days=12), tick=False):
        services.repeat_figures_refresh()
        assert _requested() == []


@time_machine.travel(NOON, tick=False)
def test_only_the_most_recently_requested_sets_are_kept(store, make_customer, monkeypatch):
    _shop(make_customer)
    services.touchpoint_rollups_refresh()
    monkeypatch.setattr(services, "REQUESTED_MAX", 2)
    starts = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    for i, start in enumerate(starts):
        with time_machine.travel(NOON + dt.timedelta(minutes=i), tick=False):
            services.repeat_figures_count(("PAR01",), start, dt.date(2026, 6, 30))
    assert sorted(_requested()) == starts[1:]
