"""Reads for the store floor: greeting cards, today's arrivals, expected appointments, the store display.

A greeting card renders from the precomputed CustomerSummary (profiles), never from the touchpoint
history, so it costs one query for a customer with 3 touchpoints or 30,000, and for one card or a feed
of twenty: the arrivals with customer, summary and appointment (joins), plus one JSON column with her top interests,
pinned notes and oldest open feedback follow-up (``_card_extras_sql``). Folding the follow-up in saved a
round trip: on the shared 2-core box each costs 1-2 ms.

Store and associate names ("last visit at Paris Marais", "Hugo is helping") come from a per-process copy
refreshed every minute: joining four more tables for two names cost more planning time than the rest of
the query (measured at 1M customers, docs/benchmarks.md "Store floor").
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache as cache_forever

from django.db.models import F, JSONField, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.dateparse import parse_datetime
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


@cache_forever
def _card_extras_sql() -> str:
    """Her top interests, pinned notes and oldest open follow-up as one JSON column of the card SELECT.

    Written as SQL rather than three ORM subqueries: building and compiling those cost ~4 ms of Python per
    card view on the 2-core box, more than the database work (docs/benchmarks.md, "Store floor"). Table
    names come from the models; "open" is the feedback app's own rule (``FollowUp.objects.unresolved()``:
    any status but resolved).
    """
    from feedback.models import FollowUp, FollowUpStatus, Invitation, PendingAnswer, Response

    arrival, interest, note = Arrival._meta.db_table, Interest._meta.db_table, Note._meta.db_table
    follow_up, response = FollowUp._meta.db_table, Response._meta.db_table
    invitation, pending = Invitation._meta.db_table, PendingAnswer._meta.db_table
    return f"""
    json_build_object(
      'interests', coalesce((
        SELECT json_agg(json_build_object('label', i.label, 'reason', i.reason) ORDER BY i.score DESC)
        FROM (SELECT label, reason, score FROM {interest} WHERE customer_id = {arrival}.customer_id
              ORDER BY score DESC LIMIT {TOP_INTERESTS}) i), '[]'::json),
      'notes', coalesce((
        SELECT json_agg(json_build_object('text', n.text) ORDER BY n.created_at DESC)
        FROM (SELECT text, created_at FROM {note} WHERE customer_id = {arrival}.customer_id AND pinned
              ORDER BY created_at DESC LIMIT {PINNED_NOTES}) n), '[]'::json),
      'follow_up', (
        SELECT json_build_object('score', r.score, 'comment', r.comment)
        FROM {follow_up} f JOIN {response} r ON r.id = f.response_id
        WHERE f.customer_id = {arrival}.customer_id AND f.status <> '{FollowUpStatus.RESOLVED.value}'
        ORDER BY f.created_at LIMIT 1),
      'pending_feedback', (
        SELECT json_build_object('score', p.score, 'at', p.answered_at)
        FROM {invitation} v JOIN {pending} p ON p.invitation_id = v.id
        WHERE v.customer_id = {arrival}.customer_id ORDER BY p.answered_at DESC LIMIT 1)
    )::jsonb"""  # noqa: S608 - identifiers and constants from the code, no input


def arrivals_for_cards():
    """Arrivals with everything their cards show, in one SELECT (see the module docstring)."""
    return (
        Arrival.objects.select_related("store", "customer", "customer__summary", "appointment")
        .annotate(card_extras=RawSQL(_card_extras_sql(), [], output_field=JSONField()))  # noqa: S611 - no input
        .order_by("-created_at")
    )


# One card by its key: the same SELECT as ``arrivals_for_cards()``, written once per process from the models'
# fields instead of being rebuilt by the ORM on every call. Building and compiling that queryset cost ~2 ms
# of Python per card view at 1M customers, as much as the rest of the view's queries together
# (docs/benchmarks.md, "Store floor"). Rows become model instances through ``Model.from_db`` with each
# field's database converters, and the relations are attached as select_related() would, so templates and
# ``cards_for()`` cannot tell the difference (tests/clienteling/test_card.py compares both).
def _card_tables():
    return [
        (Arrival, Arrival._meta.db_table),
        (Store, "card_store"),
        (Customer, "card_customer"),
        (CustomerSummary, "card_summary"),
        (Appointment, "card_appointment"),
    ]


@cache_forever
def _card_select(filters: tuple[str, ...]) -> str:
    arrival = Arrival._meta.db_table
    columns = ", ".join(
        f'{alias}."{field.column}"' for model, alias in _card_tables() for field in model._meta.concrete_fields
    )
    where = {
        "public_id": f"{arrival}.public_id = %s",
        "pk": f"{arrival}.id = %s",
        "store_id": f"{arrival}.store_id = %s",
        "store_code": "upper(card_store.code) = upper(%s) AND card_store.is_active",
        "associate_id": f"{arrival}.store_id IN (SELECT store_id FROM {Associate.stores.through._meta.db_table} "  # noqa: S608
        "WHERE associate_id = %s)",
    }
    return f"""
    SELECT {columns}, {_card_extras_sql()}
    FROM {arrival}
    JOIN {Store._meta.db_table} card_store ON card_store.id = {arrival}.store_id
    JOIN {Customer._meta.db_table} card_customer ON card_customer.id = {arrival}.customer_id
    LEFT JOIN {CustomerSummary._meta.db_table} card_summary ON card_summary.customer_id = card_customer.id
    LEFT JOIN {Appointment._meta.db_table} card_appointment ON card_appointment.id = {arrival}.appointment_id
    WHERE {" AND ".join(where[name] for name in filters)}"""  # noqa: S608 - identifiers from the models


@cache_forever
def _card_converters():
    """Per table: its fields with their database converters (JSON decoding and the like)."""
    from django.db import connection

    tables = []
    for model, alias in _card_tables():
        fields = []
        for model_field in model._meta.concrete_fields:
            column = model_field.get_col(alias)
            converters = connection.ops.get_db_converters(column) + model_field.get_db_converters(connection)
            fields.append((column, converters))
        tables.append((model, fields))
    return tables


def arrival_for_card(**filters) -> Arrival | None:
    """The arrival with everything its card shows (as ``arrivals_for_cards()``), by any of: ``public_id``,
    ``pk``, ``store_id``, ``store_code`` (case-insensitive, active stores only) and ``associate_id`` (only
    the stores that person works in). One query."""
    from django.db import connection

    names = tuple(sorted(filters))
    with connection.cursor() as cursor:
        cursor.execute(_card_select(names), [filters[name] for name in names])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, at = [], 0
    for model, fields in _card_converters():
        values = row[at : at + len(fields)]
        at += len(fields)
        if values[0] is None:  # the LEFT JOINs: no summary, no appointment
            objects.append(None)
            continue
        converted = []
        for value, (column, converters) in zip(values, fields, strict=True):
            for converter in converters:
                value = converter(value, column, connection)
            converted.append(value)
        objects.append(model.from_db(connection.alias, None, converted))
    arrival, store, customer, summary, appointment = objects
    arrival.store = store
    arrival.customer = customer
    arrival.appointment = appointment
    Customer.summary.related.set_cached_value(customer, summary)
    if summary is not None:
        summary.customer = customer
    extras = row[at]
    arrival.card_extras = json.loads(extras) if isinstance(extras, str) else extras
    return arrival


def card_may_show(arrival: Arrival) -> bool:
    customer = arrival.customer
    return customer.consent_recognition and customer.erased_at is None and customer.merged_into_id is None


# Names change rarely and every card needs them: kept in each process for a minute (no round trip at
# all), then re-read from the database. A name missing from the copy (a new hire) reloads it at once.
_NAMES_SECONDS = 60
_names: dict[str, tuple[float, dict]] = {}


def _names_cached(kind: str, load, needed=()) -> dict:
    at, names = _names.get(kind, (0.0, {}))
    if time.monotonic() - at > _NAMES_SECONDS or any(key not in names for key in needed if key):
        names = load()
        _names[kind] = (time.monotonic(), names)
    return names


def names_forget() -> None:
    """Drop this process's copy (a store or staff member was saved here: see signals.py)."""
    _names.clear()


