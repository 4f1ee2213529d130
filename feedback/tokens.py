"""Survey links: ``/f/<token>/`` where the token is signed with the survey's own salt and expires.

The token carries the survey id in clear (to pick the salt) and the invitation's random key (122 bits):
unguessable on its own, tamper-proof through the signature, and revocable per survey by rotating
``Survey.token_salt``. Nothing personal is in it.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing

from feedback.models import Invitation, Survey

SALT_CACHE_SECONDS = 60
_salts: dict[int, tuple[float, str, str]] = {}  # survey id -> (read at, salt, kind)


class BadToken(Exception):
    """Tampered, malformed, unknown or expired: the page says so and reveals nothing else."""


def _signer(salt: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"feedback.invitation.{salt}")


def make_token(invitation: Invitation) -> str:
    return _signer(invitation.survey.token_salt).sign(f"{invitation.survey_id}.{invitation.token_key}")


def survey_salt_and_kind(survey_id: int) -> tuple[str, str]:
    """The survey's salt and kind, remembered for a minute so that answering costs no extra query."""
    cached = _salts.get(survey_id)
    now = time.monotonic()
    if cached and now - cached[0] < SALT_CACHE_SECONDS:
        return cached[1], cached[2]
    row = Survey.objects.filter(pk=survey_id).values_list("token_salt", "kind").first()
    if row is None:
        raise BadToken("unknown survey")
    _salts[survey_id] = (now, row[0], row[1])
    return row


def read_token(token: str) -> tuple[int, str]:
    """(survey id, invitation key) of a valid token; raises BadToken otherwise."""
    try:
        value = token.rsplit(":", 2)[0]
        survey_part, key = value.split(".", 1)
        survey_id = int(survey_part)
    except ValueError:
        raise BadToken("malformed") from None
    salt, _ = survey_salt_and_kind(survey_id)
    try:
        unsigned = _signer(salt).unsign(token, max_age=settings.FEEDBACK_LINK_MAX_AGE_DAYS * 86400)
    except signing.BadSignature:  # includes SignatureExpired
        raise BadToken("bad signature or expired") from None
    if unsigned != value:
        raise BadToken("mismatch")
    return survey_id, key
