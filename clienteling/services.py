"""Writes for the store floor: staff, devices, PIN unlocks, arrivals and their cards, appointments, API keys."""

from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
import uuid as _uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clienteling import push
from clienteling.models import (
    OPEN_ARRIVAL_STATES,
    ApiKey,
    Appointment,
    AppointmentStatus,
    Arrival,
    ArrivalSource,
    ArrivalState,
    Associate,
    Role,
    Store,
    StoreDevice,
)
from profiles.models import Channel, Customer, Moment, Note, Touchpoint
from profiles.services import customer_find, touchpoint_record


@transaction.atomic
def staff_upsert(
    *,
    username: str,
    store: Store | None,
    role: str,
    password: str | None = None,
    pin: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> tuple[Associate, bool]:
    """Create or update a staff member and give them ``store``. Returns (associate, created)."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    user_fields = []
    if password:
        user.set_password(password)
        user_fields.append("password")
    elif created:
        user.set_unusable_password()
        user_fields.append("password")
    if email is not None:
        user.email = email
        user_fields.append("email")
    wants_staff = role == Role.ADMIN
    if user.is_staff != wants_staff or user.is_superuser != wants_staff:
        # Django's admin site is for admins only; managers work in the app.
        user.is_staff = user.is_superuser = wants_staff
        user_fields += ["is_staff", "is_superuser"]
    if user_fields:
        user.save(update_fields=user_fields)

    associate, _ = Associate.objects.get_or_create(user=user)
    associate.role = role
    if display_name is not None:
        associate.display_name = display_name
    if pin:
        associate.set_pin(pin)
    associate.save()
    if store is not None:
        associate.stores.add(store)
    return associate, created


def device_enroll(*, store: Store, name: str, by: Associate | None) -> StoreDevice:
    return StoreDevice.objects.create(store=store, name=name, enrolled_by=by if by and by.pk else None)


def device_revoke(*, device: StoreDevice) -> None:
    device.revoked_at = timezone.now()
    device.save(update_fields=["revoked_at"])


def device_seen(*, device_id: int) -> int:
    return StoreDevice.objects.filter(pk=device_id).update(last_seen_at=timezone.now())


# --- Store recognition -------------------------------------------------------------------------------
# Every card change commits first and publishes after (transaction.on_commit): a tablet never shows a
# card that a rollback took back, and the publish costs the writer no lock time.

_SOURCE_CHANNEL = {
    ArrivalSource.KIOSK: Channel.KIOSK,
    ArrivalSource.APP_GEOFENCE: Channel.APP,
}
API_KEY_PREFIX = "clk"


def _hash_key(secret: str) -> str:
    # Keys are 32 random bytes: a fast hash is enough (no dictionary to guess from), and the check is a
    # single indexed lookup by prefix plus a constant-time compare.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, store: Store | None) -> tuple[ApiKey, str]:
    """Create an arrivals API key; returns it with the full secret, which is never stored nor shown again."""
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(name=name[:100], store=store, prefix=prefix, key_hash=_hash_key(secret))
    return key, secret


def api_key_check(raw: str) -> ApiKey | None:
    """The active key behind a bearer token, or None."""
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = ApiKey.objects.active().select_related("store").filter(prefix=parts[1]).first()
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(raw)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _dt.timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)  # at most one write a minute per key
    return key


def api_key_revoke(*, key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])


def arrival_find_customer(*, store: Store, kind: str, value: str) -> Customer | None:
    """Who an arrival names: Clienteling's customer id (public UUID) or an email, phone or loyalty id."""
    if kind == "customer_id":
        try:
            public_id = _uuid.UUID(str(value))
        except ValueError:
            return None
        return Customer.objects.live().filter(public_id=public_id).first()
    return customer_find(kind=kind, value=value, store_code=store.code)


@transaction.atomic
def arrival_record(
    *,
    store: Store,
    customer: Customer | None,
    source: str,
    started_by: Associate | None = None,
    public_id: _uuid.UUID | None = None,
) -> Arrival | None:
    """She walked in: one greeting card on every tablet of the store, if she agreed to be recognised.

    Returns None, and writes nothing, for nobody or for a customer without recognition consent. A second
    signal while her card is still up (Wi-Fi after the geofence) refreshes that card instead of adding one.
    """
    if customer is None:
        return None
    # Row lock on her: two sources reporting her at once make one card, not two.
    customer = Customer.objects.select_for_update(of=("self",)).select_related("summary").filter(pk=customer.pk).first()
    if customer is None or not customer.consent_recognition or customer.erased_at or customer.merged_into_id:
        return None
    now = timezone.now()
    expires_at = now + _dt.timedelta(minutes=settings.ARRIVAL_CARD_TTL_MINUTES)
    current = Arrival.objects.filter(store=store, customer=customer, state__in=OPEN_ARRIVAL_STATES).first()
    if current is not None and current.expires_at > now:
        current.expires_at = expires_at
        current.save(update_fields=["expires_at"])
        return current

    summary = getattr(customer, "summary", None)  # RelatedObjectDoesNotExist is an AttributeError
    appointment = (
        Appointment.objects.on_day(store, timezone.localtime(now, store.tz).date())
        .filter(customer=customer, status=AppointmentStatus.BOOKED)
        .first()
    )
    arrival = Arrival.objects.create(
        public_id=public_id or _uuid.uuid4(),
        store=store,
        customer=customer,
        source=source,
        started_by=started_by if started_by and started_by.pk else None,
        appointment=appointment,
        expires_at=expires_at,
        previous_visit_at=summary.last_visit_at if summary else None,
        previous_visit_store=summary.last_visit_store if summary else "",
    )
    if appointment is not None:
        Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.ARRIVED)
    # After commit: the card to the tablets first (that is what people wait for), then her store_visit
    # touchpoint and summary refresh on the realtime queue, off the request (contract 7 answers at once).
    transaction.on_commit(lambda: push.card_publish(arrival.pk))
    transaction.on_commit(lambda: _enqueue_visit(arrival.pk))
    return arrival


