"""Writes for the store floor: staff, devices, PIN unlocks."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clienteling.models import Associate, Role, Store, StoreDevice


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


def device_seen(*, device: StoreDevice) -> None:
    StoreDevice.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
