"""Sending through a real SMTP peer: headers on the wire, transient and permanent refusals."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from feedback import services
from feedback.models import Invitation, InvitationStatus
from tests.feedback.conftest import make_customer, make_touchpoint
from tests.feedback.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


def _due(*customers):
    for customer in customers:
        make_touchpoint(customer)
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1))


def test_a_batch_goes_out_over_one_smtp_connection_with_html_text_and_unsubscribe_headers(store, settings):
    customers = [make_customer(email=f"c{i}@example.com") for i in range(5)]
    _due(*customers)
    with SmtpSink() as sink:
        settings.MAILERS = sink.mailer()
        assert services.invitations_send_due().sent == 5
    assert sorted(sink.received.values()) == [1] * 5
    message = message_from_bytes(sink.handler.messages[0], policy=policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://testserver/f/")
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    # The mail merge put each invitation's own token in its own message.
    import re

    from feedback.tokens import read_token

    for raw in sink.handler.messages:
        parsed = message_from_bytes(raw, policy=policy.default)
        html = parsed.get_body(("html",)).get_content()
        tokens = set(re.findall(r"/f/([^/]+)/", html))
        assert len(tokens) == 1
        _, key = read_token(tokens.pop())
        invitation = Invitation.objects.get(token_key=key)
        assert str(invitation.public_id) == parsed["X-Invitation"]
        assert parsed["To"] == invitation.customer.identifiers.get(kind="email").value


def test_a_temporary_refusal_is_retried_later_with_backoff(store, settings):
    customer = make_customer(email="busy@example.com")
    _due(customer)
    with SmtpSink(refuse={"busy@example.com": "451 4.3.0 Try again later"}) as sink:
        settings.MAILERS = sink.mailer()
        result = services.invitations_send_due()
    assert (result.sent, result.retrying) == (0, 1)
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_after > timezone.now() + timedelta(seconds=30)
    assert "451" in invitation.last_error
    assert sink.received == {}


def test_a_permanent_refusal_is_recorded_and_not_retried(store, settings):
    customer = make_customer(email="gone@example.com")
    ok = make_customer(email="ok@example.com")
    _due(customer, ok)
    with SmtpSink(refuse={"gone@example.com": "550 5.1.1 No such user"}) as sink:
        settings.MAILERS = sink.mailer()
        result = services.invitations_send_due()
        assert services.invitations_send_due().sent == 0
    assert (result.sent, result.failed) == (1, 1)
    failed = Invitation.objects.get(customer=customer)
    assert failed.status == InvitationStatus.FAILED and "550" in failed.last_error


def test_an_unreachable_mail_server_puts_the_batch_back_for_later(store, settings):
    from tests.feedback.smtp_sink import free_port

    _due(make_customer())
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    result = services.invitations_send_due()
    assert (result.sent, result.retrying) == (0, 1)
    assert Invitation.objects.get().status == InvitationStatus.SCHEDULED


def test_a_customer_with_an_accented_name_gets_her_name_right(store, settings):
    from email import message_from_bytes, policy

    customer = make_customer(email="ines@example.com", first="Inès")
    _due(customer)
    with SmtpSink() as sink:
        settings.MAILERS = sink.mailer()
        assert services.invitations_send_due().sent == 1
    message = message_from_bytes(sink.handler.messages[0], policy=policy.default)
    assert "Bonjour Inès," in message.get_body(("plain",)).get_content()
    assert "Bonjour Inès," in message.get_body(("html",)).get_content()
    assert message["To"] == "ines@example.com"
