"""Exactly once under fire: a real Celery worker SIGKILLed mid-batch, a real SMTP peer counting."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import services
from feedback.models import Invitation, InvitationStatus
from feedback.tasks import invitations_send_due
from tests.feedback.conftest import default_survey, make_customer, make_touchpoint
from tests.feedback.smtp_sink import SmtpSink
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]

LEASE = 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_and_restarted_delivers_every_invitation_exactly_once(store):
    default_survey()
    for i in range(30):
        make_touchpoint(make_customer(email=f"kill{i}@example.com"))
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1))
    expected = {str(pk) for pk in Invitation.objects.values_list("public_id", flat=True)}
    assert len(expected) == 30

    # The sink accepts the 7th message and then holds its "250" reply: the worst moment to die,
    # when the server has the message and the worker has not heard back.
    with SmtpSink(hold_at=7) as sink:
        env = {
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "FEEDBACK_SEND_LEASE_SECONDS": str(LEASE),
            "FEEDBACK_SEND_BATCH": "10",
            "FEEDBACK_SMTP_CONNECTIONS": "4",  # groups of 4 in a claimed batch of 10: some are left claimed
            "FEEDBACK_QUIET_HOURS": "",
            "SITE_URL": "http://testserver",
        }
        with celery_worker(**env) as (process, queue):
            invitations_send_due.apply_async(queue=queue)
            assert sink.handler.holding.wait(timeout=60), "the worker never reached the 7th message"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        sink.handler.release.set()
        stuck = Invitation.objects.filter(status=InvitationStatus.SENDING).count()
        assert stuck > 0  # the dead worker left claimed rows behind

        time.sleep(LEASE + 0.5)  # its claims expire
        with celery_worker(**env) as (_, queue):
            invitations_send_due.apply_async(queue=queue)  # what the next beat tick does
            wait_for(lambda: sum(sink.received.values()) >= 30 and not _unsent(), timeout=60)
            time.sleep(0.5)  # anything extra would arrive now

    assert set(sink.received) == expected
    assert all(count == 1 for count in sink.received.values()), sink.received.most_common(3)
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 30


def _unsent() -> int:
    return Invitation.objects.exclude(status=InvitationStatus.SENT).count()
