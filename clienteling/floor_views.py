"""The store floor: arrivals feed and greeting cards on the tablets, the kiosk at the door, the store display.

Pages are ordinary (WSGI-friendly) views; only ``stream`` is async, holding one Redis subscription per
tablet. Served over WSGI the stream answers 204 and the tablets fall back to polling the feed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clienteling import devices, push, selectors, services
from clienteling.access import associate_for, staff_required
from clienteling.models import Arrival, ArrivalSource, Associate, Role, Store
from profiles.audit import pii_viewed, pii_viewed_many
from profiles.models import ConsentPurpose, PiiAccess
from profiles.services import customer_find, customer_register

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
KIOSK_SESSION_KEY = "kiosk_identifier"
KIOSK_IDENTIFIER_SECONDS = 180  # how long the join form may prefill what she typed at check-in


# --- Tablets -----------------------------------------------------------------------------------------


def floor_store(request: HttpRequest) -> Store | None:
    """The store a tablet shows: the device's own, else the first store this person works in."""
    device = devices.device_for(request)
    if device is not None:
        return device.store
    if not request.associate.pk:  # a superuser without a staff record: every store
        return Store.objects.active().first()
    return request.associate.visible_stores().first()


def staff_store(request: HttpRequest, code: str) -> Store:
    """The store named in the URL if this person works there (admins: any); 404 otherwise, in one query."""
    associate = request.associate
    stores = Store.objects.active() if associate.role == Role.ADMIN else associate.stores.filter(is_active=True)
    store = stores.filter(code__iexact=code).first()
    if store is None:
        raise Http404
    return store


def _render_floor(request: HttpRequest, store: Store | None, template: str) -> HttpResponse:
    context = {"store": store, "device": devices.device_for(request)}
    if store is not None:
        cards = selectors.open_cards(store)
        today = selectors.today_arrivals(store)
        expected = selectors.expected_today(store)
        context.update(cards=cards, today=today, expected=expected)
        if not template.endswith("#feed"):
            stores = request.associate.visible_stores() if request.associate.pk else Store.objects.active()
            context["stores"] = list(stores.only("code", "name"))
        pii_viewed_many(request, [c.customer.pk for c in cards], action="card_view", store_code=store.code)
        listed = {a.customer_id for a in today} | {a.customer_id for a in expected}
        pii_viewed_many(request, sorted(listed), action="floor_list_view", store_code=store.code)
        with timezone.override(store.tz):
            return render(request, template, context)
    return render(request, template, context)


def home(request: HttpRequest) -> HttpResponse:
    """The tablet's home: today on the floor of its store (``clienteling.views.home`` delegates here)."""
    return _render_floor(request, floor_store(request), "clienteling/home.html")


@staff_required
def floor(request: HttpRequest, code: str) -> HttpResponse:
    """Another store's floor, for people who work in several (managers, regional managers)."""
    return _render_floor(request, staff_store(request, code), "clienteling/home.html")


@require_GET
@never_cache
@staff_required
def feed(request: HttpRequest, code: str) -> HttpResponse:
    """The feed as a fragment: the polling fallback, and the catch-up after the stream reconnects."""
    return _render_floor(request, staff_store(request, code), "clienteling/floor.html#feed")


def _arrival_for_staff(request: HttpRequest, code: str, public_id: uuid.UUID) -> Arrival:
    """The arrival, if it is at a store this person works in (checked in the same SELECT); 404 otherwise."""
    filters = {"store_code": code, "public_id": public_id}
    if request.associate.role != Role.ADMIN:
        filters["associate_id"] = request.associate.pk
    arrival = selectors.arrival_for_card(**filters)
    if arrival is None or not selectors.card_may_show(arrival):
        raise Http404
    return arrival


def card_view_audit(request: HttpRequest, customer_id: int, store_code: str, *, user=None) -> None:
    """Audit a card view without a disk flush per glance: the row commits asynchronously.

    PostgreSQL writes it within wal_writer_delay (200 ms); a database crash inside that window can lose
    the last rows, never corrupt them. Outside a transaction this is one round trip (BEGIN, SET LOCAL,
    INSERT, COMMIT in one statement string); a synchronous INSERT was the largest single cost of the card
    view (docs/benchmarks.md, "Store floor"). Inside a caller's transaction the row simply joins it.
    """
    if connection.in_atomic_block:
        pii_viewed(request, customer_id, action="card_view", store_code=store_code)
        return
    if user is None:
        user = request.user if request.user.is_authenticated else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"BEGIN; SET LOCAL synchronous_commit TO OFF; INSERT INTO {PiiAccess._meta.db_table} "  # noqa: S608
            "(at, user_id, customer_id, action, store_code, ip) VALUES (%s, %s, %s, %s, %s, %s); COMMIT",
            [timezone.now(), user.pk if user else None, customer_id, "card_view", store_code,
             request.META.get("REMOTE_ADDR") or None],
        )  # fmt: skip


