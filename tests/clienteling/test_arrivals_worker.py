"""An API arrival with a real Celery worker on the realtime queue: her visit lands on her timeline."""

import pytest

from clienteling.tasks import REALTIME_QUEUE
from profiles.models import Touchpoint
from tests.clienteling.floor import api_key_for, make_customer
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


@pytest.mark.django_db(transaction=True)
def test_an_api_arrival_records_her_store_visit_through_the_realtime_queue(client, store):
    jane = make_customer()
    key = api_key_for(store)
    with celery_worker(queue=REALTIME_QUEUE):
        response = client.post(
            "/api/v1/arrivals",
            {"store": "PAR01", "email": "jane.doe@example.com", "source": "wifi"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 202
        visit = wait_for(lambda: Touchpoint.objects.filter(moment="store_visit", customer=jane).first())
    assert visit.store_code == "PAR01"
