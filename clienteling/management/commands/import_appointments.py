import csv
import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clienteling.models import Store
from clienteling.services import appointment_book, arrival_find_customer

IDENTIFIERS = ("email", "phone", "loyalty_id", "customer_id")


class Command(BaseCommand):
    help = (
        "Import bookings from a CSV (store, starts_at ISO 8601, one of email/phone/loyalty_id/customer_id, "
        "purpose, external_id). Re-importing a booking with the same external_id updates it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            rows = list(csv.DictReader(file.open(encoding="utf-8-sig", newline="")))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        stores = {s.code.upper(): s for s in Store.objects.active()}
        imported = rejected = 0
        for line, row in enumerate(rows, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            reason = None
            store = stores.get(row.get("store", "").upper())
            try:
                starts_at = dt.datetime.fromisoformat(row.get("starts_at", ""))
            except ValueError:
                starts_at = None
            kind = next((k for k in IDENTIFIERS if row.get(k)), None)
            customer = arrival_find_customer(store=store, kind=kind, value=row[kind]) if store and kind else None
            if store is None:
                reason = f"unknown store {row.get('store')!r}"
            elif starts_at is None or starts_at.tzinfo is None:
                reason = "starts_at must be an ISO 8601 time with its offset, e.g. 2026-11-24T14:30:00+01:00"
            elif customer is None:
                reason = "no customer with that identifier"
            if reason:
                rejected += 1
                self.stderr.write(f"line {line}: {reason}")
                continue
            appointment_book(
                store=store, customer=customer, starts_at=starts_at, purpose=row.get("purpose", ""),
                origin="import", external_id=row.get("external_id", ""),
            )  # fmt: skip
            imported += 1
        self.stdout.write(f"rows={len(rows)} imported={imported} rejected={rejected}")