def _card_response(request: HttpRequest, arrival: Arrival) -> HttpResponse:
    # Queries, whatever her history (pinned in tests/clienteling/test_card.py): the arrival with the store
    # check, customer, summary, appointment, top interests, pinned notes and open follow-up (one SELECT),
    # then the audit row. Rendered without the page's context processors: a fragment needs none of them.
    card = selectors.cards_for([arrival])[0]
    if arrival.is_open:
        card_view_audit(request, arrival.customer_id, arrival.store.code)
    with timezone.override(arrival.store.tz):
        html = render_to_string("clienteling/floor.html#card_response", {"card": card, "store": arrival.store})
    return HttpResponse(html)


@require_GET
@never_cache
@staff_required
def card(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    """One greeting card, rendered from her precomputed summary."""
    return _card_response(request, _arrival_for_staff(request, code, public_id))


@require_POST
@staff_required
def claim(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    arrival = _arrival_for_staff(request, code, public_id)
    services.arrival_claim(arrival=arrival, by=request.associate)
    return _card_response(request, _arrival_for_staff(request, code, public_id))


@require_POST
@staff_required
def done(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    arrival = _arrival_for_staff(request, code, public_id)
    services.arrival_done(arrival=arrival, by=request.associate, outcome=request.POST.get("outcome", ""))
    return _card_response(request, _arrival_for_staff(request, code, public_id))


@require_POST
@staff_required
def dismiss(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    arrival = _arrival_for_staff(request, code, public_id)
    services.arrival_dismiss(arrival=arrival, by=request.associate)
    return _card_response(request, _arrival_for_staff(request, code, public_id))


@require_POST
@staff_required
def note(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    arrival = _arrival_for_staff(request, code, public_id)
    try:
        services.arrival_note_add(
            arrival=arrival,
            by=request.associate,
            text=request.POST.get("text", ""),
            pinned=bool(request.POST.get("pinned")),
        )
    except ValueError as exc:
        response = _card_response(request, arrival)
        response["HX-Trigger"] = json.dumps({"floor:error": str(exc)})
        return response
    return _card_response(request, _arrival_for_staff(request, code, public_id))


def lookup_kind(value: str) -> str:
    """What someone typed into one box: an email, a phone number or a loyalty number."""
    value = value.strip()
    if "@" in value:
        return "email"
    digits = sum(ch.isdigit() for ch in value)
    if value.startswith("+") or (digits >= 8 and digits >= len(value.replace(" ", "")) - 3):
        return "phone"
    return "loyalty_id"


@require_POST
@staff_required
def start(request: HttpRequest, code: str) -> HttpResponse:
    """An associate starts a session for a customer in front of her (from the floor or customer search)."""
    store = staff_store(request, code)
    customer = None
    if request.POST.get("customer"):
        try:
            customer = services.arrival_find_customer(store=store, kind="customer_id", value=request.POST["customer"])
        except ValueError:
            customer = None
    else:
        value = request.POST.get("lookup", "").strip()
        if value:
            customer = customer_find(kind=lookup_kind(value), value=value, store_code=store.code)
    if customer is None:
        messages.error(request, _("No customer found with that email, phone or loyalty number."))
    elif not customer.consent_recognition:
        messages.warning(
            request,
            _(
                "She has not agreed to in-store recognition, so no card is shown. Ask her, and record her "
                "consent on her profile if she agrees."
            ),
        )
    else:
        services.arrival_record(
            store=store, customer=customer, source=ArrivalSource.ASSOCIATE, started_by=request.associate
        )
        messages.success(request, _("Session started: her card is on every tablet of the store."))
    return redirect("floor", code=store.code)


@staff_required
def appointment_new(request: HttpRequest, code: str) -> HttpResponse:
    """Book an appointment on the tablet: it shows as "expected" that day and links to her arrival."""
    store = staff_store(request, code)
    team = Associate.objects.at_store(store).select_related("user")
    errors = {}
    values = {"date": timezone.localdate(timezone=store.tz).isoformat(), "time": "", "lookup": "", "purpose": ""}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("lookup", "date", "time", "purpose", "associate")}
        customer = None
        if values["lookup"]:
            customer = customer_find(kind=lookup_kind(values["lookup"]), value=values["lookup"], store_code=store.code)
        if customer is None:
            errors["lookup"] = _("No customer found with that email, phone or loyalty number.")
        try:
            day = dt.date.fromisoformat(values["date"])
            at = dt.time.fromisoformat(values["time"])
            starts_at = dt.datetime.combine(day, at, tzinfo=store.tz)
        except ValueError:
            errors["when"] = _("Pick a date and a time.")
        associate = team.filter(public_id=values["associate"]).first() if values.get("associate") else None
        if not errors:
            services.appointment_book(
                store=store, customer=customer, starts_at=starts_at, purpose=values["purpose"], associate=associate
            )
            messages.success(request, _("Appointment booked."))
            return redirect("floor", code=store.code)
    return render(
        request,
        "clienteling/appointment_new.html",
        {"store": store, "team": team, "errors": errors, "values": values},
        status=400 if errors else 200,
    )


# --- The stream --------------------------------------------------------------------------------------


def _stream_store(user, code: str) -> Store | None:
    associate = associate_for(user)
    if associate is None:
        return None
    store = Store.objects.active().filter(code__iexact=code).first()
    if store is None or not associate.can_see_store(store):
        return None
    return store


def _session_alive(session_key: str | None) -> bool:
    return (
        bool(session_key) and Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()
    )


def sse_event(event: str, data: str) -> str:
    lines = "\n".join(f"data: {line}" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n\n"


def _off_main_thread(function):
    """Run ``function`` in the executor, not on the worker's one sync thread: under ASGI every sync view of
    the process shares that thread, and ten tablets' audit rows must not queue behind an API request. The
    connection goes back to the pool (or, without one, stays within CONN_MAX_AGE) after each call."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


async def _events(request: HttpRequest, store: Store, session_key: str):
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    await pubsub.subscribe(push.channel(store.code))
    audit = _off_main_thread(card_view_audit)
    alive = _off_main_thread(_session_alive)
    user = await request.auser()
    try:
        yield "retry: 2000\n: connected\n\n"
        checked = time.monotonic()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
            if time.monotonic() - checked >= HEARTBEAT_SECONDS:
                # Re-check who is listening: a tablet locked or signed out stops receiving cards.
                if not await alive(session_key):
                    return
                checked = time.monotonic()
                yield ": ping\n\n"
            if message is None or message.get("type") != "message":
                continue
            payload = json.loads(message["data"])
            # The card first, the audit row right after: the associate is waiting for the first, not the second.
            yield sse_event("card", payload["html"])
            if payload.get("customer"):
                await audit(request, payload["customer"], store.code, user=user)
    finally:  # also when the tablet goes away: the server cancels this generator
        await pubsub.aclose()
        await client.aclose()


async def stream(request: HttpRequest, code: str) -> HttpResponse:
    """Server-sent events for one store's tablets: every card change, as HTML, within milliseconds."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    store = await sync_to_async(_stream_store)(user, code)
    if store is None:
        raise Http404
    if not isinstance(request, ASGIRequest):
        # WSGI cannot hold a stream open (Django would buffer it forever): say "no stream", tablets poll.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(
        _events(request, store, request.session.session_key), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"
    return response


# --- Kiosk at the door (no sign-in) ------------------------------------------------------------------


def _kiosk_store(code: str) -> Store:
    return get_object_or_404(Store.objects.active(), code__iexact=code)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def kiosk_throttled(request: HttpRequest) -> bool:
    """Per-IP budget for check-ins and sign-ups, so that the kiosk cannot be used to test numbers in bulk."""
    key = f"kiosk-rate:{_client_ip(request)}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=120)
        count = 1
    return count > settings.KIOSK_CHECKINS_PER_MINUTE


def _kiosk_render(request, step: str, store: Store, context=None, status=200) -> HttpResponse:
    """Every kiosk screen is one page (kiosk.html) at a different step: checkin, welcome, join, thanks, busy."""
    context = {"store": store, "step": step, **(context or {})}
    return render(request, "clienteling/kiosk.html", context, status=status)


@never_cache
def checkin(request: HttpRequest, code: str) -> HttpResponse:
    """Check in at the door: phone or email (or a loyalty QR). Everyone gets the same welcome."""
    store = _kiosk_store(code)
    if request.method == "POST":
        if kiosk_throttled(request):
            return _kiosk_render(request, "busy", store, status=429)
        loyalty = request.POST.get("loyalty_id", "").strip()
        value = loyalty or request.POST.get("identifier", "").strip()
        if not value:
            return _kiosk_render(
                request, "checkin", store, {"error": _("Type your phone number or email.")}, status=400
            )
        kind = "loyalty_id" if loyalty else lookup_kind(value)
        customer = customer_find(kind=kind, value=value, store_code=store.code)
        services.arrival_record(
            store=store, customer=customer, source=ArrivalSource.QR if loyalty else ArrivalSource.KIOSK
        )
        if kind in ("email", "phone"):
            request.session[KIOSK_SESSION_KEY] = {"kind": kind, "value": value, "at": time.time()}
        else:
            request.session.pop(KIOSK_SESSION_KEY, None)
        return redirect("checkin_welcome", code=store.code)
    request.session.pop(KIOSK_SESSION_KEY, None)
    return _kiosk_render(request, "checkin", store)


@never_cache
def checkin_welcome(request: HttpRequest, code: str) -> HttpResponse:
    return _kiosk_render(request, "welcome", _kiosk_store(code))


def _kiosk_typed(request: HttpRequest) -> dict:
    typed = request.session.get(KIOSK_SESSION_KEY) or {}
    if not typed or time.time() - typed.get("at", 0) > KIOSK_IDENTIFIER_SECONDS:
        return {}
    return typed


@never_cache
def checkin_join(request: HttpRequest, code: str) -> HttpResponse:
    """Join at the kiosk. Consent is recorded only for the boxes she ticks (all unticked by default).

    An email or phone that already belongs to someone changes nothing, and the answer is the same
    "you're all set": the kiosk never confirms whether a number is known, and nobody can opt someone
    else in (or out) by typing their number.
    """
    store = _kiosk_store(code)
    typed = _kiosk_typed(request)
    values = {"first_name": "", "last_name": "", "email": "", "phone": ""}
    if typed:
        values[typed["kind"]] = typed["value"]
    errors = {}
    if request.method == "POST":
        if kiosk_throttled(request):
            return _kiosk_render(request, "busy", store, status=429)
        values = {k: request.POST.get(k, "").strip()[:200] for k in values}
        if not values["first_name"]:
            errors["first_name"] = _("Tell us your first name.")
        if not values["email"] and not values["phone"]:
            errors["contact"] = _("Give us an email or a phone number.")
        consents = {
            ConsentPurpose.RECOGNITION: request.POST.get("consent_recognition") == "yes",
            ConsentPurpose.EMAIL: request.POST.get("consent_email") == "yes",
        }
        if not errors:
            existing = any(
                customer_find(kind=kind, value=values[kind], store_code=store.code)
                for kind in ("email", "phone")
                if values[kind]
            )
            if not existing:
                try:
                    customer = customer_register(
                        first_name=values["first_name"],
                        last_name=values["last_name"],
                        email=values["email"],
                        phone=values["phone"],
                        store_code=store.code,
                        consents=consents,
                        consent_source=f"kiosk:{store.code}",
                    )
                except ValueError:
                    errors["contact"] = _("That email or phone number does not look right.")
                else:
                    # She is in the store right now: if she said yes, the team can greet her already.
                    services.arrival_record(store=store, customer=customer, source=ArrivalSource.KIOSK)
            else:
                log.info("kiosk_join_known_identifier", extra={"store": store.code})
        if not errors:
            request.session.pop(KIOSK_SESSION_KEY, None)
            return redirect("checkin_thanks", code=store.code)
    return _kiosk_render(request, "join", store, {"values": values, "errors": errors}, status=400 if errors else 200)


@never_cache
def checkin_thanks(request: HttpRequest, code: str) -> HttpResponse:
    return _kiosk_render(request, "thanks", _kiosk_store(code))


# --- Store display (no sign-in, nothing identifying) -----------------------------------------------

# Always on the screen, so that what follows the shoppers' interests is never the only thing shown.
HOUSE_TILES = [
    {"label": "New arrivals", "kind": "house"},
    {"label": "Personal styling", "kind": "house"},
    {"label": "Alterations while you shop", "kind": "house"},
]


def _display_context(store: Store) -> dict:
    themes = selectors.display_themes(store)
    tiles = themes + HOUSE_TILES[: max(0, 6 - len(themes))]
    return {"store": store, "tiles": tiles}


@never_cache
def display(request: HttpRequest, code: str) -> HttpResponse:
    store = _kiosk_store(code)
    return render(request, "clienteling/display.html", _display_context(store))


@never_cache
def display_tiles(request: HttpRequest, code: str) -> HttpResponse:
    store = _kiosk_store(code)
    return render(request, "clienteling/display.html#tiles", _display_context(store))
