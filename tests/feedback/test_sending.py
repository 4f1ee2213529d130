import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from feedback import services
from feedback.models import Invitation, InvitationStatus
from feedback.sms import LocmemSmsBackend
from profiles.models import Identifier
from tests.feedback.conftest import make_customer, make_touchpoint

pytestmark = pytest.mark.django_db


def _due(customer, **kwargs):
    make_touchpoint(customer, **kwargs)
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1))


def test_a_due_invitation_is_emailed_as_html_and_text_with_one_tap_buttons(store, customer):
    _due(customer)
    result = services.invitations_send_due()
    assert result.sent == 1
    (message,) = mail.outbox
    assert message.to == ["camille@example.com"]
    html = message.alternatives[0].content
    scores = re.findall(r'href="http://testserver/f/([^/]+)/\?score=(\d+)"', html)
    assert [int(score) for _, score in scores] == list(range(11))
    assert "http://testserver/f/" in message.body
    assert "Paris Marais" in message.subject  # French store, French subject with the store name
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SENT and invitation.sent_at is not None


def test_the_email_carries_rfc_8058_one_click_unsubscribe_headers(store, customer):
    _due(customer)
    services.invitations_send_due()
    headers = mail.outbox[0].extra_headers
    assert re.fullmatch(r"<http://testserver/f/[^>]+/unsubscribe/>", headers["List-Unsubscribe"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_english_store_asks_in_english(other_store, customer):
    _due(customer, store="NYC01")
    services.invitations_send_due()
    assert mail.outbox[0].subject == "One quick question about your visit to New York SoHo"
    assert "How likely are you to recommend New York SoHo to a friend?" in mail.outbox[0].body


def test_a_paris_store_asks_in_french(store, customer):
    _due(customer)
    services.invitations_send_due()
    assert "Quelle est la probabilité que vous recommandiez Paris Marais à un proche ?" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Une petite question sur votre visite chez Paris Marais"


def test_running_the_sender_twice_sends_each_invitation_once(store, customer):
    _due(customer)
    assert services.invitations_send_due().sent == 1
    assert services.invitations_send_due().sent == 0
    assert len(mail.outbox) == 1


def test_a_claim_taken_over_by_another_worker_is_not_sent_by_the_first(store, customer):
    import uuid

    _due(customer)
    first = uuid.uuid4()
    ids = services.invitations_claim(claim=first, batch_size=10)
    # The first worker stalls past its lease; a second one takes the row over and sends it.
    Invitation.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert services.invitations_send_due().sent == 1
    late = services.invitations_send_claimed(ids=ids, claim=first)
    assert late.sent == 0
    assert len(mail.outbox) == 1


def test_an_sms_invitation_carries_a_short_link(store):
    customer = make_customer(email=None, phone="+33612345678")
    _due(customer)
    assert services.invitations_send_due().sent == 1
    (sms,) = LocmemSmsBackend.outbox
    assert sms["to"] == "+33612345678"
    code = Invitation.objects.get().short_code
    assert f"http://testserver/s/{code}" in sms["text"]
    assert len(sms["text"]) <= 160


def test_consent_withdrawn_after_scheduling_suppresses_the_send(store, customer):
    _due(customer)
    customer.consent_surveys = False
    customer.save()
    result = services.invitations_send_due()
    assert (result.sent, result.suppressed) == (0, 1)
    assert Invitation.objects.get().reason == "no survey consent"
    assert mail.outbox == []


def test_a_customer_without_an_address_for_the_channel_is_not_invited(store, customer):
    Identifier.objects.filter(customer=customer).delete()
    make_touchpoint(customer)
    assert services.invitations_schedule().created == 0


def test_the_send_command_creates_and_sends_what_is_due_and_prints_how_many(store, customer):
    from io import StringIO

    from django.core.management import call_command

    make_touchpoint(customer, at=timezone.now() - timedelta(hours=5))
    out = StringIO()
    call_command("send_due_invitations", stdout=out)
    assert out.getvalue().startswith("sent=1 created=1")
    assert len(mail.outbox) == 1