def store_names() -> dict[str, str]:
    return _names_cached("stores", lambda: dict(Store.objects.values_list("code", "name")))


def associate_names(needed=()) -> dict[int, str]:
    """Staff names by id, for "Hugo is helping" and "with Hugo"."""
    return _names_cached("associates", lambda: {a.pk: a.name for a in Associate.objects.select_related("user")}, needed)


def staff_names_by_code() -> dict[str, str]:
    """Staff names by the code channel files write for them (their username), for "helped by Hugo Martin"."""
    return _names_cached(
        "associate_codes", lambda: {a.user.username.lower(): a.name for a in Associate.objects.select_related("user")}
    )


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


def _with_pending_feedback(summary: CustomerSummary | None, pending: dict | None) -> None:
    """Her newest answer may still be pending (the feedback app applies answers within seconds): show it."""
    if summary is None or not pending:
        return
    at = parse_datetime(pending["at"])
    if summary.last_feedback_at is None or summary.last_feedback_at <= at:
        summary.last_feedback_score, summary.last_feedback_at = pending["score"], at


def cards_for(arrivals: list[Arrival]) -> list[Card]:
    """Greeting cards for arrivals fetched with ``arrivals_for_cards()``: no further queries."""
    if not arrivals:
        return []
    names = store_names()
    staff = associate_names(
        [a.claimed_by_id for a in arrivals] + [a.appointment.associate_id for a in arrivals if a.appointment]
    )
    codes = staff_names_by_code()
    cards = []
    for arrival in arrivals:
        customer = arrival.customer
        summary = getattr(customer, "summary", None)
        extras = getattr(arrival, "card_extras", None) or {}
        _with_pending_feedback(summary, extras.get("pending_feedback"))
        card = Card(
            arrival=arrival,
            customer=customer,
            summary=summary,
            interests=extras.get("interests") or [],
            notes=extras.get("notes") or [],
            care=_care_flags(summary, extras.get("follow_up")),
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
                "associate": codes.get(str(purchase.get("associate", "")).lower(), purchase.get("associate", "")),
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
    arrival = arrival_for_card(store_id=store.pk, public_id=public_id)
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
