from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clienteling import devices, services
from clienteling.access import MANAGERS, get_store_for_staff, staff_required
from clienteling.middleware import SESSION_DEVICE
from clienteling.models import Associate
from clienteling.redis import redis_client

log = logging.getLogger(__name__)


class StaffLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["device"] = devices.device_for(self.request)
        context["idle"] = self.request.GET.get("idle") == "1"
        return context


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """Today on the floor of this tablet's store (arrivals feed, greeting cards): see floor_views."""
    from clienteling import floor_views

    return floor_views.home(request)


@never_cache
def lock(request: HttpRequest) -> HttpResponse:
    """The PIN screen of a shared tablet: pick your name, type your PIN."""
    device = devices.device_for(request)
    if device is None:
        return redirect("login")
    if request.user.is_authenticated:
        logout(request)
    team = Associate.objects.at_store(device.store).exclude(pin_hash="").select_related("user")
    return render(request, "clienteling/lock.html", {"device": device, "team": team})


@require_POST
@never_cache
def unlock(request: HttpRequest) -> HttpResponse:
    device = devices.device_for(request)
    if device is None:
        return redirect("login")
    associate = get_object_or_404(
        Associate.objects.at_store(device.store).select_related("user"), public_id=request.POST.get("associate")
    )
    pin = request.POST.get("pin", "")
    if devices.pin_locked_out(device, associate):
        messages.error(request, _("Too many wrong PINs. Ask a manager, or wait a few minutes."))
        log.warning("pin_locked_out", extra={"device": str(device.public_id), "associate": str(associate.public_id)})
        return redirect("lock")
    if not associate.check_pin(pin):
        devices.pin_failed(device, associate)
        messages.error(request, _("That PIN did not match. Try again."))
        return redirect("lock")
    devices.pin_succeeded(device, associate)
    login(request, associate.user, backend="clienteling.auth.StaffBackend")
    request.session[SESSION_DEVICE] = str(device.public_id)
    services.device_seen(device_id=device.pk)
    return redirect("home")


@require_POST
def lock_now(request: HttpRequest) -> HttpResponse:
    on_device = SESSION_DEVICE in request.session
    logout(request)
    return redirect("lock" if on_device and devices.device_for(request) else "login")


@staff_required(*MANAGERS)
def device_enroll(request: HttpRequest) -> HttpResponse:
    """A manager turns this browser into one of her store's shared tablets."""
    stores = request.associate.visible_stores()
    if request.method == "POST":
        store = get_store_for_staff(request, request.POST.get("store", ""))
        name = (request.POST.get("name") or "").strip()[:80] or _("Tablet")
        device = services.device_enroll(store=store, name=name, by=request.associate)
        logout(request)
        response = redirect("lock")
        devices.remember_device(response, device)
        return response
    return render(request, "clienteling/device_enroll.html", {"stores": stores, "device": devices.device_for(request)})


@require_POST
@staff_required(*MANAGERS)
def device_forget(request: HttpRequest) -> HttpResponse:
    device = devices.device_for(request)
    if device is not None:
        services.device_revoke(device=device)
    response = redirect("home")
    devices.forget_device(response)
    request.session.pop(SESSION_DEVICE, None)
    return response


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: 200 when PostgreSQL and Redis answer, 503 naming what failed."""
    failing = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means unhealthy; say which part
        failing["database"] = exc.__class__.__name__
    try:
        redis_client().ping()
    except Exception as exc:
        failing["redis"] = exc.__class__.__name__
    if failing:
        log.error("healthz_failed", extra={"failing": failing})
        return JsonResponse({"status": "fail", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})