def _enqueue_visit(arrival_id: int) -> None:
    from clienteling import tasks

    tasks.arrival_visit_record.apply_async(args=[arrival_id], queue=tasks.REALTIME_QUEUE)


def arrival_visit_record(*, arrival_id: int) -> Touchpoint | None:
    """Her store_visit touchpoint for an arrival (idempotent: the arrival id is the event id)."""
    arrival = Arrival.objects.select_related("store", "customer", "started_by__user").filter(pk=arrival_id).first()
    if arrival is None:
        return None
    return touchpoint_record(
        customer=arrival.customer,
        moment=Moment.STORE_VISIT,
        channel=_SOURCE_CHANNEL.get(arrival.source, Channel.STORE),
        occurred_at=arrival.created_at,
        store_code=arrival.store.code,
        associate_code=arrival.started_by.user.username if arrival.started_by else "",
        external_id=f"arrival-{arrival.public_id}",
        properties={"arrival_source": arrival.source},
    )


def _transition(arrival: Arrival, *, allowed, **changes) -> bool:
    """Conditional UPDATE: only one of several tablets tapping at once wins; the others see False."""
    won = Arrival.objects.filter(pk=arrival.pk, state__in=allowed).update(**changes) == 1
    if won:
        for field, value in changes.items():
            setattr(arrival, field, value)
        transaction.on_commit(lambda: push.card_publish(arrival.pk))
    return won


@transaction.atomic
def arrival_claim(*, arrival: Arrival, by: Associate) -> bool:
    """ "I'm helping": the card shows who, on every tablet. False when a colleague got there first."""
    return _transition(
        arrival, allowed=[ArrivalState.NEW], state=ArrivalState.CLAIMED, claimed_by=by, claimed_at=timezone.now()
    )


