"""Writes on profiles that are not bulk imports: live touchpoints, consent, new customers.

The bulk paths (files, HTTP batches) live in the importer; these are the one-at-a-time use cases of the
store floor, the kiosk and the feedback loop.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from profiles import derived
from profiles.models import (
    Channel,
    ConsentPurpose,
    Customer,
    Identifier,
    IdentifierKind,
    MatchReview,
    Note,
    Source,
    Touchpoint,
)
from profiles.normalize import normalize
from profiles.stores import store_info

LIVE_SOURCE = "clienteling"  # the app's own events: arrivals, assisted visits, follow-up resolutions


def live_source() -> Source:
    source, _ = Source.objects.get_or_create(name=LIVE_SOURCE, defaults={"kind": Channel.STORE})
    return source


@transaction.atomic
def touchpoint_record(
    *,
    customer: Customer,
    moment: str,
    channel: str,
    occurred_at: datetime | None = None,
    store_code: str = "",
    associate_code: str = "",
    external_id: str | None = None,
    source: Source | None = None,
    revenue: Decimal | None = None,
    currency: str = "",
    product_name: str = "",
    product_sku: str = "",
    category: str = "",
    brand: str = "",
    size: str = "",
    properties: dict | None = None,
) -> Touchpoint:
    """Record one live touchpoint (idempotent on external_id) and refresh her summary after commit."""
    source = source or live_source()
    touchpoint, _ = Touchpoint.objects.get_or_create(
        source=source,
        external_id=external_id or f"live-{uuid.uuid4()}",
        defaults={
            "customer": customer,
            "occurred_at": occurred_at or timezone.now(),
            "channel": channel,
            "moment": moment,
            "store_code": store_code,
            "associate_code": associate_code,
            "revenue": revenue,
            "currency": currency,
            "product_name": product_name,
            "product_sku": product_sku,
            "category": category,
            "brand": brand,
            "size": size,
            "properties": properties or {},
        },
    )
    transaction.on_commit(lambda: derived.customers_refresh([customer.pk]))
    return touchpoint


@transaction.atomic
def customer_set_consent(*, customer: Customer, purpose: str, granted: bool, source: str) -> None:
    """Set one consent purpose, remembering where and when it was given or withdrawn."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    setattr(customer, f"consent_{purpose}", granted)
    setattr(customer, f"consent_{purpose}_source", source[:100])
    setattr(customer, f"consent_{purpose}_at", timezone.now())
    customer.save(
        update_fields=[f"consent_{purpose}", f"consent_{purpose}_source", f"consent_{purpose}_at", "updated_at"]
    )


def customer_find(*, kind: str, value: str, store_code: str = "") -> Customer | None:
    """The live customer behind one identifier, following merges; None when nobody (or a placeholder)."""
    try:
        normalized = normalize(kind, value, region=store_info(store_code).country)
    except ValueError:
        return None
    if normalized is None:
        return None
    namespace = ""
    identifier = (
        Identifier.objects.select_related("customer").filter(kind=kind, namespace=namespace, value=normalized).first()
    )
    if identifier is None:
        return None
    return customer_survivor(identifier.customer)  # merged identifiers normally move; be safe


def customer_survivor(customer: Customer) -> Customer | None:
    """Follow merges to the live customer (a chain of merges, guarded against loops); None when erased."""
    seen = set()
    while customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = customer.merged_into
    return None if customer.erased_at or customer.merged_into_id else customer


@transaction.atomic
def customer_register(
    *,
    first_name: str,
    last_name: str = "",
    email: str = "",
    phone: str = "",
    store_code: str = "",
    consents: dict[str, bool] | None = None,
    consent_source: str,
) -> Customer:
    """A new customer who signs up herself (kiosk, store): identifiers normalized, consent as she gave it."""
    region = store_info(store_code).country
    identifiers = []
    if email:
        value = normalize(IdentifierKind.EMAIL, email, region=region)
        if value:
            identifiers.append((IdentifierKind.EMAIL, value))
    if phone:
        value = normalize(IdentifierKind.PHONE, phone, region=region)
        if value:
            identifiers.append((IdentifierKind.PHONE, value))
    if not identifiers:
        raise ValueError("an email address or a phone number is required")
    customer = Customer.objects.create(
        first_name=first_name.strip()[:100], last_name=last_name.strip()[:100], home_store_code=store_code
    )
    Identifier.objects.bulk_create([Identifier(customer=customer, kind=k, value=v) for k, v in identifiers])
    for purpose, granted in (consents or {}).items():
        if granted:
            customer_set_consent(customer=customer, purpose=purpose, granted=True, source=consent_source)
    return customer


NOTE_MAX_LENGTH = 2000


class NoteInvalid(ValueError):
    """The note cannot be saved; the message says why in words the associate understands."""


@transaction.atomic
def note_add(*, customer: Customer, author, text: str, store_code: str = "") -> Note:
    """Add an associate's note to her profile (trimmed; empty or over 2,000 characters is refused)."""
    text = (text or "").strip()
    if not text:
        raise NoteInvalid("Write something before saving the note.")
    if len(text) > NOTE_MAX_LENGTH:
        raise NoteInvalid(f"A note can be at most {NOTE_MAX_LENGTH:,} characters (this one has {len(text):,}).")
    return Note.objects.create(
        customer=customer,
        author=author if getattr(author, "is_authenticated", False) else None,
        store_code=store_code[:20],
        text=text,
    )


@transaction.atomic
def note_pin(*, note: Note, pinned: bool) -> Note:
    """Pin a note to the top of her profile, or unpin it."""
    if note.pinned != pinned:
        note.pinned = pinned
        note.save(update_fields=["pinned"])
    return note


@transaction.atomic
def match_review_dismiss(*, review: MatchReview) -> None:
    """ "Not the same person": close the suggestion and keep the pair apart in later imports."""
    from profiles.identity import KEPT_APART  # identity imports this module's neighbours; keep the edge lazy

    updated = MatchReview.objects.filter(pk=review.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=KEPT_APART
    )
    if not updated:
        raise ValueError("this suggestion was already resolved")
