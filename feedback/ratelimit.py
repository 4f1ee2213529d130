"""Per-IP rate limits for the public feedback pages, counted in each web process's memory.

A fixed one-minute window per (page, address), with no round trip: the answer POST is the hottest path in
the app and a Redis round trip was a fifth of its cost (docs/benchmarks.md, "Answer POST"). The limit is
shared out among the web processes (``WEB_WORKERS``, the Procfile's ``-w``): each one allows
``FEEDBACK_RATE_LIMIT_PER_MINUTE // WEB_WORKERS`` (at least 1) requests per address and minute, so an
address never gets more than the limit in total, and gets less when its requests all land on one process.
"""

from __future__ import annotations

import threading
import time
from functools import wraps

from django.conf import settings
from django.shortcuts import render

_lock = threading.Lock()  # gunicorn's threads share a process's counts
_window = -1
_counts: dict[tuple[str, str], int] = {}


def client_ip(request) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def per_process_limit(per_minute: int) -> int:
    return max(1, per_minute // settings.WEB_WORKERS)


def over_limit(scope: str, ip: str, *, per_minute: int) -> bool:
    global _window
    window = int(time.time() // 60)
    with _lock:
        if window != _window:  # a new minute: every address starts again (and the table stays small)
            _counts.clear()
            _window = window
        count = _counts.get((scope, ip), 0) + 1
        _counts[(scope, ip)] = count
    return count > per_process_limit(per_minute)


def forget() -> None:
    """Start counting again (tests)."""
    with _lock:
        _counts.clear()


def rate_limited(scope: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if over_limit(scope, client_ip(request), per_minute=settings.FEEDBACK_RATE_LIMIT_PER_MINUTE):
                response = render(request, "feedback/public/slow_down.html", status=429)
                response["Retry-After"] = "60"
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
