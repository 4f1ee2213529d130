from django.conf import settings
from django.urls import NoReverseMatch, reverse

from clienteling.access import associate_for
from clienteling.middleware import SESSION_DEVICE
from clienteling.models import Role

# (label, url name, roles that see it). Apps add their pages here as they grow.
NAVIGATION = [
    ("Floor", "home", None),
    ("Customers", "profiles:search", None),
    ("Imports", "profiles:imports", (Role.MANAGER, Role.REGIONAL, Role.ADMIN)),
    ("Feedback", "feedback:dashboard", (Role.MANAGER, Role.REGIONAL, Role.ADMIN)),
    ("Insights", "insights:sentiment", (Role.MANAGER, Role.REGIONAL, Role.ADMIN)),
    ("My store", "insights:sentiment", (Role.ASSOCIATE,)),
]


def floor(request):
    associate = associate_for(request.user) if hasattr(request, "user") else None
    nav = []
    if associate is not None:
        for label, name, roles in NAVIGATION:
            if roles and associate.role not in roles:
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue  # that page is not built yet
            nav.append(
                {
                    "label": label,
                    "url": url,
                    "active": request.path == url or (url != "/" and request.path.startswith(url)),
                }
            )
    return {
        "current_associate": associate,
        "nav": nav,
        "on_device": hasattr(request, "session") and SESSION_DEVICE in request.session,
        "idle_lock_seconds": settings.TABLET_IDLE_LOCK_SECONDS,
    }
