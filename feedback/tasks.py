"""Feedback tasks: thin, idempotent, take ids, call services.

Sending is safe to run twice at once (claims) and safe to kill (see feedback/delivery.py); the broker's
redelivery of a killed task (acks_late + reject_on_worker_lost) only re-runs a claim loop. Retry
countdowns stay far below the Redis visibility timeout.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from feedback import services

SEND_QUEUE = "sends"
# Idempotent database jobs: redelivered if the worker dies, retried with backoff while the database is away.
DB_JOB = {
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


@shared_task(**DB_JOB)
def invitations_schedule() -> int:
    return services.invitations_schedule().created


@shared_task(**DB_JOB)
def invitations_send_due(max_batches: int | None = 50) -> int:
    """Create what is newly due, then send it: the same service as ``manage.py send_due_invitations``.

    Also puts new answers on their customers' timelines (kept off the answer POST).
    """
    services.invitations_schedule()
    sent = services.invitations_send_due(max_batches=max_batches).sent
    services.answers_apply_all()
    services.responses_to_timeline()
    return sent


@shared_task(**DB_JOB | {"retry_backoff": 2, "retry_backoff_max": 30})
def answers_apply() -> int:
    """Pending answers (committed by the answer POST) become responses, summaries and follow-ups.

    Safe to run twice at once and to kill: each batch claims its pending answers by deleting them in the
    transaction that applies them.
    """
    return services.answers_apply_all()
