"""The rollup jobs on a real Celery worker (Redis broker, separate process, real PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from insights.models import TouchpointDaily, Watermark
from insights.tasks import refresh_touchpoint_rollups
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
        refresh_touchpoint_rollups.apply_async(queue=queue)  # a third one after both: nothing new to fold
        wait_for(lambda: Watermark.objects.get(name="touchpoints").updated_at is not None, timeout=30)
        done = Watermark.objects.get(name="touchpoints").updated_at
        wait_for(lambda: Watermark.objects.get(name="touchpoints").updated_at > done, timeout=30)
    assert TouchpointDaily.objects.aggregate(n=Sum("touchpoints"))["n"] == 40
