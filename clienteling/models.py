"""The store floor: stores, the staff who work in them, and the tablets they share."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value}) from None


class Region(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StoreQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Store(models.Model):
    code = models.CharField(
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", _("Letters, digits, - and _ only."))],
        help_text=_("Short code used in channel files, URLs and the API, e.g. PAR01."),
    )
    name = models.CharField(max_length=120)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="stores")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    country = models.CharField(
        max_length=2,
        default="US",
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Two-letter ISO country code, e.g. FR."))],
        help_text=_("Default region for phone numbers written without a country code."),
    )
    city = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)

    objects = StoreQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    ASSOCIATE = "associate", _("Associate")
    MANAGER = "manager", _("Store manager")
    REGIONAL = "regional", _("Regional manager")
    ADMIN = "admin", _("Administrator")


class AssociateQuerySet(models.QuerySet):
    def at_store(self, store: Store):
        return self.filter(stores=store, user__is_active=True)


class Associate(models.Model):
    """A member of staff: an associate, a manager, a regional manager or an admin.

    Associates and store managers see their own stores, regional managers the stores they are
    given (usually a region's), admins every store.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="associate")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ASSOCIATE)
    stores = models.ManyToManyField(Store, related_name="associates", blank=True)
    display_name = models.CharField(max_length=80, blank=True, help_text=_("Shown on tablets, e.g. 'Maya R.'"))
    pin_hash = models.CharField(max_length=256, blank=True, editable=False)

    objects = AssociateQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "user__username"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.username

    @property
    def is_manager(self) -> bool:
        return self.role in {Role.MANAGER, Role.REGIONAL, Role.ADMIN}

    def visible_stores(self):
        if self.role == Role.ADMIN:
            return Store.objects.active()
        return self.stores.filter(is_active=True)

    def can_see_store(self, store: Store) -> bool:
        return self.role == Role.ADMIN or self.stores.filter(pk=store.pk).exists()

    def set_pin(self, pin: str) -> None:
        self.pin_hash = make_password(pin)

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and check_password(pin, self.pin_hash)


class StoreDevice(models.Model):
    """A shared tablet enrolled to one store; it stays signed in as the device between associates."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=80)
    enrolled_by = models.ForeignKey(Associate, null=True, on_delete=models.SET_NULL, related_name="+")
    enrolled_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["store", "name"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.store.code}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Store recognition: arrivals, appointments, arrival API keys -----------------------------------


class ArrivalSource(models.TextChoices):
    APP_GEOFENCE = "app_geofence", _("App geofence")
    WIFI = "wifi", _("Store Wi-Fi")
    KIOSK = "kiosk", _("Kiosk check-in")
    APPOINTMENT = "appointment", _("Appointment")
    QR = "qr", _("Loyalty QR")
    ASSOCIATE = "associate", _("Started by an associate")


# The sources the Arrivals API accepts (contract 7); "associate" is the tablet's own.
API_ARRIVAL_SOURCES = [s for s in ArrivalSource.values if s != ArrivalSource.ASSOCIATE]


class ArrivalState(models.TextChoices):
    NEW = "new", _("Just arrived")
    CLAIMED = "claimed", _("Being helped")
    DONE = "done", _("Helped")
    DISMISSED = "dismissed", _("Dismissed")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Consent withdrawn")


OPEN_ARRIVAL_STATES = (ArrivalState.NEW, ArrivalState.CLAIMED)


class ArrivalQuerySet(models.QuerySet):
    def at_store(self, store: Store):
        return self.filter(store=store)

    def open(self, now=None):
        """Cards still on the tablets: new or being helped, not expired, and she still consents."""
        from django.utils import timezone

        return self.filter(
            state__in=OPEN_ARRIVAL_STATES,
            expires_at__gt=now or timezone.now(),
            customer__consent_recognition=True,
            customer__erased_at__isnull=True,
        )

    def since(self, moment):
        return self.filter(created_at__gte=moment)


class Arrival(models.Model):
    """A known, consenting customer walked into a store: one greeting card on that store's tablets.

    Only customers with recognition consent ever get a row: unknown and non-consenting arrivals leave
    no trace (the API answers them with an id that leads nowhere).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="arrivals")
    customer = models.ForeignKey("profiles.Customer", on_delete=models.CASCADE, related_name="arrivals")
    source = models.CharField(max_length=20, choices=ArrivalSource.choices)
    state = models.CharField(max_length=20, choices=ArrivalState.choices, default=ArrivalState.NEW)
    appointment = models.ForeignKey(
        "Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="arrivals"
    )
    started_by = models.ForeignKey(Associate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_by = models.ForeignKey(Associate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True, help_text=_("What she bought or tried, from 'Done'."))
    # Her previous visit as the summary had it when she arrived: once the summary refreshes with this
    # visit, "last visit" would otherwise read "today".
    previous_visit_at = models.DateTimeField(null=True, blank=True)
    previous_visit_store = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    objects = ArrivalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="arrival_store_feed"),
            models.Index(fields=["customer", "state"], name="arrival_customer_state"),
        ]

    def __str__(self) -> str:
        return f"arrival {self.public_id} @ {self.store_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ARRIVAL_STATES


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Expected")
    ARRIVED = "arrived", _("Arrived")
    CANCELLED = "cancelled", _("Cancelled")


class AppointmentQuerySet(models.QuerySet):
    def on_day(self, store: Store, day):
        """Appointments at ``store`` on ``day``, a date in the store's own time zone."""
        import datetime as dt

        start = dt.datetime.combine(day, dt.time.min, tzinfo=store.tz)
        return self.filter(store=store, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))


class Appointment(models.Model):
    """A booked visit: listed as "expected" on the store's tablets and linked to her arrival."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="appointments")
    customer = models.ForeignKey("profiles.Customer", on_delete=models.CASCADE, related_name="appointments")
    starts_at = models.DateTimeField()
    purpose = models.CharField(max_length=200, blank=True)
    associate = models.ForeignKey(Associate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    origin = models.CharField(max_length=20, default="tablet")  # tablet, import
    external_id = models.CharField(max_length=200, blank=True, help_text=_("The booking system's id, if imported."))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["store", "starts_at"], name="appointment_store_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], condition=~models.Q(external_id=""), name="appointment_external_once"
            )
        ]

    def __str__(self) -> str:
        return f"appointment {self.public_id} @ {self.store_id} {self.starts_at:%Y-%m-%d %H:%M}"


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A bearer key for the Arrivals API. Only a SHA-256 of the secret is kept; the key is shown once.

    A key belongs to one store, or (store empty) to an integration that may report arrivals at every
    active store.
    """

    name = models.CharField(max_length=100)
    store = models.ForeignKey(
        Store,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text=_("Empty: an integration key valid for every store."),
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("arrivals API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, store: Store) -> bool:
        return self.store_id is None or self.store_id == store.pk
