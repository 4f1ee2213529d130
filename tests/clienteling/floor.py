"""Shared data for the store-floor tests: a well-known customer with a full summary, and API keys."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.utils import timezone

from clienteling import push
from clienteling.redis import redis_client
from clienteling.services import api_key_create
from profiles.models import Customer, CustomerSummary, Identifier, IdentifierKind, Interest, Note
from tests.factories import CustomerFactory

JANE_EMAIL = "jane.doe@example.com"
JANE_PHONE = "+33612345678"


def make_customer(
    *,
    first_name="Jane",
    last_name="Doe",
    email=JANE_EMAIL,
    phone=JANE_PHONE,
    consent=True,
    feedback_score=None,
    complaint=None,
    interests=3,
    notes=1,
    **fields,
) -> Customer:
    customer = CustomerFactory(
        first_name=first_name,
        last_name=last_name,
        consent_recognition=consent,
        tier=fields.pop("tier", "gold"),
        lifecycle=fields.pop("lifecycle", "loyal"),
        **fields,
    )
    if email:
        Identifier.objects.create(customer=customer, kind=IdentifierKind.EMAIL, value=email)
    if phone:
        Identifier.objects.create(customer=customer, kind=IdentifierKind.PHONE, value=phone)
    now = timezone.now()
    CustomerSummary.objects.create(
        customer=customer,
        last_visit_at=now - dt.timedelta(days=20),
        last_visit_store="PAR01",
        last_purchase_at=now - dt.timedelta(days=20),
        last_purchase={
            "store": "PAR01",
            "channel": "store",
            "items": [{"name": "Cashmere sweater", "sku": "CS-1", "size": "M", "color": "navy"}],
            "associate": "hugo",
            "revenue": "240.00",
        },
        visit_count=7,
        order_count=5,
        lifetime_value=Decimal("1450.00"),
        currency="EUR",
        preferred_store="PAR01",
        open_cart=[{"name": "Silk scarf", "sku": "SS-2", "size": "", "at": now.isoformat()}],
        wishlist=[{"name": "Leather tote", "sku": "LT-3", "size": ""}],
        sizes={"tops": "M", "shoes": "38"},
        last_feedback_score=feedback_score,
        last_feedback_at=now - dt.timedelta(days=19) if feedback_score is not None else None,
        open_complaint=complaint or {},
    )
    labels = [
        ("Knitwear", "bought 3 times this year"),
        ("Acme", "viewed 12 times last month"),
        ("Scarves", "in her cart"),
    ]
    labels += [(f"Interest {i}", "seen once") for i in range(max(0, interests - 3))]
    Interest.objects.bulk_create(
        [
            Interest(
                customer=customer,
                kind="category",
                key=label.lower(),
                label=label,
                score=100 - i,
                reason=reason,
                last_at=now,
            )
            for i, (label, reason) in enumerate(labels[:interests])
        ]
    )
    for i in range(notes):
        Note.objects.create(customer=customer, text=f"Prefers fittings in the morning ({i})", pinned=True)
    return customer


def make_follow_up(customer, *, score: int, comment: str, store_code: str = "PAR01"):
    """An unhappy answer with its open follow-up, as the feedback app records them."""
    from feedback.models import FollowUp, Invitation, Response, Survey

    survey = Survey.objects.first() or Survey.objects.create(
        name="NPS", kind="nps", moments=["store_visit"], channels=["email"], token_salt="test-salt"
    )  # transactional tests flush the default survey the migration made
    now = timezone.now()
    invitation = Invitation.objects.create(
        survey=survey,
        touchpoint_id=1,
        customer=customer,
        channel="email",
        store_code=store_code,
        moment="store_visit",
        occurred_at=now,
        send_after=now,
        expires_at=now + dt.timedelta(days=7),
    )
    response = Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=survey.kind,
        customer=customer,
        score=score,
        comment=comment,
        store_code=store_code,
        moment="store_visit",
        invitation_channel="email",
        answered_at=now,
        first_answered_at=now,
    )
    return FollowUp.objects.create(
        response=response, customer=customer, store_code=store_code, due_at=now + dt.timedelta(days=1)
    )


def later_today(store, minutes: int = 30) -> dt.datetime:
    """A time ``minutes`` from now if that is still today at the store, else ``minutes`` ago: appointments are
    "today" by the store's calendar, and a run just before its midnight must not book her for tomorrow."""
    now = timezone.now()
    local = timezone.localtime(now, store.tz)
    step = dt.timedelta(minutes=minutes)
    return now + step if (local + step).date() == local.date() else now - step


def api_key_for(store):
    return api_key_create(name=f"test-{store.code}", store=store)[1]


class Listener:
    """Collects what is published on a store's floor channel (real Redis pub/sub)."""

    def __init__(self, store_code: str):
        self.pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(push.channel(store_code))
        self.pubsub.get_message(timeout=1)  # the subscribe confirmation

    def messages(self, timeout: float = 1.0) -> list[dict]:
        found = []
        deadline = timezone.now() + dt.timedelta(seconds=timeout)
        while timezone.now() < deadline:
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                found.append(json.loads(message["data"]))
            elif found:
                break
        return found

    def close(self):
        self.pubsub.close()


def make_shopper(*, first_name="Jane", last_name="Doe", email=JANE_EMAIL, phone=JANE_PHONE, consent=True, **fields):
    """A customer whose summary and interests the real derived-data refresh computed from her touchpoints."""
    from profiles.derived import customers_refresh
    from profiles.models import Touchpoint
    from profiles.services import live_source

    customer = CustomerFactory(first_name=first_name, last_name=last_name, consent_recognition=consent, **fields)
    if email:
        Identifier.objects.create(customer=customer, kind=IdentifierKind.EMAIL, value=email)
    if phone:
        Identifier.objects.create(customer=customer, kind=IdentifierKind.PHONE, value=phone)
    source, now = live_source(), timezone.now()
    history = [
        # days ago, moment, channel, product, category, brand, size, store, associate, revenue
        (200, "purchased", "store", "Merino crew neck", "Knitwear", "Maison Laine", "M", "PAR01", "hugo", 180),
        (95, "purchased", "store", "Wool blazer", "Tailoring", "Atelier Nord", "38", "PAR01", "lea", 420),
        (40, "store_visit", "store", "", "", "", "", "PAR01", "", None),
        (40, "purchased", "store", "Cashmere sweater", "Knitwear", "Maison Laine", "M", "PAR01", "hugo", 240),
        (6, "product_viewed", "web", "Cashmere cardigan", "Knitwear", "Maison Laine", "", "", "", None),
        (5, "product_viewed", "web", "Cashmere cardigan", "Knitwear", "Maison Laine", "", "", "", None),
        (3, "cart_added", "web", "Silk scarf", "Accessories", "Soie de Lyon", "", "", "", None),
        (2, "wishlisted", "app", "Leather tote", "Bags", "Atelier Nord", "", "", "", None),
    ]
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(
                source=source, external_id=f"shopper-{customer.pk}-{i}", customer=customer,
                occurred_at=now - dt.timedelta(days=days), channel=channel, moment=moment, store_code=store,
                associate_code=associate, product_name=product, category=category, brand=brand, size=size,
                revenue=Decimal(revenue) if revenue else None, currency="EUR" if revenue else "",
            )
            for i, (days, moment, channel, product, category, brand, size, store, associate, revenue) in enumerate(history)
        ]
    )  # fmt: skip
    customers_refresh([customer.pk])
    return customer
