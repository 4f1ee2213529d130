"""Her data on request (export) and the right to be forgotten (erasure), across every app.

``profiles`` owns the customer but not everything that names her: feedback answers, store visits and the
dashboards' per-customer facts live in apps that import ``profiles``, never the other way round. So the
other apps answer two signals, sent inside the same transaction as the profile's own work:

- ``customer_exporting``: return ``(section name, list of plain dicts)`` describing what you hold on
  these customer ids;
- ``customer_erasing``: delete (or strip of anything personal) what you hold on these customer ids.

The dashboards' per-customer facts (``insights``) are not deleted here: their next refresh (every two
minutes) sees the erasure and takes her purchases out of the facts and of every figure built on them, so
the stored figures stay exact. An erasure covers the customer and every record merged into her (they hold her old names and
identifiers). What stays: the customer row itself, emptied and marked ``erased_at`` (so foreign keys and
the audit trail keep pointing somewhere), hashed tombstones of her identifiers (so a re-import cannot bring
her back: ``identity.identifiers_tombstone``), the audit trail of who viewed her data (a legal record, no
personal data of hers beyond the id), and aggregate rollups that name nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from profiles import identity
from profiles.models import (
    Customer,
    CustomerSummary,
    Identifier,
    Interest,
    MatchReview,
    Merge,
    Note,
    PiiAccess,
    RejectedRow,
    Touchpoint,
)

customer_exporting = Signal()  # kwargs: customer_ids (list[int]); return (section, rows)
customer_erasing = Signal()  # kwargs: customer_ids (list[int]); delete what you hold on them

ERASED_CONSENT_SOURCE = "erasure"

# Her own fields in the export (the internal ids and generated search tokens are not hers).
_PROFILE_FIELDS = [
    "public_id", "first_name", "last_name", "preferred_name", "pronunciation", "birthday_month", "birthday_day",
    "postal_code", "home_store_code", "tier", "lifecycle",
    "consent_recognition", "consent_recognition_source", "consent_recognition_at",
    "consent_email", "consent_email_source", "consent_email_at",
    "consent_sms", "consent_sms_source", "consent_sms_at",
    "consent_surveys", "consent_surveys_source", "consent_surveys_at",
    "created_at", "updated_at",
]  # fmt: skip
_TOUCHPOINT_FIELDS = [
    "occurred_at", "channel", "moment", "event", "store_code", "associate_code", "order_id", "product_sku",
    "product_name", "category", "brand", "size", "color", "quantity", "price", "revenue", "currency", "properties",
]  # fmt: skip


class AlreadyErased(Exception):
    pass


@dataclass(frozen=True)
class Erasure:
    customer_ids: list[int]
    identifiers: int
    touchpoints: int
    rejected_rows_redacted: int


def _merged_into(customer: Customer) -> list[int]:
    """Her id and the ids of every record merged into her, at any depth."""
    ids, frontier = [customer.pk], [customer.pk]
    while frontier:
        found = Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        frontier = [pk for pk in found if pk not in ids]
        ids += frontier
    return ids


def _plain(value):
    """JSON-ready: dates as ISO strings, decimals and UUIDs as strings."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _rows(queryset, fields: list[str]) -> list[dict]:
    return [
        {name: _plain(value) for name, value in zip(fields, row, strict=True)} for row in queryset.values_list(*fields)
    ]


def customer_export(customer: Customer) -> dict:
    """Everything we hold on her, as plain JSON-ready data (her answer to a subject access request)."""
    ids = _merged_into(customer)
    export = {
        "exported_at": timezone.now().isoformat(),
        "profile": {name: _plain(getattr(customer, name)) for name in _PROFILE_FIELDS},
        "identifiers": _rows(
            Identifier.objects.filter(customer_id__in=ids).order_by("kind"), ["kind", "namespace", "value"]
        ),
        "summary": _rows(
            CustomerSummary.objects.filter(customer_id__in=ids),
            [
                "last_visit_at",
                "last_purchase_at",
                "visit_count",
                "order_count",
                "lifetime_value",
                "currency",
                "preferred_store",
                "open_cart",
                "wishlist",
                "sizes",
                "persona_name",
            ],
        ),  # fmt: skip
        "interests": _rows(
            Interest.objects.filter(customer_id__in=ids).order_by("-score"), ["kind", "label", "reason"]
        ),
        "notes": _rows(
            Note.objects.filter(customer_id__in=ids).order_by("created_at"), ["created_at", "store_code", "text"]
        ),
        "touchpoints": _rows(
            Touchpoint.objects.filter(customer_id__in=ids).order_by("occurred_at"), _TOUCHPOINT_FIELDS
        ),
    }
    for _receiver, answer in customer_exporting.send(sender=Customer, customer_ids=ids):
        if answer:
            section, rows = answer
            export[section] = [{name: _plain(value) for name, value in row.items()} for row in rows]
    return export


@transaction.atomic
def customer_erase(customer: Customer, *, by=None, ip: str | None = None) -> Erasure:
    """Forget her: personal data and everything derived from it, in every app, in one transaction.

    Her open cards leave the tablets (``clienteling.signals``), her identifiers become hashed tombstones so
    that no import or ingestion can recreate her, and the erasure itself is audited. Cannot be undone.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at:
        raise AlreadyErased(str(customer.public_id))
    ids = _merged_into(customer)
    values = list(
        Identifier.objects.filter(customer_id__in=ids, kind__in=["email", "phone", "loyalty_id"]).values_list(
            "value", flat=True
        )
    )
    identity.identifiers_tombstone(customer_ids=ids)
    identifiers, _ = Identifier.objects.filter(customer_id__in=ids).delete()
    # The importer keeps bad rows verbatim for the people fixing the feed: redact those that hold her email,
    # phone or loyalty id as we stored them (a row typed differently, e.g. a phone with spaces, is not found).
    redacted = 0
    for value in values:
        redacted += RejectedRow.objects.filter(raw__icontains=value).update(raw="[erased]")

    now = timezone.now()
    blank = {
        "first_name": "", "last_name": "", "preferred_name": "", "pronunciation": "", "birthday_month": None,
        "birthday_day": None, "postal_code": "", "home_store_code": "", "tier": "", "erased_at": now,
    }  # fmt: skip
    for purpose in ("recognition", "email", "sms", "surveys"):
        blank |= {
            f"consent_{purpose}": False,
            f"consent_{purpose}_source": ERASED_CONSENT_SOURCE,
            f"consent_{purpose}_at": now,
        }
    for record in Customer.objects.filter(pk__in=ids):
        for name, value in blank.items():
            setattr(record, name, value)
        record.save(update_fields=[*blank, "updated_at"])  # the store floor takes her cards down (signals)

    customer_erasing.send(sender=Customer, customer_ids=ids)
    touchpoints, _ = Touchpoint.objects.filter(customer_id__in=ids).delete()
    for model in (Interest, Note, CustomerSummary):
        model.objects.filter(customer_id__in=ids).delete()
    Merge.objects.filter(Q(survivor_id__in=ids) | Q(absorbed_id__in=ids)).delete()
    MatchReview.objects.filter(Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids)).delete()
    PiiAccess.objects.create(user=by, customer=customer, action="erase", ip=ip)
    return Erasure(customer_ids=ids, identifiers=identifiers, touchpoints=touchpoints, rejected_rows_redacted=redacted)
