# SQL in this module is built from the constant table and column names below; values are never interpolated.
# ruff: noqa: S608
"""Dashboard numbers checked against hand-computed fixtures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from insights import selectors, services
from insights.models import AttributionDaily, PurchaseFact, ResponseDaily
from insights.scope import Period, Scope
from tests.insights.conftest import answer, at, touch

pytestmark = pytest.mark.django_db

EVERYTHING = Scope(None, "all")
PARIS = Scope(("PAR01",), "Paris")


def _by_moment(summary):
    rows = {row["moment"]: row for row in summary["funnel"]}
    return {m: Decimal(r["revenue"]).quantize(Decimal("0.01")) for m, r in rows.items() if r["revenue"]}


class TestAttribution:
    def test_linear_credit_splits_each_purchase_evenly_over_the_touches_of_the_30_days_before_it(
        self, store, make_customer
    ):
        anna, ben, cleo = make_customer(), make_customer(), make_customer()
        # Anna: three touches, then 300 in the Paris store -> 100 each.
        touch(anna, "product_viewed", at("2026-03-01"), channel="web")
        touch(anna, "newsletter_signup", at("2026-03-05"), channel="email")
        touch(anna, "store_visit", at("2026-03-10"), channel="store", store="PAR01")
        touch(anna, "purchased", at("2026-03-12"), channel="store", store="PAR01", revenue="300.00")
        # Ben: nothing before his 50 web order -> direct.
        touch(ben, "purchased", at("2026-03-12"), channel="web", revenue="50.00")
        # Cleo: one touch 40 days before (outside the lookback), one the day before -> all 200 to cart_added.
        touch(cleo, "wishlisted", at("2026-02-01"), channel="app")
        touch(cleo, "cart_added", at("2026-03-11"), channel="web")
        touch(cleo, "purchased", at("2026-03-12"), channel="web", revenue="120.00", order="o-1")
        touch(cleo, "purchased", at("2026-03-12"), channel="web", revenue="80.00", order="o-1")  # same order

        services.touchpoint_rollups_refresh()

        summary = selectors.moments_summary(EVERYTHING, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert summary["purchases"] == 3  # Cleo's two lines are one order
        assert summary["revenue"] == Decimal("550.00")
        assert _by_moment(summary) == {
            "product_viewed": Decimal("100.00"),
            "newsletter_signup": Decimal("100.00"),
            "store_visit": Decimal("100.00"),
            "cart_added": Decimal("200.00"),
        }
        assert summary["direct"]["revenue"] == Decimal("50.00")
        paris = selectors.moments_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert paris["purchases"] == 1
        assert _by_moment(paris) == {
            "product_viewed": Decimal("100.00"),
            "newsletter_signup": Decimal("100.00"),
            "store_visit": Decimal("100.00"),
        }

    def test_a_late_touch_moves_the_credit_of_a_purchase_already_counted(self, store, customer):
        touch(customer, "purchased", at("2026-03-12"), channel="store", store="PAR01", revenue="90.00")
        services.touchpoint_rollups_refresh()
        assert list(AttributionDaily.objects.values_list("moment", "revenue")) == [("purchased", Decimal("90.0000"))]

        touch(customer, "product_viewed", at("2026-03-10"), channel="web")  # imported later
        touch(customer, "cart_added", at("2026-03-11"), channel="app")
        services.touchpoint_rollups_refresh()

        credited = dict(AttributionDaily.objects.filter(purchases__gt=0).values_list("moment", "revenue"))
        assert credited == {"product_viewed": Decimal("45.0000"), "cart_added": Decimal("45.0000")}

    def test_a_purchase_within_14_days_after_an_assisted_visit_counts_for_that_store_and_associate(
        self, store, other_store, make_customer
    ):
        helped, not_helped = make_customer(), make_customer()
        touch(helped, "associate_assisted", at("2026-03-01"), channel="store", store="PAR01", associate="hugo")
        touch(helped, "purchased", at("2026-03-14", "11:00"), channel="web", revenue="70.00")  # 13 days later
        touch(not_helped, "associate_assisted", at("2026-03-01"), channel="store", store="PAR01", associate="hugo")
        touch(not_helped, "purchased", at("2026-03-16"), channel="store", store="NYC01", revenue="40.00")  # 15 days

        services.touchpoint_rollups_refresh()

        paris = selectors.moments_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert paris["assisted_total"] == {"purchases": 1, "revenue": Decimal("70.00")}
        assert [(a["associate_code"], a["purchases"]) for a in paris["assisted"]] == [("hugo", 1)]


class TestRepeatRate:
    @time_machine.travel(dt.datetime(2026, 9, 1, tzinfo=dt.UTC), tick=False)
    def test_it_is_the_share_of_purchasers_in_the_period_who_bought_again_within_the_window(self, store, make_customer):
        a, b, c, d = (make_customer() for _ in range(4))
        # a: bought in March and again 30 days later -> repeat.
        touch(a, "purchased", at("2026-03-10"), channel="store", store="PAR01", revenue="10")
        touch(a, "purchased", at("2026-04-09"), channel="store", store="PAR01", revenue="10")
        # b: bought in March and again 100 days later -> not within 90 days.
        touch(b, "purchased", at("2026-03-10"), channel="store", store="PAR01", revenue="10")
        touch(b, "purchased", at("2026-06-18"), channel="store", store="PAR01", revenue="10")
        # c: once in March, never again.
        touch(c, "purchased", at("2026-03-20"), channel="store", store="PAR01", revenue="10")
        # d: first bought in January (so returning in March), again 10 days later.
        touch(d, "purchased", at("2026-01-05"), channel="store", store="PAR01", revenue="10")
        touch(d, "purchased", at("2026-03-25"), channel="store", store="PAR01", revenue="10")
        touch(d, "purchased", at("2026-04-04"), channel="store", store="PAR01", revenue="10")
        services.touchpoint_rollups_refresh()

        march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        summary = selectors.repeat_summary(PARIS, march, 90)
        assert (summary["purchasers"], summary["repeaters"], summary["rate"]) == (4, 2, 50.0)
        assert (summary["new"], summary["returning"]) == (3, 1)
        assert selectors.repeat_summary(PARIS, march, 365)["rate"] == 75.0

    def test_no_purchases_gives_no_rate_rather_than_zero(self, store):
        summary = selectors.repeat_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), 90)
        assert summary["purchasers"] == 0
        assert summary["rate"] is None


class TestSentiment:
    def test_nps_is_promoters_minus_detractors_over_all_answers(self, store, make_customer):
        when = at("2026-03-11", "15:00")
        for score in (10, 10, 9, 9, 9, 8, 7, 6, 3, 0):
            answer(make_customer(), score, when)
        answer(make_customer(), 0, when, bot=True)  # left out
        for score in (5, 4, 3, 1):
            answer(make_customer(), score, when, kind="csat")
        services.sentiment_rollups_refresh()

        summary = selectors.sentiment_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert (summary["nps"].responses, summary["nps"].promoters, summary["nps"].detractors) == (10, 5, 3)
        assert summary["nps"].nps == 20.0
        assert summary["csat"].satisfied_pct == 50.0
        assert summary["sent"] == 15  # the bot's invitation was sent, its answer does not count
        assert summary["response_rate"] == 93.3

    def test_an_answer_applied_long_after_it_was_given_is_still_counted(self, store, make_customer):
        # The feedback app applies taps from its pending table within seconds; after a worker outage an
        # answer can arrive hours late, with its own (old) answer time.
        march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        with time_machine.travel(at("2026-03-11", "16:00"), tick=False):
            answer(make_customer(), 10, at("2026-03-11", "15:00"))
            services.sentiment_rollups_refresh()
        with time_machine.travel(at("2026-03-11", "20:00"), tick=False):
            answer(make_customer(), 0, at("2026-03-11", "15:30"))  # tapped at 15:30, applied at 20:00
            services.sentiment_rollups_refresh()
        nps = selectors.sentiment_summary(PARIS, march)["nps"]
        assert (nps.responses, nps.promoters, nps.detractors) == (2, 1, 1)

    def test_no_responses_shows_no_score(self, store):
        summary = selectors.sentiment_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert summary["nps"].nps is None
        assert summary["response_rate"] is None
        assert all(week["nps"] is None for week in summary["trend"])

    def test_weeks_break_at_midnight_on_sunday_in_the_stores_own_time_zone(self, store, make_customer):
        # Sunday 22 March 23:30 in Paris is 22:30 UTC; Monday 00:30 in Paris is still Sunday 23:30 UTC.
        answer(make_customer(), 10, at("2026-03-22", "23:30", "Europe/Paris"))
        answer(make_customer(), 0, at("2026-03-23", "00:30", "Europe/Paris"))
        services.sentiment_rollups_refresh()

        assert sorted(ResponseDaily.objects.values_list("day", flat=True)) == [
            dt.date(2026, 3, 22),
            dt.date(2026, 3, 23),
        ]
        trend = selectors.sentiment_summary(PARIS, Period(dt.date(2026, 3, 16), dt.date(2026, 3, 29)))["trend"]
        assert [(w["week"], w["nps_responses"], w["nps"]) for w in trend] == [
            (dt.date(2026, 3, 16), 1, 100.0),
            (dt.date(2026, 3, 23), 1, -100.0),
        ]

    def test_a_changed_answer_is_counted_once_with_its_new_score(self, store, customer):
        with time_machine.travel(at("2026-03-11", "12:00"), tick=False):
            response = answer(customer, 3, at("2026-03-11", "12:00"))
            services.sentiment_rollups_refresh()
        with time_machine.travel(at("2026-03-11", "13:00"), tick=False):
            response.score = 10
            response.answered_at = at("2026-03-11", "13:00")
            response.save()
            services.sentiment_rollups_refresh()
        summary = selectors.sentiment_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert (summary["nps"].responses, summary["nps"].nps) == (1, 100.0)

    def test_associates_with_too_few_answers_are_hidden(self, store, make_customer):
        for _ in range(5):
            answer(make_customer(), 10, at("2026-03-11"), associate="maya")
        for _ in range(4):
            answer(make_customer(), 0, at("2026-03-11"), associate="leo")
        services.sentiment_rollups_refresh()
        summary = selectors.sentiment_summary(PARIS, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        assert [code for code, _s in summary["associates"]] == ["maya"]
        assert summary["associates_hidden"] == 1


def test_purchase_facts_know_the_order_of_her_purchases(store, customer):
    touch(customer, "purchased", at("2026-03-10"), channel="store", store="PAR01", revenue="10")
    touch(customer, "purchased", at("2026-03-15"), channel="web", revenue="10")
    services.touchpoint_rollups_refresh()
    assert list(PurchaseFact.objects.order_by("occurred_at").values_list("ordinal", "next_gap_days")) == [
        (1, 5),
        (2, None),
    ]


# Each weekly rollup: its daily table, its bucket's columns besides store and day, and its counts.
RESPONSE_COUNTS = ("responses", "promoters", "passives", "detractors", "score_sum", "commented")
WEEKLY_ROLLUPS = {
    "touchpointweekly": ("touchpointdaily", "moment", ("touchpoints",)),
    "attributionweekly": ("attributiondaily", "moment, channel", ("revenue", "credit", "purchases")),
    "responseweekly": ("responsedaily", "kind, moment", RESPONSE_COUNTS),
    "associateweekly": ("responsedaily", "kind, associate_code", RESPONSE_COUNTS),
    "themeweekly": ("themedaily", "theme", ("mentions", "detractor_mentions")),
}


def _weekly_and_summed_days(weekly: str) -> tuple[dict, dict]:
    """The weekly table's rows, and its daily table's rows summed per week, both keyed by bucket."""
    daily, keys, counts = WEEKLY_ROLLUPS[weekly]
    n = len(counts)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT store_code, day, {keys}, {', '.join(counts)} FROM insights_{weekly}")
        rows = {row[:-n]: tuple(round(float(v), 6) for v in row[-n:]) for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT store_code, date_trunc('week', day)::date, {keys}, {', '.join(f'sum({c})' for c in counts)}"
            f" FROM insights_{daily} GROUP BY 1, 2, {keys}"
        )
        days = {row[:-n]: tuple(round(float(v), 6) for v in row[-n:]) for row in cursor.fetchall()}
    return rows, days


def _journeys(make_customer):
    """Purchases, touches and answers over six weeks in two stores and online, with a re-answer."""
    people = [make_customer() for _ in range(6)]
    for i, person in enumerate(people):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=5 * i)
        store = ("PAR01", "NYC01", "")[i % 3]
        channel = "store" if store else "web"
        touch(person, "product_viewed", at(day.isoformat()), channel="web")
        touch(person, "store_visit", at((day + dt.timedelta(days=2)).isoformat()), channel="store", store=store)
        touch(
            person,
            "purchased",
            at((day + dt.timedelta(days=3)).isoformat()),
            channel=channel,
            store=store,
            revenue=f"{40 + 10 * i}.00",
        )
        answer(
            person,
            (10, 3, 8, 0, 9, 6)[i],
            at((day + dt.timedelta(days=4)).isoformat(), "18:30"),
            store=store or "PAR01",
            associate=("maya", "leo")[i % 2],
            comment="Long wait" if i % 2 else "",
            themes=("waiting",) if i % 2 else (),
        )
    return people


class TestWeeklyRollups:
    """Long periods read whole weeks from the weekly tables and only the edge days from the daily ones."""

    def test_every_weekly_row_is_the_sum_of_its_days_through_refreshes_and_a_rebuild(
        self, store, other_store, make_customer
    ):
        people = _journeys(make_customer)
        with time_machine.travel(at("2026-04-20"), tick=False):
            services.touchpoint_rollups_refresh()
            services.sentiment_rollups_refresh()
        with time_machine.travel(at("2026-04-21"), tick=False):
            # Late touches move earlier purchases' credit; a re-answer and a new answer change two weeks.
            touch(people[0], "cart_added", at("2026-03-02"), channel="app")
            touch(people[4], "newsletter_signup", at("2026-03-20"), channel="email")
            changed = people[1].survey_responses.get()
            changed.score, changed.answered_at = 10, at("2026-04-21")
            changed.save()
            answer(people[2], 1, at("2026-04-21", "09:00"), kind="csat")
            services.touchpoint_rollups_refresh()
            services.sentiment_rollups_refresh()
        for name in WEEKLY_ROLLUPS:
            weekly, days = _weekly_and_summed_days(name)
            assert weekly and weekly == days, name

        services.rollups_rebuild()
        for name in WEEKLY_ROLLUPS:
            weekly, days = _weekly_and_summed_days(name)
            assert weekly and weekly == days, name

    @pytest.mark.parametrize(
        "start, end",
        [
            ("2026-03-01", "2026-04-15"),  # Sunday to Wednesday: edge days at both ends
            ("2026-03-02", "2026-04-12"),  # Monday to Sunday: whole weeks only
            ("2026-03-10", "2026-03-13"),  # inside one week: days only
            ("2026-03-04", "2026-03-16"),  # one whole week between two partial ones
        ],
    )
    def test_a_period_gives_the_same_numbers_from_weeks_and_days_as_from_days_alone(
        self, start, end, store, other_store, make_customer, monkeypatch
    ):
        _journeys(make_customer)
        services.touchpoint_rollups_refresh()
        services.sentiment_rollups_refresh()
        period = Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end))

        def numbers():
            return (
                selectors.sentiment_summary(EVERYTHING, period),
                selectors.themes_summary(EVERYTHING, period),
                selectors.moments_summary(EVERYTHING, period),
                selectors.moments_summary(PARIS, period),
            )

        mixed = numbers()
        monkeypatch.setattr(selectors, "_whole_weeks", lambda period: None)
        assert mixed == numbers()
        assert mixed[2]["purchases"] > 0 or mixed[0]["nps"].responses > 0  # the period holds something
