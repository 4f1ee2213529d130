"""Dashboard pages: scope (a manager of store A never sees B), drill-down, CSV, pinned query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from clienteling.models import Region, Role
from insights import services
from insights.scope import preset_periods
from insights.views import csv_cell
from profiles.models import PiiAccess
from tests.factories import AssociateFactory, CustomerFactory
from tests.insights.conftest import answer, at, follow_up, touch

pytestmark = pytest.mark.django_db

MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
PAGES = ["insights:sentiment", "insights:customers", "insights:moments", "insights:personas"]


@pytest.fixture
def two_stores(store, other_store):
    """Paris: one happy customer who bought 300; New York: one unhappy one who bought 999."""
    paris = CustomerFactory(first_name="Paulette", last_name="Paris", home_store_code="PAR01")
    newyork = CustomerFactory(
        first_name="Nora", last_name="York", home_store_code="NYC01", tier="gold", lifecycle="lapsed"
    )
    touch(paris, "product_viewed", at("2026-03-09"))
    touch(paris, "purchased", at("2026-03-10"), channel="store", store="PAR01", revenue="300")
    touch(newyork, "associate_assisted", at("2026-03-09"), channel="store", store="NYC01", associate="sam")
    touch(newyork, "purchased", at("2026-03-10"), channel="store", store="NYC01", revenue="999")
    answer(paris, 10, at("2026-03-11"), store="PAR01", comment="Lovely staff", themes=["staff"])
    r = answer(newyork, 1, at("2026-03-11"), store="NYC01", comment='=HYPERLINK("x") rude', themes=["rudeness_ny"])
    follow_up(r, due_at=at("2026-03-12"))
    services.touchpoint_rollups_refresh()
    services.sentiment_rollups_refresh()
    services.lifecycle_snapshot_take()
    services.personas_assign()
    return paris, newyork


class TestScope:
    @pytest.mark.parametrize("name", PAGES)
    def test_a_store_manager_never_sees_another_stores_numbers(self, manager_client, two_stores, name):
        response = manager_client.get(reverse(name), MARCH)
        assert response.status_code == 200
        body = response.content.decode()
        assert "NYC01" not in body and "New York" not in body
        assert "999" not in body and "rudeness_ny" not in body

    @pytest.mark.parametrize("name", [*PAGES, "insights:customer_list", "insights:response_list"])
    def test_naming_another_store_in_the_url_is_refused(self, manager_client, two_stores, name):
        assert manager_client.get(reverse(name), {**MARCH, "store": "NYC01"}).status_code == 403

    def test_drill_down_lists_and_exports_only_hold_her_stores_people(self, manager_client, two_stores):
        for metric in ("purchasers", "new", "stage", "lapsed_vips", "persona"):
            params = {**MARCH, "metric": metric, "stage": "prospect", "persona": "newcomer"}
            assert "York" not in manager_client.get(reverse("insights:customer_list"), params).content.decode()
            exported = manager_client.get(reverse("insights:customer_list"), {**params, "export": "csv"})
            assert "York" not in exported.content.decode()
        responses = manager_client.get(reverse("insights:response_list"), {**MARCH, "export": "csv"}).content.decode()
        assert "Lovely staff" in responses and "rude" not in responses

    def test_a_regional_manager_sees_her_region_and_an_admin_sees_everything(
        self, client, store, other_store, two_stores
    ):
        europe = Region.objects.create(name="Europe")
        store.region = europe
        store.save()
        regional = AssociateFactory(role=Role.REGIONAL, stores=[store, other_store])
        client.force_login(regional.user)
        assert "rudeness_ny" in client.get(reverse("insights:sentiment"), MARCH).content.decode()
        in_region = client.get(reverse("insights:sentiment"), {**MARCH, "region": europe.pk}).content.decode()
        assert "rudeness_ny" not in in_region and "staff" in in_region
        admin = AssociateFactory(role=Role.ADMIN)
        client.force_login(admin.user)
        body = client.get(reverse("insights:moments"), MARCH).content.decode()
        assert "1,299" in body or "1299" in body

    def test_an_associate_sees_only_her_stores_sentiment_summary(self, associate_client, two_stores):
        page = associate_client.get(reverse("insights:sentiment"), MARCH)
        assert page.status_code == 200
        body = page.content.decode()
        assert "100" in body  # Paris NPS
        assert "Lovely staff" not in body and "follow-ups" not in body.lower()
        for name in PAGES[1:] + ["insights:customer_list", "insights:response_list"]:
            assert associate_client.get(reverse(name), MARCH).status_code == 403
        assert associate_client.get(reverse("insights:sentiment"), {"store": "NYC01"}).status_code == 403


class TestDrillDown:
    def test_the_number_on_the_dashboard_is_the_length_of_the_list_behind_it(self, manager_client, two_stores):
        listing = manager_client.get(reverse("insights:customer_list"), {**MARCH, "metric": "purchasers"})
        assert listing.context["page_obj"].paginator.count == 1
        assert "Paulette" in listing.content.decode()

    def test_each_customer_in_a_list_links_to_her_profile(self, manager_client, two_stores):
        paris, _ny = two_stores
        listing = manager_client.get(reverse("insights:customer_list"), {**MARCH, "metric": "purchasers"})
        assert reverse("profiles:profile", args=[paris.public_id]) in listing.content.decode()

    def test_viewing_a_list_of_customers_is_audited(self, manager_client, two_stores):
        paris, _ny = two_stores
        manager_client.get(reverse("insights:customer_list"), {**MARCH, "metric": "purchasers"})
        assert PiiAccess.objects.filter(customer=paris, action="insights_drilldown").exists()

    def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(self, client, two_stores):
        admin = AssociateFactory(role=Role.ADMIN)
        client.force_login(admin.user)
        exported = client.get(reverse("insights:response_list"), {**MARCH, "export": "csv"})
        assert exported["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        comments = [row[7] for row in rows[1:]]
        assert '\'=HYPERLINK("x") rude' in comments
        assert PiiAccess.objects.filter(action="insights_export").count() == 2

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("=1+1", "'=1+1"),
            ("+33 6", "'+33 6"),
            ("-2", "'-2"),
            ("@SUM", "'@SUM"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Anna", "Anna"),
            (None, ""),
            (12, "12"),
        ],
    )
    def test_csv_cell(self, value, expected):
        assert csv_cell(value) == expected


class TestQueryCounts:
    # Every page: session, user + staff record in one join (auth and the navigation), the scope's stores = 3, then its own
    # rollup reads, then the session's idle-timeout stamp (savepoint, UPDATE, release) = 3.
    def test_sentiment_page(self, manager_client, two_stores, django_assert_num_queries):
        # +1 answers by week/kind/moment, +1 NPS by associate, +1 invitations, +1 themes by week, +1 example
        # comments, +1 open follow-up counts, +1 resolved rollup, +1 queue page. (+1 associate names when an
        # associate has enough answers to be shown, +1 audit INSERT when the queue is not empty: neither here.)
        with django_assert_num_queries(14):
            assert manager_client.get(reverse("insights:sentiment"), MARCH).status_code == 200

    def test_customers_page(self, manager_client, two_stores, django_assert_num_queries):
        # +1 stored figures (none for a custom period), +1 repeat rate (period total and by month in one
        # scan), +2 lifecycle (latest snapshot, flows)
        with django_assert_num_queries(10):
            assert manager_client.get(reverse("insights:customers"), MARCH).status_code == 200

    def test_customers_page_with_stored_repeat_figures(self, manager_client, two_stores, django_assert_num_queries):
        # The default period (the last 12 weeks, a preset) of her store: +1 repeat rate (the stored figures,
        # checked against the watermark in the same query), +2 lifecycle
        services.repeat_figures_refresh()
        with django_assert_num_queries(9):
            assert manager_client.get(reverse("insights:customers")).status_code == 200

    def test_the_last_year_link_is_served_from_the_stored_figures(
        self, manager_client, two_stores, django_assert_num_queries
    ):
        services.repeat_figures_refresh()
        year = preset_periods(timezone.localdate())[1]
        # +1 repeat rate (stored figures), +2 lifecycle
        with django_assert_num_queries(9):
            response = manager_client.get(reverse("insights:customers"), {"start": year.start, "end": year.end})
        assert f'href="?start={year.start}&amp;end={year.end}">Last year<' in response.content.decode()

    def test_customers_page_on_a_preset_period_not_stored_yet(
        self, manager_client, two_stores, django_assert_num_queries
    ):
        # +1 stored figures (none yet), +1 repeat rate counted live, +2 lifecycle
        with django_assert_num_queries(10):
            assert manager_client.get(reverse("insights:customers")).status_code == 200

    def test_moments_page(self, manager_client, two_stores, django_assert_num_queries):
        # +1 touchpoints by moment, +1 attribution by moment and channel (also the purchase and revenue
        # totals), +1 assisted purchases by associate (+1 associate names when there are any: none in Paris)
        with django_assert_num_queries(9):
            assert manager_client.get(reverse("insights:moments"), MARCH).status_code == 200

    def test_personas_page(self, manager_client, two_stores, django_assert_num_queries):
        # +1 persona counts by day
        with django_assert_num_queries(7):
            assert manager_client.get(reverse("insights:personas"), MARCH).status_code == 200
