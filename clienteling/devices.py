"""Shared store tablets: the signed device cookie and the PIN throttle."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from clienteling.models import Associate, StoreDevice

COOKIE = "clienteling_device"
_SALT = "clienteling.device"


def device_for(request: HttpRequest) -> StoreDevice | None:
    """The enrolled, not revoked device this browser is, if any."""
    if hasattr(request, "_device"):
        return request._device
    device = None
    raw = request.get_signed_cookie(COOKIE, default=None, salt=_SALT)
    if raw:
        device = StoreDevice.objects.select_related("store").filter(public_id=raw, revoked_at__isnull=True).first()
    request._device = device
    return device


def remember_device(response: HttpResponse, device: StoreDevice) -> None:
    response.set_signed_cookie(
        COOKIE,
        str(device.public_id),
        salt=_SALT,
        max_age=settings.DEVICE_COOKIE_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def forget_device(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE, samesite="Lax")


def _pin_key(device: StoreDevice, associate: Associate) -> str:
    return f"pin-failures:{device.public_id}:{associate.public_id}"


def pin_locked_out(device: StoreDevice, associate: Associate) -> bool:
    return cache.get(_pin_key(device, associate), 0) >= settings.TABLET_PIN_FAILURE_LIMIT


def pin_failed(device: StoreDevice, associate: Associate) -> int:
    key = _pin_key(device, associate)
    # add() then incr() keeps the counter's expiry at the first failure: a fixed cool-off window.
    cache.add(key, 0, timeout=settings.TABLET_PIN_COOLOFF_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.TABLET_PIN_COOLOFF_SECONDS)
        return 1


def pin_succeeded(device: StoreDevice, associate: Associate) -> None:
    cache.delete(_pin_key(device, associate))
