"""Store-floor tasks. Thin: they take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from clienteling import services

REALTIME_QUEUE = "realtime"  # arrivals and cards: never behind a long import (see Procfile, beat.py)


@shared_task(ignore_result=True, acks_late=True)
def device_touch(device_id: int) -> int:
    """Record that a tablet was seen; used by the worker smoke test as a task with a database effect."""
    return services.device_seen(device_id=device_id)


@shared_task(ignore_result=True, acks_late=True)
def arrivals_expire() -> int:
    """Take down greeting cards nobody acted on within ARRIVAL_CARD_TTL_MINUTES."""
    return services.arrivals_expire()


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def arrival_visit_record(arrival_id: int) -> None:
    """Her store_visit touchpoint (and summary refresh) for an arrival, off the API request."""
    services.arrival_visit_record(arrival_id=arrival_id)
