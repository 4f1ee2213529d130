"""Request logging, the public pages' short stack and the idle lock for shared tablets and desktop sessions."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

log = logging.getLogger("clienteling.request")

SESSION_LAST_SEEN = "last_seen"
SESSION_DEVICE = "device"
# Touch the session at most this often, so that browsing does not write a row per request.
_TOUCH_EVERY = 15


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if not request.path.startswith(("/static/", "/healthz")):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,  # never the query string: it may carry tokens
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(getattr(request, "user", None), "pk", None),
                },
            )
        return response


# Where customers' public pages live (feedback links ``/f/<token>/...`` and SMS short links ``/s/<code>``,
# contract 9): only paths under these are resolved here; the view's ``public_page`` mark decides.
PUBLIC_PATH_PREFIXES = ("/f/", "/s/")


class PublicPagesMiddleware:
    """Customers' public pages skip the staff middleware listed below this one in MIDDLEWARE.

    A view marked ``clienteling.access.public_page`` (the feedback pages a customer opens from an email or
    an SMS) is called right here, so it does not go through sessions, CSRF, authentication, messages, htmx,
    the idle lock and axes: it uses none of them (its unguessable signed token is the credential and it is
    CSRF-exempt or GET-only), and together they were about a sixth of the answer POST's Python
    (docs/benchmarks.md, "Answer POST"). Everything above this middleware still applies to it: security
    headers, CSP, frame options, locale, common and the request log; the view's own decorators (rate limit,
    allowed methods, CSRF exemption) too. No ``process_view`` hook runs for it, which is why a public page
    must not rely on one.

    Staff pages, every other path, and a path under a public prefix whose view is not marked (or that
    resolves to nothing) go down the whole stack as before.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(PUBLIC_PATH_PREFIXES):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "public_page", False):
                request.resolver_match = match
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)


class IdleLockMiddleware:
    """Sign out a session left idle: a tablet after TABLET_IDLE_LOCK_SECONDS, a desktop after SESSION_IDLE_TIMEOUT.

    A tablet keeps its device cookie, so it goes back to the PIN screen rather than the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and not request.path.startswith(("/static/", "/healthz")):
            now = int(time.time())
            on_device = SESSION_DEVICE in request.session
            limit = settings.TABLET_IDLE_LOCK_SECONDS if on_device else settings.SESSION_IDLE_TIMEOUT
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - last_seen > limit:
                logout(request)
                target = reverse("lock") if on_device else f"{reverse('login')}?idle=1"
                if request.htmx:
                    response = HttpResponseRedirect(target)
                    response.status_code = 204
                    response["HX-Redirect"] = target
                    return response
                return HttpResponseRedirect(target)
            # The arrival stream is a long-lived connection, not activity.
            if last_seen is None or (now - last_seen >= _TOUCH_EVERY and not request.path.endswith("/stream/")):
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)
