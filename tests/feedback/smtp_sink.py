"""A real SMTP peer (aiosmtpd) that counts invitations by their X-Invitation header."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections import Counter

from aiosmtpd.controller import Controller

_INVITATION = re.compile(rb"^X-Invitation: *(\S+)", re.MULTILINE | re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    def __init__(self, *, hold_at: int | None = None, refuse: dict[str, str] | None = None):
        self.received: Counter[str] = Counter()
        self.messages: list[bytes] = []
        self.count = 0
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()
        self.refuse = refuse or {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
            match = _INVITATION.search(envelope.content)
            self.received[match.group(1).decode() if match else "?"] += 1
            self.messages.append(envelope.content)
        if self.hold_at is not None and number == self.hold_at:
            # The message is accepted (counted); the 250 reply is held back, as if the network stalled.
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, **handler_options):
        self.handler = SinkHandler(**handler_options)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.handler.release.set()
        self.controller.stop()

    @property
    def received(self) -> Counter[str]:
        return self.handler.received

    def mailer(self) -> dict:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 10},
            }
        }