@transaction.atomic
def arrival_done(*, arrival: Arrival, by: Associate, outcome: str = "") -> bool:
    """She has been helped: close the card and log an associate_assisted touchpoint (what she bought or tried)."""
    outcome = outcome.strip()[:300]
    now = timezone.now()
    changes = {"state": ArrivalState.DONE, "closed_at": now, "outcome": outcome}
    if arrival.claimed_by_id is None:
        changes.update(claimed_by=by, claimed_at=now)
    if not _transition(arrival, allowed=OPEN_ARRIVAL_STATES, **changes):
        return False
    touchpoint_record(
        customer=arrival.customer,
        moment=Moment.ASSOCIATE_ASSISTED,
        channel=Channel.STORE,
        occurred_at=now,
        store_code=arrival.store.code,
        associate_code=(arrival.claimed_by or by).user.username,
        external_id=f"assisted-{arrival.public_id}",
        product_name=outcome[:200],
        properties={"arrival": str(arrival.public_id), "outcome": outcome}
        if outcome
        else {"arrival": str(arrival.public_id)},
    )
    return True


@transaction.atomic
def arrival_dismiss(*, arrival: Arrival, by: Associate) -> bool:
    """Take the card down without logging help (she left, or it was not her)."""
    return _transition(arrival, allowed=OPEN_ARRIVAL_STATES, state=ArrivalState.DISMISSED, closed_at=timezone.now())


@transaction.atomic
def arrival_note_add(*, arrival: Arrival, by: Associate, text: str, pinned: bool = False) -> Note:
    """A quick note from the floor; a pinned one shows on her next cards."""
    text = text.strip()
    if not text:
        raise ValueError("The note is empty.")
    note = Note.objects.create(
        customer=arrival.customer,
        author=by.user if by.pk else None,
        store_code=arrival.store.code,
        text=text[:2000],
        pinned=pinned,
    )
    transaction.on_commit(lambda: push.card_publish(arrival.pk))
    return note


def arrivals_expire() -> int:
    """Close cards nobody acted on within ARRIVAL_CARD_TTL_MINUTES and take them off the tablets."""
    now = timezone.now()
    stale = list(
        Arrival.objects.filter(state__in=OPEN_ARRIVAL_STATES, expires_at__lte=now).values_list("pk", flat=True)
    )
    expired = 0
    for pk in stale:
        # Claim per row: a tap on "Done" racing the expiry wins or loses cleanly.
        if Arrival.objects.filter(pk=pk, state__in=OPEN_ARRIVAL_STATES).update(
            state=ArrivalState.EXPIRED, closed_at=now
        ):
            expired += 1
            push.card_publish(pk)
    return expired


@transaction.atomic
def arrivals_withdraw(*, customer_id: int) -> int:
    """She withdrew recognition consent (or was erased): her cards leave every tablet at once."""
    Arrival.objects.filter(customer_id=customer_id, state__in=OPEN_ARRIVAL_STATES).update(
        state=ArrivalState.WITHDRAWN, closed_at=timezone.now()
    )
    # Today's list names her too, whatever the state of the card: remove those rows as well.
    since = timezone.now() - _dt.timedelta(days=1)
    shown = list(Arrival.objects.filter(customer_id=customer_id, created_at__gte=since).select_related("store"))
    if shown:
        transaction.on_commit(lambda: push.card_remove_publish(shown))
    return len(shown)


@transaction.atomic
def appointment_book(
    *,
    store: Store,
    customer: Customer,
    starts_at: _dt.datetime,
    purpose: str = "",
    associate: Associate | None = None,
    origin: str = "tablet",
    external_id: str = "",
) -> Appointment:
    """Book (or, for an imported booking seen before, update) a visit; it shows as "expected" that day."""
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    values = {
        "customer": customer,
        "starts_at": starts_at,
        "purpose": purpose.strip()[:200],
        "associate": associate if associate and associate.pk else None,
        "origin": origin,
    }
    if external_id:
        appointment, created = Appointment.objects.update_or_create(
            store=store, external_id=external_id, defaults=values
        )
    else:
        appointment, created = Appointment.objects.create(store=store, **values), True
    if created:
        touchpoint_record(
            customer=customer,
            moment=Moment.APPOINTMENT_BOOKED,
            channel=Channel.STORE,
            store_code=store.code,
            associate_code=associate.user.username if associate and associate.pk else "",
            external_id=f"appointment-{appointment.public_id}",
            properties={"starts_at": starts_at.isoformat(), "purpose": appointment.purpose},
        )
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment: Appointment) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status"])
