"""Pluggable SMS sending: ``SMS_BACKEND`` names a class with ``send(*, to, text, reference) -> str``.

``ConsoleSmsBackend`` (development) logs the message; ``HttpSmsBackend`` posts JSON to a provider
(``SMS_HTTP_URL`` with ``Authorization: Bearer SMS_HTTP_TOKEN``), the shape most SMS APIs take.
``reference`` is the invitation's id: providers that deduplicate on a client reference get one.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("feedback.sms")


class TransientSendError(Exception):
    """Worth retrying later: timeouts, 429, 5xx, a mail server saying 4xx."""


class PermanentSendError(Exception):
    """Retrying will not help: invalid number, 4xx from the provider, 5xx from a mail server."""


class ConsoleSmsBackend:
    def send(self, *, to: str, text: str, reference: str) -> str:
        log.info("sms", extra={"to_suffix": to[-4:], "text": text, "reference": reference})
        return f"console-{reference}"


class LocmemSmsBackend:
    """Keeps messages in memory (tests)."""

    outbox: list[dict] = []

    def send(self, *, to: str, text: str, reference: str) -> str:
        self.outbox.append({"to": to, "text": text, "reference": reference})
        return f"locmem-{len(self.outbox)}"


class HttpSmsBackend:
    timeout = 10

    def send(self, *, to: str, text: str, reference: str) -> str:
        if not settings.SMS_HTTP_URL.startswith(("https://", "http://")):
            raise PermanentSendError("SMS_HTTP_URL is not set")
        body = json.dumps({"from": settings.SMS_FROM, "to": to, "text": text, "reference": reference}).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            settings.SMS_HTTP_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Idempotency-Key": reference,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read() or b"{}")
                return str(payload.get("id", ""))
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise TransientSendError(f"SMS provider said {error.code}") from error
            raise PermanentSendError(f"SMS provider said {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise TransientSendError(f"SMS provider unreachable: {error}") from error


def sms_backend():
    return import_string(settings.SMS_BACKEND)()
