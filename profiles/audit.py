"""The PII audit trail: every view of a customer's personal data leaves a row."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from profiles.models import Customer, PiiAccess


def pii_viewed(request: HttpRequest, customer: Customer | int, *, action: str, store_code: str = "") -> None:
    """Record that the signed-in user saw this customer's personal data."""
    PiiAccess.objects.create(
        user=request.user if request.user.is_authenticated else None,
        customer_id=customer if isinstance(customer, int) else customer.pk,
        action=action,
        store_code=store_code,
        ip=request.META.get("REMOTE_ADDR") or None,
    )


def pii_viewed_many(request: HttpRequest, customer_ids: Iterable[int], *, action: str, store_code: str = "") -> None:
    """One INSERT for a list of customers (search results, a feed of cards)."""
    user = request.user if request.user.is_authenticated else None
    ip = request.META.get("REMOTE_ADDR") or None
    PiiAccess.objects.bulk_create(
        [PiiAccess(user=user, customer_id=cid, action=action, store_code=store_code, ip=ip) for cid in customer_ids]
    )
