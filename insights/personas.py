"""Personas: explainable segments built from journeys.

Each customer gets the FIRST persona in this list whose rule she matches; the last one catches the rest.
Rules read features computed nightly from her purchases (insights PurchaseFact) and her touchpoints of
the last 365 days: orders, recency, channel mix, events. The rule text is what the dashboard shows, so
a manager can always tell why someone is in a segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Persona:
    code: str
    name: str
    description: str
    rule: str  # the rule in plain words
    rule_sql: str  # the same rule over the nightly feature columns


PERSONAS: list[Persona] = [
    Persona(
        "loyal_regular",
        _("Loyal regulars"),
        _("Your best customers: they buy often and have bought recently."),
        _("4 or more orders in the last 12 months, the latest within 90 days."),
        "orders_365 >= 4 AND last_purchase_at >= %(now)s - interval '90 days'",
    ),
    Persona(
        "drifting_repeat",
        _("Drifting repeat buyers"),
        _("They came back before, but nothing for six months: worth a personal note."),
        _("2 or more orders ever, none in the last 180 days."),
        "orders_all >= 2 AND last_purchase_at < %(now)s - interval '180 days'",
    ),
    Persona(
        "newcomer",
        _("Newcomers"),
        _("First purchase in the last two months: the second visit decides if they stay."),
        _("First order within the last 60 days."),
        "first_purchase_at >= %(now)s - interval '60 days'",
    ),
    Persona(
        "omnichannel",
        _("Omnichannel shoppers"),
        _("They buy both in store and online."),
        _("Orders in store and in a digital channel in the last 12 months."),
        "bought_store AND bought_online",
    ),
    Persona(
        "store_loyalist",
        _("In-store loyalists"),
        _("Most of what they do with us happens in the store."),
        _("At least one order, and 70% or more of last year's touchpoints in a store or kiosk."),
        "orders_all >= 1 AND touches_365 > 0 AND store_touches >= 0.7 * touches_365",
    ),
    Persona(
        "digital_first",
        _("Digital-first buyers"),
        _("They browse and buy mostly on the website or the app."),
        _("At least one order, and 70% or more of last year's touchpoints on web or app."),
        "orders_all >= 1 AND touches_365 > 0 AND digital_touches >= 0.7 * touches_365",
    ),
    Persona(
        "event_goer",
        _("Event lovers"),
        _("They come to previews and events: invite them first."),
        _("Attended at least one event in the last 12 months."),
        "events >= 1",
    ),
    Persona(
        "window_shopper",
        _("Window shoppers"),
        _("Active lately but have never bought: browsing, wishlisting, visiting."),
        _("No order ever, and a touchpoint in the last 90 days."),
        "orders_all = 0 AND last_seen_at >= %(now)s - interval '90 days'",
    ),
    Persona(
        "dormant",
        _("Dormant"),
        _("Nothing from them in a year."),
        _("No touchpoint in the last 12 months."),
        "last_seen_at IS NULL",
    ),
    Persona(
        "occasional",
        _("Occasional shoppers"),
        _("Everyone else: they buy now and then, in no clear pattern."),
        _("None of the rules above."),
        "true",
    ),
]

BY_CODE = {p.code: p for p in PERSONAS}
