"""The rollup jobs on a real Celery worker (Redis broker, separate process, real PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.urls import reverse

from insights import selectors, services
from insights.models import TouchpointDaily, Watermark
from insights.tasks import count_repeat_figures, refresh_touchpoint_rollups
from tests.insights.conftest import at, touch
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_refreshes_on_a_real_worker_count_each_touchpoint_once(store, make_customer):
    customers = [make_customer() for _ in range(20)]
    for i, customer in enumerate(customers):
        touch(customer, "store_visit", at("2026-03-10"), channel="store", store="PAR01")
        touch(customer, "purchased", at("2026-03-10", "13:00"), channel="store", store="PAR01", revenue=str(10 + i))
    with celery_worker(pool="threads", concurrency=2) as (_, queue):
        for _ in range(2):
            refresh_touchpoint_rollups.apply_async(queue=queue)
        wait_for(lambda: Watermark.objects.filter(name="touchpoints", last_id__gt=0).exists())
    # Leaving the block stops the worker warmly: it finishes the run it may still be in before it exits.
    assert TouchpointDaily.objects.aggregate(n=Sum("touchpoints"))["n"] == 40
    assert services.touchpoint_rollups_refresh().touchpoints == 0  # a third one after both: nothing new to fold
    assert TouchpointDaily.objects.aggregate(n=Sum("touchpoints"))["n"] == 40


@pytest.mark.django_db(transaction=True)
def test_a_period_too_large_to_count_live_is_counted_by_the_worker_while_the_page_polls(
    manager_client, store, make_customer, monkeypatch
):
    for i in range(3):
        customer = make_customer()
        touch(customer, "purchased", at("2026-03-10"), channel="store", store="PAR01", revenue="10")
        touch(customer, "purchased", at(f"2026-03-{20 + i}"), channel="web", revenue="10")
    services.touchpoint_rollups_refresh()
    monkeypatch.setattr(selectors, "LIVE_STORE_DAYS", 0)
    march = {"start": "2026-03-01", "end": "2026-03-31", "window": "30"}
    with celery_worker(pool="threads", concurrency=1) as (_, queue):
        monkeypatch.setattr(
            count_repeat_figures, "delay", lambda *args: count_repeat_figures.apply_async(args, queue=queue)
        )
        page = manager_client.get(reverse("insights:customers"), march)
        assert page.status_code == 200
        assert 'hx-trigger="every 2s"' in page.content.decode() and "Counting" in page.content.decode()

        def counted():
            response = manager_client.get(
                reverse("insights:customers"), march | {"fragment": "repeat"}, HTTP_HX_REQUEST="true"
            )
            return response if response.status_code == 286 else None

        done = wait_for(counted, timeout=30)
    body = done.content.decode()
    assert "every 2s" not in body
    assert "3 of 3 purchasers bought again within 30 days" in body
