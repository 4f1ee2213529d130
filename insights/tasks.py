"""Dashboard rollup jobs. Thin: each calls one service; the watermark row lock makes overlapping runs
wait for each other instead of folding the same rows twice."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from insights import services
from insights.models import PersonaDaily


@shared_task(ignore_result=True, acks_late=True, max_retries=0)
def refresh_touchpoint_rollups() -> str:
    """Fold in new touchpoints; keeps going while a big import leaves more than one batch behind."""
    total = services.RefreshResult()
    for _ in range(50):
        result = services.touchpoint_rollups_refresh()
        total.touchpoints += result.touchpoints
        total.customers += result.customers
        total.purchases += result.purchases
        if result.touchpoints < services.BATCH:
            break
    if total.touchpoints and not PersonaDaily.objects.exists():
        # A fresh install with data (demo seed, first import): segment now rather than at 02:30.
        nightly_segments.delay()
    return str(total)


@shared_task(ignore_result=True, acks_late=True, max_retries=0)
def refresh_sentiment_rollups() -> int:
    return services.sentiment_rollups_refresh()


@shared_task(ignore_result=True, acks_late=True, max_retries=0)
def nightly_segments() -> int:
    """Lifecycle snapshot (stage counts and moves), then personas written onto every summary."""
    services.touchpoint_rollups_refresh()
    services.lifecycle_snapshot_take()
    return services.personas_assign()


@shared_task(ignore_result=True, acks_late=True, max_retries=0)
def refresh_repeat_figures() -> int:
    """Precompute the repeat-customer figures of the preset periods ending today and tomorrow (hourly;
    one query when they are all there). The touchpoint refresh keeps them exact from then on."""
    return services.repeat_figures_refresh()


@shared_task(ignore_result=True, acks_late=True, max_retries=0)
def count_repeat_figures(codes: list[str] | None, start: str, end: str) -> bool:
    """Count the repeat figures of a scope and period a dashboard asked for (too large to count live);
    the touchpoint refresh keeps them exact from then on, and the page shows them once stored."""
    return services.repeat_figures_count(
        tuple(codes) if codes is not None else None, dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    )
