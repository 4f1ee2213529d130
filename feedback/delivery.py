"""Putting one invitation on the wire, exactly once.

The database and a mail server cannot commit together, so the commit point is chosen with care: the
message goes to the SMTP server up to, but not including, the end-of-data dot; then the invitation is
marked sent in the database (only if this worker still holds the claim); only then is the dot sent.

- Killed before the database commit: the server never saw the dot, so it drops the message when the
  connection dies; the claim expires and another worker sends it. No duplicate, nothing lost.
- Killed after the commit: the row says sent and nobody resends it. The only gap is the microseconds
  between the commit and writing five bytes, and there the failure is "not sent", never "sent twice".
- Claim lost (our lease expired and another worker took the row): the update matches nothing, the
  connection is dropped before the dot, and the other worker's copy is the only one.

Backends that are not SMTP (console, locmem, a provider's API) get the same order: commit, then hand over.
"""

from __future__ import annotations

import contextlib
import email.policy
import re
import smtplib
from collections.abc import Callable

from django.core.mail import EmailMultiAlternatives

from feedback.sms import PermanentSendError, TransientSendError

_LEADING_DOT = re.compile(rb"(?m)^\.")


def _smtp_error(code: int, message: bytes | str, what: str) -> Exception:
    text = f"{what}: {code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
    return TransientSendError(text) if 400 <= code < 500 else PermanentSendError(text)


class EmailTransport:
    """Wraps one Django mail backend (one connection reused for a whole batch)."""

    def __init__(self, backend):
        self.backend = backend
        self.smtp = hasattr(backend, "prep_address") and hasattr(backend, "connection")

    def __enter__(self):
        self.backend.open()
        return self

    def __exit__(self, *exc):
        # The server may have gone away already; there is nothing left to flush.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.backend.close()

    def send(self, message: EmailMultiAlternatives, commit: Callable[[], bool]) -> bool:
        """Deliver ``message`` if ``commit()`` (the database's "sent" mark) succeeds; False if it did not."""
        if not self.smtp:
            if not commit():
                return False
            self.backend.send_messages([message])
            return True
        return self._send_smtp(message, commit)

    def _connection(self) -> smtplib.SMTP:
        if self.backend.connection is None:
            try:
                self.backend.open()
            except OSError as error:
                raise TransientSendError(f"mail server unreachable: {error}") from error
        return self.backend.connection

    def _drop(self) -> None:
        """Abandon the connection mid-DATA: the server discards what it got without the final dot."""
        connection, self.backend.connection = self.backend.connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def _send_smtp(self, message: EmailMultiAlternatives, commit: Callable[[], bool]) -> bool:
        sender = self.backend.prep_address(message.from_email)
        recipients = [self.backend.prep_address(address) for address in message.recipients()]
        data = message.message(policy=email.policy.SMTP).as_bytes()
        data = _LEADING_DOT.sub(b"..", data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        connection = self._connection()
        try:
            connection.ehlo_or_helo_if_needed()
            code, reply = connection.mail(sender)
            if code != 250:
                connection.rset()
                raise _smtp_error(code, reply, "sender refused")
            for recipient in recipients:
                code, reply = connection.rcpt(recipient)
                if code not in (250, 251):
                    connection.rset()
                    raise _smtp_error(code, reply, "recipient refused")
            code, reply = connection.docmd("data")
            if code != 354:
                connection.rset()
                raise _smtp_error(code, reply, "data refused")
            connection.send(data)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise TransientSendError(f"mail server connection lost: {error}") from error
        if not commit():
            self._drop()
            return False
        # Past this line the invitation counts as sent: a failure below is reported, never retried blindly.
        try:
            connection.send(b".\r\n")
            code, reply = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise DeliveryUncertain(f"no reply after the message was handed over: {error}") from error
        if code != 250:
            raise _smtp_error(code, reply, "message refused")
        return True


class DeliveryUncertain(Exception):
    """The message may or may not have been delivered: it is kept as sent and never resent."""
