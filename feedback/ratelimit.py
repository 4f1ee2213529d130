"""Per-IP rate limits for the public feedback pages, counted in Redis (one round trip a request)."""

from __future__ import annotations

import time
from functools import cache, wraps

import redis
from django.conf import settings
from django.shortcuts import render


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def client_ip(request) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(scope: str, ip: str, *, per_minute: int) -> bool:
    window = int(time.time() // 60)
    key = f"{settings.CACHES['default']['KEY_PREFIX']}:feedback-rate:{scope}:{ip}:{window}"
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
    except redis.RedisError:
        return False  # a Redis hiccup must not stop customers from answering
    return count > per_minute


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
