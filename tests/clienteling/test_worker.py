import pytest

from clienteling.models import StoreDevice
from clienteling.tasks import device_touch
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_redis_and_writes_to_the_database(store):
    device = StoreDevice.objects.create(store=store, name="Front desk")
    assert device.last_seen_at is None
    with celery_worker() as (_, queue):
        device_touch.apply_async(args=[device.pk], queue=queue)
        wait_for(lambda: StoreDevice.objects.filter(pk=device.pk, last_seen_at__isnull=False).exists())
