"""Who may see customer profiles: signed-in staff (an Associate record) and superusers.

``profiles`` does not import the store-floor app: an Associate is reached through ``user.associate``
(its one-to-one reverse accessor), so the rule holds without knowing the model.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

ADMIN_ROLE = "admin"


def staff_role(user) -> str | None:
    """The staff role of a user ("associate", "manager", "regional", "admin"), or None when not staff."""
    if not user.is_authenticated:
        return None
    associate = getattr(user, "associate", None)  # the reverse one-to-one raises AttributeError when absent
    if associate is not None:
        return associate.role
    return ADMIN_ROLE if user.is_superuser else None


def is_admin(user) -> bool:
    return user.is_authenticated and (user.is_superuser or staff_role(user) == ADMIN_ROLE)


def staff_member_required(view=None, *, admin: bool = False):
    """Signed-in staff only (anonymous: to the login page; no associate record: 403); ``admin=True``: admins."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = staff_role(request.user)
            if role is None or (admin and not is_admin(request.user)):
                raise PermissionDenied
            request.staff_role = role
            return view(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator


def staff_store_code(user) -> str:
    """The first store of this staff member (for notes and the audit trail), or "" (admins, superusers)."""
    associate = getattr(user, "associate", None)
    if associate is None:
        return ""
    return associate.stores.order_by("code").values_list("code", flat=True).first() or ""
