"""Reads for the profile page, the timeline and customer search: a fixed number of queries each,
whatever the length of her history or the number of results."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from profiles import search
from profiles.masking import mask
from profiles.models import (
    Channel,
    Customer,
    CustomerSummary,
    Identifier,
    Interest,
    InterestKind,
    MatchReview,
    Merge,
    Moment,
    Note,
    Touchpoint,
)
from profiles.stores import StoreInfo, store_info

TIMELINE_PAGE = 20
NOTES_SHOWN = 30
INTERESTS_SHOWN = {InterestKind.PRODUCT: 3, InterestKind.CATEGORY: 2, InterestKind.BRAND: 2}
IDENTIFIER_ORDER = ["loyalty_id", "email", "phone", "customer_id", "anonymous_id"]


class StoreDirectory:
    """Store names and time zones for one request: one lookup per distinct store code, not per row."""

    def __init__(self, fallback_code: str = ""):
        self._known: dict[str, StoreInfo] = {}
        self.fallback = self.get(fallback_code)

    def get(self, code: str) -> StoreInfo:
        if code not in self._known:
            self._known[code] = store_info(code)
        return self._known[code]

    def tz(self, code: str) -> zoneinfo.ZoneInfo:
        info = self.get(code) if code else self.fallback
        try:
            return zoneinfo.ZoneInfo(info.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


def summary_of(customer: Customer) -> CustomerSummary | None:
    try:
        return customer.summary
    except CustomerSummary.DoesNotExist:
        return None


def customer_for_profile(public_id) -> Customer | None:
    """The customer (live, merged or erased: the view decides) with her summary, or None."""
    return Customer.objects.select_related("summary").filter(public_id=public_id).first()


def masked_identifiers(identifiers) -> list[dict]:
    rows = [
        {"kind": i.kind, "label": i.get_kind_display(), "masked": mask(i.kind, i.value), "namespace": i.namespace}
        for i in identifiers
    ]
    rank = {kind: n for n, kind in enumerate(IDENTIFIER_ORDER)}
    return sorted(rows, key=lambda r: (rank.get(r["kind"], 99), r["masked"]))


def interests_by_kind(customer: Customer) -> list[tuple[str, list[Interest]]]:
    """Her strongest interests, products first: one query for all kinds."""
    grouped: dict[str, list[Interest]] = {kind: [] for kind in INTERESTS_SHOWN}
    for interest in Interest.objects.filter(customer=customer).order_by("kind", "-score"):
        shown = grouped.setdefault(interest.kind, [])
        if len(shown) < INTERESTS_SHOWN.get(interest.kind, 3):
            shown.append(interest)
    return [(InterestKind(kind).label, items) for kind, items in grouped.items() if items]


@dataclass
class TimelineFilter:
    channel: str = ""
    moment: str = ""
    before: tuple[datetime, int] | None = None

    @classmethod
    def from_query(cls, params) -> TimelineFilter:
        channel = params.get("channel", "")
        moment = params.get("moment", "")
        return cls(
            channel=channel if channel in Channel.values else "",
            moment=moment if moment in Moment.values else "",
            before=parse_cursor(params.get("before", "")),
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.channel or self.moment)


def cursor_for(touchpoint: Touchpoint) -> str:
    micros = int(touchpoint.occurred_at.timestamp() * 1_000_000)
    return f"{micros}.{touchpoint.pk}"


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    micros, _, pk = (value or "").partition(".")
    if not (micros.lstrip("-").isdigit() and pk.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), int(pk)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass
class TimelineEntry:
    touchpoint: Touchpoint
    moment_label: str
    channel_label: str
    store_name: str
    local_time: datetime
    detail: str


@dataclass
class TimelinePage:
    entries: list[TimelineEntry] = field(default_factory=list)
    next_cursor: str = ""


def timeline_page(customer: Customer, filters: TimelineFilter, stores: StoreDirectory) -> TimelinePage:
    """One page of her touchpoints, newest first, by keyset (served by the (customer, -occurred_at) index)."""
    touchpoints = Touchpoint.objects.filter(customer=customer).defer("properties", "event", "external_id")
    if filters.channel:
        touchpoints = touchpoints.filter(channel=filters.channel)
    if filters.moment:
        touchpoints = touchpoints.filter(moment=filters.moment)
    if filters.before:
        at, pk = filters.before
        touchpoints = touchpoints.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=pk))
    rows = list(touchpoints.order_by("-occurred_at", "-pk")[: TIMELINE_PAGE + 1])
    page = TimelinePage()
    for touchpoint in rows[:TIMELINE_PAGE]:
        page.entries.append(
            TimelineEntry(
                touchpoint=touchpoint,
                moment_label=touchpoint.get_moment_display(),
                channel_label=touchpoint.get_channel_display(),
                store_name=stores.get(touchpoint.store_code).name or touchpoint.store_code,
                local_time=timezone.localtime(touchpoint.occurred_at, stores.tz(touchpoint.store_code)),
                detail=_detail(touchpoint),
            )
        )
    if len(rows) > TIMELINE_PAGE:
        page.next_cursor = cursor_for(rows[TIMELINE_PAGE - 1])
    return page


def _detail(touchpoint: Touchpoint) -> str:
    parts = [touchpoint.product_name or touchpoint.product_sku]
    if touchpoint.size:
        parts.append(f"size {touchpoint.size}")
    if touchpoint.color:
        parts.append(touchpoint.color)
    if touchpoint.quantity and touchpoint.quantity > 1:
        parts.append(f"\u00d7{touchpoint.quantity}")
    if touchpoint.revenue is not None and touchpoint.moment in ("purchased", "returned"):
        parts.append(f"{touchpoint.revenue} {touchpoint.currency}".strip())
    return " \u00b7 ".join(p for p in parts if p)


def notes_for(customer: Customer) -> list[Note]:
    return list(
        Note.objects.filter(customer=customer)
        .select_related("author__associate")
        .order_by("-pinned", "-created_at")[:NOTES_SHOWN]
    )


def merges_into(customer: Customer) -> list[Merge]:
    return list(Merge.objects.filter(survivor=customer).select_related("undone_by").order_by("-created_at")[:20])


@dataclass
class SearchResult:
    customer: Customer
    summary: CustomerSummary | None
    identifiers: list[dict]


def search_results(text: str) -> list[SearchResult]:
    """Customers matching what was typed, best first: three queries whatever the number of results."""
    ids = search.customer_ids_matching(text)
    if not ids:
        return []
    customers = (
        Customer.objects.live()
        .filter(pk__in=ids)
        .select_related("summary")
        .prefetch_related(
            Prefetch(
                "identifiers",
                queryset=Identifier.objects.filter(kind__in=["email", "phone", "loyalty_id"]).order_by("kind", "pk"),
            )
        )
    )
    by_id = {c.pk: c for c in customers}
    return [
        SearchResult(customer=c, summary=summary_of(c), identifiers=masked_identifiers(c.identifiers.all()))
        for c in (by_id.get(pk) for pk in ids)
        if c is not None
    ]


def open_reviews():
    """Pairs waiting for a person to decide, oldest first, with both sides' identifiers and summaries."""
    identifiers = Prefetch("identifiers", queryset=Identifier.objects.order_by("kind", "pk"))
    return (
        MatchReview.objects.filter(resolved_at__isnull=True)
        .select_related("customer_a__summary", "customer_b__summary")
        .prefetch_related(
            Prefetch("customer_a__identifiers", queryset=identifiers.queryset),
            Prefetch("customer_b__identifiers", queryset=identifiers.queryset),
        )
        .order_by("created_at", "pk")
    )
