"""Who is asking: the staff member behind a request and what they may see."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from clienteling.models import Associate, Role, Store


def associate_for(user) -> Associate | None:
    """The Associate record of a signed-in user; superusers without one act as admins."""
    if not user.is_authenticated:
        return None
    try:
        return user.associate
    except Associate.DoesNotExist:
        if user.is_superuser:
            return Associate(user=user, role=Role.ADMIN)
        return None


def staff_required(*roles: str):
    """Require a signed-in staff member, optionally with one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            associate = associate_for(request.user)
            if associate is None or (roles and associate.role not in roles):
                raise PermissionDenied
            request.associate = associate
            return view(request, *args, **kwargs)

        return wrapped

    if len(roles) == 1 and callable(roles[0]):  # used bare: @staff_required
        view, roles = roles[0], ()
        return decorator(view)
    return decorator


MANAGERS = (Role.MANAGER, Role.REGIONAL, Role.ADMIN)


def public_page(view):
    """Mark a customer-facing page that needs no staff machinery: no session, user, messages, htmx or CSRF.

    ``clienteling.middleware.PublicPagesMiddleware`` runs such a view without the staff middleware (see
    there). Use it only on views that never read ``request.user``, ``request.session`` or messages and that
    are CSRF-exempt or answer only GET and HEAD; put it outermost, so the resolved callable carries the mark.
    """
    view.public_page = True
    return view


def get_store_for_staff(request: HttpRequest, code: str) -> Store:
    """The store named in a URL, if this staff member may see it; 404 otherwise (no enumeration)."""
    store = get_object_or_404(Store.objects.active(), code__iexact=code)
    if not request.associate.can_see_store(store):
        raise PermissionDenied
    return store
