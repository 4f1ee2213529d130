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
