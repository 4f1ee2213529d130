"""Pushing greeting cards to a store's tablets: Redis pub/sub, one channel per store.

A card is the same for every tablet of a store, so it is rendered once, by the process that changed it,
and published as HTML; each tablet's stream (``floor_views.stream``) forwards it as a server-sent event.
Messages are JSON: ``{"customer": <id or null>, "html": "..."}``; ``customer`` is set when the HTML shows
her personal data, so that each tablet's stream records the card view in the PII audit trail.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from clienteling.redis import redis_client

log = logging.getLogger(__name__)


def channel(store_code: str) -> str:
    # Pub/sub channels ignore Redis database numbers: prefix them like cache keys so that parallel test
    # runs (and two installs sharing one Redis) never hear each other's stores.
    return f"{settings.CACHES['default']['KEY_PREFIX']}:floor:{store_code.upper()}"


def publish(store_code: str, html: str, *, customer_id: int | None = None) -> None:
    try:
        redis_client().publish(channel(store_code), json.dumps({"customer": customer_id, "html": html}))
    except Exception:  # the tablets' polling fallback will show it; never fail the write that caused it
        log.exception("floor_publish_failed", extra={"store": store_code})


def card_publish(arrival_id: int) -> None:
    """Render an arrival's card (and its row in today's list) once and send it to the store's tablets."""
    from clienteling import selectors

    arrival = selectors.arrival_for_card(pk=arrival_id)
    if arrival is None:
        return
    if not selectors.card_may_show(arrival):
        card_remove_publish([arrival])
        return
    card = selectors.cards_for([arrival])[0]
    with timezone.override(arrival.store.tz):
        html = render_to_string("clienteling/floor.html#card_event", {"card": card, "store": arrival.store})
    publish(arrival.store.code, html, customer_id=arrival.customer_id)


def card_remove_publish(arrivals) -> None:
    """Take cards (and their rows in today's list) off every tablet: consent withdrawn, erased."""
    by_store: dict[str, list[str]] = {}
    for arrival in arrivals:
        by_store.setdefault(arrival.store.code, []).append(str(arrival.public_id))
    for code, ids in by_store.items():
        html = render_to_string("clienteling/floor.html#remove_event", {"ids": ids})
        publish(code, html)
