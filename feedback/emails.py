"""The invitation email: plain text + HTML, the scale as one-tap buttons, RFC 8058 one-click unsubscribe.

Building a MIME message with Python's email package costs a few milliseconds, too much for hundreds of
sends a second. So for SMTP, ``MailMerge`` has Django build one message per (survey, language, store,
kind of first name) with placeholders, and fills in each invitation's address, token and first name as
bytes. The template is built with 998-character lines so no placeholder is ever wrapped or encoded; if
one is missing from the bytes anyway, that group falls back to building each message in full.
"""

from __future__ import annotations

import email.policy
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from feedback import wording
from feedback.models import Invitation
from feedback.tokens import make_token
from profiles.stores import store_info

# Lines up to SMTP's hard limit: long link lines stay 8bit/7bit instead of quoted-printable.
POLICY = email.policy.SMTP.clone(max_line_length=998)

TOKEN = "@@TOKEN@@"  # noqa: S105 - a placeholder, not a secret
INVITATION = "@@INVITATION@@"
TO = "merge-to@merge.invalid"
FIRST = {"ascii": ("@@FIRST@@", "@@FIRSTHTML@@"), "unicode": ("@@FIRST·NAME@@", "@@FIRST·HTML@@")}


def brand_for(invitation: Invitation, language: str) -> str:
    name = (getattr(invitation, "store", None) or store_info(invitation.store_code)).name
    if name:
        return name
    with translation.override(language):
        return str(wording.FALLBACK_BRAND)


def link_urls(invitation: Invitation, *, token: str | None = None) -> dict:
    token = token or make_token(invitation)
    base = settings.SITE_URL
    answer = base + reverse("feedback:answer", args=[token])
    low, high = invitation.survey.scale
    return {
        "answer": answer,
        "scores": [(score, f"{answer}?score={score}") for score in range(low, high + 1)],
        "unsubscribe": base + reverse("feedback:unsubscribe", args=[token]),
        "honeypot": base + reverse("feedback:honeypot", args=[token]),
        "short": base + reverse("feedback:short", args=[invitation.short_code]),
    }


def _build(invitation: Invitation, *, address: str, token: str, first_text: str, first_html: str, public_id: str):
    language = invitation.language
    brand = brand_for(invitation, language)
    urls = link_urls(invitation, token=token)
    survey = invitation.survey
    low_label, high_label = wording.scale_ends(survey, language=language)
    context = {
        "first_name": first_text,
        "brand": brand,
        "question": wording.question(survey, brand=brand, language=language),
        "urls": urls,
        "scores": [(wording.score_label(survey, s), url) for s, url in urls["scores"]],
        "low_label": low_label,
        "high_label": high_label,
        "LANGUAGE_CODE": language,
    }
    with translation.override(language):
        text = render_to_string("feedback/email/invitation.txt", context)
        html = render_to_string("feedback/email/invitation.html", context | {"first_name": first_html})
        subject = wording.subject(brand=brand, language=language)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[address],
        headers={
            "List-Unsubscribe": f"<{urls['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Invitation": public_id,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def invitation_email(invitation: Invitation, *, address: str) -> EmailMultiAlternatives:
    """The complete message for one invitation (any backend)."""
    name = invitation.customer.greeting_name
    return _build(
        invitation,
        address=address,
        token=make_token(invitation),
        first_text=name,
        first_html=name,  # the HTML template escapes it
        public_id=str(invitation.public_id),
    )


def _name_kind(name: str) -> str:
    return "none" if not name else "ascii" if name.isascii() else "unicode"


class MailMerge:
    """SMTP bytes for invitations, from one Django-built template message per group."""

    def __init__(self):
        self._templates: dict[tuple, bytes | None] = {}

    def _template(self, invitation: Invitation, kind: str) -> bytes | None:
        key = (invitation.survey_id, invitation.survey.updated_at, invitation.language, invitation.store_code, kind)
        if key not in self._templates:
            first_text, first_html = FIRST.get(kind, ("", ""))
            message = _build(
                invitation, address=TO, token=TOKEN, first_text=first_text, first_html=first_html, public_id=INVITATION
            )
            data = message.message(policy=POLICY).as_bytes()
            placeholders_intact = (
                max(len(line) for line in data.split(b"\r\n")) <= 900  # room for a long address or name
                and data.count(TOKEN.encode()) >= 3
                and TO.encode() in data
                and INVITATION.encode() in data
                and all(p.encode() in data for p in (first_text, first_html) if p)
            )
            self._templates[key] = data if placeholders_intact else None
        return self._templates[key]

    def data(self, invitation: Invitation, *, address: str) -> bytes:
        name = invitation.customer.greeting_name
        kind = _name_kind(name)
        template = self._template(invitation, kind) if address.isascii() else None
        if template is None:
            # As Django's own SMTP backend does: standard line lengths, encoded where needed.
            return invitation_email(invitation, address=address).message(policy=email.policy.SMTP).as_bytes()
        data = (
            template.replace(TOKEN.encode(), make_token(invitation).encode())
            .replace(TO.encode(), address.encode())
            .replace(INVITATION.encode(), str(invitation.public_id).encode())
        )
        if kind != "none":
            text_placeholder, html_placeholder = FIRST[kind]
            data = data.replace(text_placeholder.encode(), _header_safe(name).encode()).replace(
                html_placeholder.encode(), escape(_header_safe(name)).encode()
            )
        # Each message gets its own Message-ID.
        start = data.index(b"Message-ID: ") + len(b"Message-ID: ")
        end = data.index(b"\r\n", start)
        return data[:start] + make_msgid(domain=DNS_NAME).encode() + data[end:]


def _header_safe(text: str) -> str:
    """A first name inserted into the body must not be able to break a line (or start a new header)."""
    return " ".join(text.split())
