"""Reads for the store floor: greeting cards, today's arrivals, expected appointments, the store display.

A greeting card renders from the precomputed CustomerSummary (profiles), never from the touchpoint
history, so it costs the same one query for a customer with 3 touchpoints or 30,000, and for one card
or a feed of twenty:

1. the arrivals with customer, summary and appointment (joins), her top interests and pinned notes as two
   ``ARRAY(SELECT ... LIMIT n)`` columns, and her oldest open feedback follow-up (the feedback app's own
   ``FollowUp.objects.unresolved()``, with the score and comment that opened it) as a JSON column, all in
   the same SELECT. One round trip was worth folding in: on the shared 2-core box each costs 1-2 ms.

Store and associate names ("last visit at Paris Marais", "Hugo is helping") come from the cache: joining
four more tables for two names cost more in planning time than the rest of the query (measured at 1M
customers, docs/benchmarks.md "Store floor").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import JSONObject, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from clienteling.models import Appointment, AppointmentStatus, Arrival, ArrivalState, Associate, Store
from profiles.models import Customer, CustomerSummary, Interest, Lifecycle, Note

TOP_INTERESTS = 3
PINNED_NOTES = 3
DETRACTOR_MAX_SCORE = 6  # NPS: 0-6 detractors


@dataclass
class Card:
    arrival: Arrival
    customer: Customer
    summary: CustomerSummary | None
    interests: list[dict] = field(default_factory=list)  # {"label", "reason"}, best first
    notes: list[dict] = field(default_factory=list)  # {"text"}, newest first
    appointment_with: str = ""
    care: list[dict] = field(default_factory=list)
    talking_points: list[str] = field(default_factory=list)
    last_purchase: dict | None = None

    @property
    def dom_id(self) -> str:
        return f"arrival-{self.arrival.public_id}"


def _open_follow_up():
    from feedback.models import FollowUp

    return Subquery(
        FollowUp.objects.unresolved()
        .filter(customer_id=OuterRef("customer_id"))
        .order_by("created_at")
        .values(json=JSONObject(score="response__score", comment="response__comment"))[:1]
    )


def arrivals_for_cards():
    """Arrivals with everything their cards show, in one SELECT (see the module docstring)."""
    return (
        Arrival.objects.select_related("store", "customer", "customer__summary", "appointment")
        .annotate(
            open_follow_up=_open_follow_up(),
            top_interests=ArraySubquery(
                Interest.objects.filter(customer_id=OuterRef("customer_id"))
                .order_by("-score")
                .values(json=JSONObject(label="label", reason="reason"))[:TOP_INTERESTS]
            ),
            pinned_notes=ArraySubquery(
                Note.objects.filter(customer_id=OuterRef("customer_id"), pinned=True)
                .order_by("-created_at")
                .values(json=JSONObject(text="text"))[:PINNED_NOTES]
            ),
        )
        .order_by("-created_at")
    )


def card_may_show(arrival: Arrival) -> bool:
    customer = arrival.customer
    return customer.consent_recognition and customer.erased_at is None and customer.merged_into_id is None


def store_names() -> dict[str, str]:
    names = cache.get("floor:store-names")
    if names is None:
        names = dict(Store.objects.values_list("code", "name"))
        cache.set("floor:store-names", names, timeout=300)
    return names


def associate_names(needed=()) -> dict[int, str]:
    """Staff names by id, cached; reloaded when someone new shows up (a new hire's first claim)."""
    names = cache.get("floor:associate-names")
    if names is None or any(pk not in names for pk in needed if pk):
        names = {a.pk: a.name for a in Associate.objects.select_related("user")}
        cache.set("floor:associate-names", names, timeout=300)
    return names


def _ranked(queryset, *, order_by, limit: int):
    return queryset.annotate(rank=Window(RowNumber(), partition_by=[F("customer_id")], order_by=order_by)).filter(
        rank__lte=limit
    )


def _follow_up_facts(follow_up: dict) -> tuple[int | None, str]:
    return follow_up.get("score"), (follow_up.get("comment") or "").strip()


def _care_flags(summary: CustomerSummary | None, follow_up) -> list[dict]:
    care = []
    if follow_up is not None:
        score, comment = _follow_up_facts(follow_up)
        text = (
            _("Scored %(score)s after her last visit") % {"score": score}
            if score is not None
            else _("Unhappy last time")
        )
        care.append({"kind": "detractor", "title": text, "quote": comment[:160], "detail": _("Follow-up still open")})
    elif summary and summary.last_feedback_score is not None and summary.last_feedback_score <= DETRACTOR_MAX_SCORE:
        care.append(
            {
                "kind": "detractor",
                "title": _("Scored %(score)s after her last visit") % {"score": summary.last_feedback_score},
                "quote": "",
                "detail": "",
            }
        )
    if summary and summary.open_complaint:
        complaint = summary.open_complaint
        care.append(
            {
                "kind": "complaint",
                "title": _("Open service complaint"),
                "quote": str(complaint.get("text", ""))[:160],
                "detail": str(complaint.get("channel", "")).replace("_", " "),
            }
        )
    return care


def _item_label(item: dict) -> str:
    name = str(item.get("name") or item.get("sku") or "")
    size = item.get("size")
    return f"{name} ({size})" if name and size else name


def _talking_points(card: Card, *, today: dt.date) -> list[str]:
    summary, customer, store = card.summary, card.customer, card.arrival.store
    points = []
    if summary and summary.open_cart:
        points.append(_("Still in her cart: %(item)s") % {"item": _item_label(summary.open_cart[0])})
    if summary and summary.wishlist:
        points.append(_("On her wishlist: %(item)s") % {"item": _item_label(summary.wishlist[0])})
    if customer.birthday_month == today.month:
        points.append(_("Her birthday is this month"))
    previous = card.arrival.previous_visit_at
    if previous is None:
        points.append(_("Her first visit to one of our stores: offer a tour"))
    elif customer.lifecycle == Lifecycle.LAPSED or (timezone.now() - previous).days > 180:
        points.append(_("First visit in a long while: welcome her back"))
    if summary and summary.preferred_store and summary.preferred_store.upper() != store.code.upper():
        name = store_names().get(summary.preferred_store, summary.preferred_store)
        points.append(_("Usually shops at %(store)s") % {"store": name})
    if card.interests and len(points) < 3:
        points.append(_("Ask about %(label)s") % {"label": card.interests[0]["label"]})
    return points[:4]


def cards_for(arrivals: list[Arrival]) -> list[Card]:
    """Greeting cards for arrivals fetched with ``arrivals_for_cards()``: no further queries."""
    if not arrivals:
        return []
    names = store_names()
    staff = associate_names(
        [a.claimed_by_id for a in arrivals] + [a.appointment.associate_id for a in arrivals if a.appointment]
    )
    cards = []
    for arrival in arrivals:
        customer = arrival.customer
        summary = getattr(customer, "summary", None)
        card = Card(
            arrival=arrival,
            customer=customer,
            summary=summary,
            interests=getattr(arrival, "top_interests", None) or [],
            notes=getattr(arrival, "pinned_notes", None) or [],
            care=_care_flags(summary, getattr(arrival, "open_follow_up", None)),
        )
        if arrival.appointment is not None:
            card.appointment_with = staff.get(arrival.appointment.associate_id, "")
        arrival.claimed_by_name = staff.get(arrival.claimed_by_id, "")
        if summary and summary.last_purchase_at:
            purchase = summary.last_purchase or {}
            card.last_purchase = {
                "at": summary.last_purchase_at,
                "where": names.get(purchase.get("store", ""), purchase.get("store", ""))
                or str(purchase.get("channel", "")).replace("_", " "),
                "items": [_item_label(i) for i in purchase.get("items", [])[:3] if isinstance(i, dict)],
                "associate": purchase.get("associate", ""),
            }
        arrival.previous_visit_store_name = names.get(arrival.previous_visit_store, arrival.previous_visit_store)
        card.talking_points = _talking_points(card, today=timezone.localdate(timezone=arrival.store.tz))
        cards.append(card)
    return cards


def open_cards(store: Store) -> list[Card]:
    """The cards on the store's tablets now: new first, then the ones being helped."""
    arrivals = list(arrivals_for_cards().filter(store=store).open())
    return cards_for(arrivals)


def card_for(store: Store, public_id) -> Card | None:
    arrival = arrivals_for_cards().filter(store=store, public_id=public_id).first()
    if arrival is None or not card_may_show(arrival):
        return None
    return cards_for([arrival])[0]


def start_of_day(store: Store) -> dt.datetime:
    today = timezone.localdate(timezone=store.tz)
    return dt.datetime.combine(today, dt.time.min, tzinfo=store.tz)


def today_arrivals(store: Store) -> list[Arrival]:
    """Today's arrivals at the store (store time), every state, for the feed: one query."""
    arrivals = list(
        Arrival.objects.filter(store=store, created_at__gte=start_of_day(store))
        .filter(customer__consent_recognition=True, customer__erased_at__isnull=True)
        .select_related("customer")
        .order_by("-created_at")[:100]
    )
    staff = associate_names([a.claimed_by_id for a in arrivals])
    for arrival in arrivals:
        arrival.claimed_by_name = staff.get(arrival.claimed_by_id, "")
    return arrivals


def expected_today(store: Store) -> list[Appointment]:
    """Today's appointments not yet arrived, for the "expected" list: one query."""
    return list(
        Appointment.objects.on_day(store, timezone.localdate(timezone=store.tz))
        .filter(status=AppointmentStatus.BOOKED)
        .select_related("customer")
    )


def display_themes(store: Store, *, limit: int = 6) -> list[dict]:
    """What the in-store screen should feature: the interests of the customers in the store right now.

    Only labels, counted across everyone in the store, never who: categories and brands, plus products as
    "new in" tiles. Nothing here names or singles out a person.
    """
    in_store = Arrival.objects.filter(
        store=store,
        state__in=[ArrivalState.NEW, ArrivalState.CLAIMED, ArrivalState.DONE],
        created_at__gte=timezone.now() - dt.timedelta(hours=1),
        customer__consent_recognition=True,
    ).values("customer_id")
    ranked = _ranked(Interest.objects.filter(customer_id__in=in_store), order_by=F("score").desc(), limit=3)
    counts: Counter = Counter()
    kinds: dict[str, str] = {}
    for kind, label in ranked.values_list("kind", "label"):
        counts[label] += 1
        kinds[label] = kind
    return [{"label": label, "kind": kinds[label]} for label, _n in counts.most_common(limit)]
