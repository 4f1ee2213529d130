"""Putting invitations on the wire, exactly once.

The database and a mail server cannot commit together, so the commit point is chosen with care: each
message goes to the SMTP server up to, but not including, the end-of-data dot; then the invitations are
marked sent in the database (only those this worker still holds the claim on); only then are the dots sent.

- Killed before the database commit: no server saw a dot, so each drops its message when the connection
  dies; the claims expire and another worker sends them. No duplicate, nothing lost.
- Killed after the commit: the rows say sent and nobody resends them. The only gap is the microseconds it
  takes to write the dots, and there the failure is "not sent", never "sent twice".
- Claim lost (our lease expired and another worker took the row): the update skips it, its connection is
  dropped before the dot, and the other worker's copy is the only one.

To amortize the commit (one fsync) over several messages, a group of messages is prepared on several
SMTP connections at once (``FEEDBACK_SMTP_CONNECTIONS``), committed together, then finished together.
Backends that are not SMTP (console, locmem) get the same order: commit, then hand over.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from feedback.sms import PermanentSendError, TransientSendError

_LEADING_DOT = re.compile(rb"(?m)^\.")


class DeliveryUncertain(Exception):
    """The message may or may not have been delivered: it is kept as sent and never resent."""


@dataclass
class Outgoing:
    key: Hashable
    sender: str
    recipients: list[str]
    data: bytes | None = None  # the message as SMTP bytes (SMTP backends)
    message: object = None  # the EmailMessage (other backends)


@dataclass
class Outcome:
    sent: bool = False
    lost_claim: bool = False
    committed: bool = False
    error: Exception | None = None


def _smtp_error(code: int, message: bytes | str, what: str) -> Exception:
    text = f"{what}: {code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
    return TransientSendError(text) if 400 <= code < 500 else PermanentSendError(text)


def is_smtp(backend) -> bool:
    return hasattr(backend, "prep_address") and hasattr(backend, "connection") and hasattr(backend, "open")


class EmailTransport:
    """A few Django mail backends (one connection each), reused for a whole claimed batch."""

    def __init__(self, backends: list):
        self.backends = backends
        self.smtp = is_smtp(backends[0])

    def __enter__(self):
        self.backends[0].open()  # fail early (and put the batch back) when the server is down
        return self

    def __exit__(self, *exc):
        for backend in self.backends:
            # The server may have gone away already; there is nothing left to flush.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                backend.close()

    @property
    def group_size(self) -> int:
        return len(self.backends) if self.smtp else 50

    def send_group(self, items: list[Outgoing], commit: Callable[[list], set]) -> dict[Hashable, Outcome]:
        """Deliver the items whose keys ``commit(keys)`` marks sent (it returns those keys)."""
        outcomes = {item.key: Outcome() for item in items}
        if not self.smtp:
            committed = commit([item.key for item in items])
            for item in items:
                outcome = outcomes[item.key]
                if item.key not in committed:
                    outcome.lost_claim = True
                    continue
                outcome.committed = True
                self.backends[0].send_messages([item.message])
                outcome.sent = True
            return outcomes

        prepared = self._prepare_all(list(zip(items, self.backends, strict=False)), outcomes)
        if not prepared:
            return outcomes
        committed = commit([item.key for item, _, _ in prepared])
        finishing = []
        for item, connection, backend in prepared:
            outcome = outcomes[item.key]
            if item.key not in committed:
                outcome.lost_claim = True
                self._drop(backend)
                continue
            outcome.committed = True
            # Past this line the invitation counts as sent: failures are reported, never retried blindly.
            try:
                connection.send(b".\r\n")
                finishing.append((item, connection, backend))
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                self._drop(backend)
                outcome.error = DeliveryUncertain(f"connection lost while finishing the message: {error}")
        for item, connection, backend in finishing:
            outcome = outcomes[item.key]
            try:
                code, reply = connection.getreply()
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                self._drop(backend)
                outcome.error = DeliveryUncertain(f"no reply after the message was handed over: {error}")
                continue
            if code == 250:
                outcome.sent = True
            else:
                outcome.error = _smtp_error(code, reply, "message refused")
        return outcomes

    def _connection(self, backend) -> smtplib.SMTP:
        if backend.connection is None:
            try:
                backend.open()
            except (OSError, smtplib.SMTPException) as error:
                raise TransientSendError(f"mail server unreachable: {error}") from error
        connection = backend.connection
        if not getattr(connection, "nodelay", False):
            # Each message ends with a second, tiny write (the dot): without this, Nagle's algorithm holds
            # it until the server's delayed ACK, ~40 ms a message.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.nodelay = True
        return connection

    def _drop(self, backend) -> None:
        """Abandon a connection mid-DATA: the server discards what it got without the final dot."""
        connection, backend.connection = backend.connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def _prepare_all(
        self, pairs: list[tuple[Outgoing, object]], outcomes
    ) -> list[tuple[Outgoing, smtplib.SMTP, object]]:
        """MAIL, RCPT, DATA and the message, all but the final dot, on all connections in lockstep.

        Each command goes out on every connection before any reply is read, so the group waits for
        three round trips in all rather than three per message.
        """
        live = []
        for item, backend in pairs:
            try:
                connection = self._connection(backend)
                connection.ehlo_or_helo_if_needed()
                live.append((item, connection, backend))
            except (TransientSendError, smtplib.SMTPException, OSError) as error:
                self._drop(backend)
                outcomes[item.key].error = TransientSendError(f"mail server unreachable: {error}")
        steps = [
            ("mail", lambda item: [f"FROM:{smtplib.quoteaddr(item.sender)}"], (250,), "sender refused"),
            (
                "rcpt",
                lambda item: [f"TO:{smtplib.quoteaddr(r)}" for r in item.recipients],
                (250, 251),
                "recipient refused",
            ),
            ("data", lambda item: [""], (354,), "data refused"),
        ]
        for command, arguments, ok, what in steps:
            sent = []
            for item, connection, backend in live:
                try:
                    for argument in arguments(item):
                        connection.putcmd(command, argument)
                    sent.append((item, connection, backend))
                except (smtplib.SMTPServerDisconnected, OSError) as error:
                    self._drop(backend)
                    outcomes[item.key].error = TransientSendError(f"mail server connection lost: {error}")
            live = []
            for item, connection, backend in sent:
                try:
                    replies = [connection.getreply() for _ in arguments(item)]
                except (smtplib.SMTPServerDisconnected, OSError) as error:
                    self._drop(backend)
                    outcomes[item.key].error = TransientSendError(f"mail server connection lost: {error}")
                    continue
                refused = next(((code, reply) for code, reply in replies if code not in ok), None)
                if refused:
                    outcomes[item.key].error = _smtp_error(*refused, what)
                    try:
                        connection.rset()
                    except (smtplib.SMTPException, OSError):
                        self._drop(backend)
                    continue
                live.append((item, connection, backend))
        prepared = []
        for item, connection, backend in live:
            data = _LEADING_DOT.sub(b"..", item.data)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            try:
                connection.send(data)
                prepared.append((item, connection, backend))
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                self._drop(backend)
                outcomes[item.key].error = TransientSendError(f"mail server connection lost: {error}")
        return prepared
