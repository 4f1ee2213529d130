"""Identifiers as staff see them: enough to recognise, never the full value in a page."""

from __future__ import annotations

import re

import phonenumbers

DOTS = "\u2022\u2022\u2022"


def mask_email(value: str) -> str:
    """jane.doe@example.com -> j•••@example.com"""
    local, _, domain = value.partition("@")
    if not domain:
        return mask_other(value)
    return f"{local[:1]}{DOTS}@{domain}"


def mask_phone(value: str) -> str:
    """+33612345678 -> +33 •• •• •• 78 (country code and the last two digits)."""
    digits = "".join(c for c in value if c.isdigit())
    try:
        country = f"+{phonenumbers.parse(value).country_code}"
    except phonenumbers.NumberParseException:
        country = ""
    return " ".join(part for part in (country, "\u2022\u2022 \u2022\u2022 \u2022\u2022", digits[-2:]) if part)


def mask_other(value: str) -> str:
    """LOY-00042 -> •••042: the last three characters (none of a short value)."""
    return DOTS + (value[-3:] if len(value) > 6 else "")


def mask(kind: str, value: str) -> str:
    if kind == "email":
        return mask_email(value)
    if kind == "phone":
        return mask_phone(value)
    return mask_other(value)


_KIND_VALUE = re.compile(r"\b(email|phone|loyalty_id|customer_id|anonymous_id)(\s+)(\S+)")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_PHONE = re.compile(r"\+\d{7,15}\b")


def mask_text(text: str) -> str:
    """Mask identifier values inside a sentence ("line 4 has email jane@x.com ..."): merge and review reasons."""
    text = _KIND_VALUE.sub(lambda m: f"{m[1]}{m[2]}{mask(m[1], m[3])}", text or "")
    text = _EMAIL.sub(lambda m: m[0] if DOTS in m[0] else mask_email(m[0]), text)
    return _PHONE.sub(lambda m: mask_phone(m[0]), text)
