from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from feedback.models import Invitation, InvitationStatus, Survey
from profiles.models import Customer, Identifier, Touchpoint
from tests.factories import SourceFactory

_events = itertools.count(1)


@pytest.fixture(autouse=True)
def _default_survey(request):
    # Transactional tests (anyone's) flush tables, data-migration rows included; with --reuse-db the
    # survey a fresh install has would then be missing here.
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        default_survey()


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.SMS_BACKEND = "feedback.sms.LocmemSmsBackend"
    settings.FEEDBACK_QUIET_HOURS = None  # tests about quiet hours turn them on
    settings.SITE_URL = "http://testserver"
    mail.outbox = []
    from feedback.sms import LocmemSmsBackend

    LocmemSmsBackend.outbox.clear()
    from feedback import tokens

    tokens._salts.clear()


def default_survey() -> Survey:
    """The data migration's NPS survey (recreated after a transactional test flushed the tables)."""
    return Survey.objects.filter(kind="nps").order_by("pk").first() or Survey.objects.create(
        name="After a purchase or a visit (NPS)", kind="nps", moments=["purchased", "store_visit"],
        channels=["email", "sms"], delay_minutes=120,
    )  # fmt: skip


def make_customer(
    *, email: str | None = "camille@example.com", phone: str | None = None, surveys=True, first="Camille", last="Durand"
):
    customer = Customer.objects.create(first_name=first, last_name=last, consent_surveys=surveys)
    if email:
        Identifier.objects.create(customer=customer, kind="email", value=email)
    if phone:
        Identifier.objects.create(customer=customer, kind="phone", value=phone)
    return customer


def make_touchpoint(
    customer, *, moment="purchased", at: datetime | None = None, store="PAR01", associate="", source=None
):
    return Touchpoint.objects.create(
        source=source or SourceFactory(name="pos"),
        external_id=f"evt-{next(_events)}",
        customer=customer,
        occurred_at=at or timezone.now() - timedelta(hours=3),
        channel="store",
        moment=moment,
        store_code=store,
        associate_code=associate,
    )


def make_invitation(customer, *, store="PAR01", associate="", status=InvitationStatus.SENT, sent_ago=60, **extra):
    touchpoint = make_touchpoint(customer, store=store, associate=associate)
    now = timezone.now()
    fields = {
        "survey": default_survey(),
        "touchpoint": touchpoint,
        "customer": customer,
        "channel": "email",
        "store_code": store,
        "moment": touchpoint.moment,
        "touchpoint_channel": "store",
        "associate_code": associate,
        "occurred_at": touchpoint.occurred_at,
        "status": status,
        "language": "fr" if store == "PAR01" else "en",
        "send_after": now - timedelta(seconds=sent_ago),
        "sent_at": now - timedelta(seconds=sent_ago) if status == InvitationStatus.SENT else None,
        "expires_at": now + timedelta(hours=24),
    }
    fields.update(extra)
    return Invitation.objects.create(**fields)


@pytest.fixture
def customer(db):
    return make_customer()
