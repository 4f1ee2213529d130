"""Sources: the channels that send data, their write keys, and how healthy their feeds look."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from profiles.models import ImportJob, Source

KEY_PREFIX = "wk_"


def write_key_hash(key: str) -> str:
    # Write keys are 32 random bytes: a fast hash is enough (no dictionary to attack), and lookups stay O(1).
    return hashlib.sha256(key.encode()).hexdigest()


def new_write_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def source_create(*, name: str, kind: str) -> tuple[Source, str]:
    """A new source and its write key; the key is returned once and only its hash is stored."""
    key = new_write_key()
    source = Source(name=name, kind=kind, write_key_hash=write_key_hash(key), write_key_prefix=key[:12])
    source.full_clean()
    source.save()
    return source, key


@transaction.atomic
def source_rotate_key(*, source: Source) -> str:
    """Replace the write key: the old one stops working at once."""
    key = new_write_key()
    source.write_key_hash, source.write_key_prefix = write_key_hash(key), key[:12]
    source.save(update_fields=["write_key_hash", "write_key_prefix"])
    return key


def source_for_write_key(key: str) -> Source | None:
    if not key or not key.startswith(KEY_PREFIX):
        return None
    return Source.objects.filter(write_key_hash=write_key_hash(key), is_active=True).first()


@dataclass(frozen=True)
class SourceHealth:
    source: Source
    last_event_at: datetime | None
    rows_today: int
    rejected_today: int

    @property
    def rejected_share(self) -> float:
        return self.rejected_today / self.rows_today if self.rows_today else 0.0


def sources_health() -> list[SourceHealth]:
    """Last event, rows received today (files and HTTP) and the rejected share, for every source."""
    since = timezone.now() - timedelta(hours=24)
    today = Q(imports__created_at__gte=since) | Q(imports__finished_at__gte=since)
    sources = Source.objects.annotate(
        rows_today=Sum("imports__rows", filter=today & ~Q(imports__status="skipped"), default=0),
        rejected_today=Sum("imports__rejected", filter=today, default=0),
    ).order_by("name")
    return [
        SourceHealth(source=s, last_event_at=s.last_event_at, rows_today=s.rows_today, rejected_today=s.rejected_today)
        for s in sources
    ]


def http_job_for_today(source: Source) -> ImportJob:
    """HTTP events of one source and one UTC day are counted on one job (and their rejections kept there)."""
    day = timezone.now().date().isoformat()
    checksum = f"http:{day}"
    job = ImportJob.objects.filter(source=source, checksum=checksum).first()
    if job is None:
        try:
            with transaction.atomic():
                job = ImportJob.objects.create(
                    source=source,
                    filename=f"HTTP events {day}",
                    checksum=checksum,
                    format="jsonl",
                    origin="http",
                    status="done",
                    started_at=timezone.now(),
                    finished_at=timezone.now(),
                )
        except IntegrityError:  # another request created it first (unique per source and checksum)
            job = ImportJob.objects.get(source=source, checksum=checksum)
    return job
