"""Import tasks. Thin: they take ids, claim before acting, and call the import services."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from profiles.derived import recent_interests_refresh
from profiles.identity import duplicate_suggestions_refresh
from profiles.imports import JobBusy, import_job_run, inbox_scan


@shared_task(
    queue="imports",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(JobBusy,),
    retry_backoff=30,
    max_retries=5,
)
def import_job_run_task(job_id: int) -> None:
    """Run or resume one import job; a redelivered message finds it done and does nothing."""
    import_job_run(job_id=job_id)


@shared_task(queue="imports", ignore_result=True, acks_late=True)
def inbox_scan_task() -> int:
    """Beat, every minute: queue the files dropped into the inbox folder."""
    jobs = inbox_scan()
    for job in jobs:
        transaction.on_commit(lambda pk=job.pk: import_job_run_task.delay(pk))
    return len(jobs)


@shared_task(queue="imports", ignore_result=True, acks_late=True)
def duplicate_suggestions_task() -> int:
    """Beat, nightly: suggest look-alike customers changed in the last day (never merged automatically)."""
    return duplicate_suggestions_refresh()


@shared_task(queue="imports", ignore_result=True, acks_late=True)
def interest_reasons_task() -> int:
    """Beat, nightly: reasons written "today" or "this week" are rewritten for the new day."""
    return recent_interests_refresh()
