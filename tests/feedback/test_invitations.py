from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from feedback import services
from feedback.models import Invitation, InvitationStatus, ScanState, Suppression, Survey
from tests.feedback.conftest import make_customer, make_touchpoint

pytestmark = pytest.mark.django_db


def test_a_purchase_schedules_one_invitation_after_the_survey_delay(store, customer):
    touchpoint = make_touchpoint(customer, associate="hugo")
    assert services.invitations_schedule().created == 1
    invitation = Invitation.objects.get()
    survey = Survey.objects.get()
    assert invitation.touchpoint_id == touchpoint.pk
    # Three hours ago + a two-hour delay is already past: due now.
    assert invitation.send_after == max(
        touchpoint.occurred_at + timedelta(minutes=survey.delay_minutes), invitation.created_at
    )
    assert (invitation.store_code, invitation.moment, invitation.associate_code) == ("PAR01", "purchased", "hugo")
    assert invitation.language == "fr"  # a Paris store asks in French
    assert invitation.channel == "email"


def test_imported_and_live_touchpoints_are_treated_alike(store, customer):
    from profiles.services import touchpoint_record

    other = make_customer(email="zoe@example.com")
    make_touchpoint(customer, source=None)  # an imported POS row
    touchpoint_record(customer=other, moment="store_visit", channel="store", store_code="PAR01")  # live
    assert services.invitations_schedule().created == 2


def test_moments_the_survey_does_not_ask_about_are_ignored(store, customer):
    make_touchpoint(customer, moment="product_viewed")
    assert services.invitations_schedule().created == 0


def test_the_scan_resumes_after_its_watermark_and_never_asks_twice(store, customer):
    make_touchpoint(customer)
    services.invitations_schedule()
    ScanState.objects.update(last_id=0, pending_id=0)  # force a full re-read
    services.invitations_schedule()
    assert Invitation.objects.count() == 1


def test_the_database_refuses_a_second_invitation_for_the_same_survey_and_touchpoint(store, customer):
    make_touchpoint(customer)
    services.invitations_schedule()
    invitation = Invitation.objects.get()
    invitation.pk = None
    invitation.public_id = None
    invitation.token_key = "another"
    invitation.short_code = "another"
    with pytest.raises(IntegrityError):
        Invitation.objects.create(
            **{
                f.attname: getattr(invitation, f.attname)
                for f in Invitation._meta.concrete_fields
                if f.attname not in ("id", "public_id")
            }
        )


def test_the_frequency_cap_allows_one_invitation_per_customer_per_30_days_across_surveys(store, customer):
    Survey.objects.create(name="Service", kind="csat", moments=["service_contact"], channels=["email"])
    make_touchpoint(customer, moment="purchased")
    make_touchpoint(customer, moment="store_visit")
    services.invitations_schedule()
    make_touchpoint(customer, moment="service_contact")
    services.invitations_schedule()
    assert Invitation.objects.count() == 1


def test_the_frequency_cap_lets_her_be_asked_again_after_the_window(store, customer):
    make_touchpoint(customer)
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(days=31), status=InvitationStatus.SENT)
    make_touchpoint(customer)
    services.invitations_schedule()
    assert Invitation.objects.count() == 2


def test_the_frequency_cap_is_configurable(store, customer, settings):
    settings.FEEDBACK_FREQUENCY_CAP_DAYS = 0
    make_touchpoint(customer)
    services.invitations_schedule()
    make_touchpoint(customer)
    services.invitations_schedule()
    assert Invitation.objects.count() == 2


def test_without_survey_consent_nobody_is_asked(store):
    make_touchpoint(make_customer(surveys=False))
    assert services.invitations_schedule().created == 0


def test_an_unsubscribed_customer_is_not_asked_even_if_an_import_grants_consent_again(store, customer):
    Suppression.objects.create(customer=customer)
    make_touchpoint(customer)
    assert services.invitations_schedule().created == 0


def test_touchpoints_too_old_to_be_meaningful_are_not_asked_about(store, customer, settings):
    make_touchpoint(customer, at=timezone.now() - timedelta(hours=settings.FEEDBACK_MAX_AGE_HOURS + 1))
    assert services.invitations_schedule().created == 0


def test_an_invitation_that_became_too_old_before_sending_expires_instead(store, customer):
    make_touchpoint(customer)
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1), expires_at=timezone.now())
    result = services.invitations_send_due()
    assert (result.sent, result.expired) == (0, 1)
    assert Invitation.objects.get().status == InvitationStatus.EXPIRED
    assert mail.outbox == []


def test_quiet_hours_push_an_evening_send_to_9am_in_the_stores_time_zone(store, customer, settings):
    settings.FEEDBACK_QUIET_HOURS = (21, 9)
    # 20:30 in Paris (winter, UTC+1) + 2h delay = 22:30 local: quiet, so 09:00 next morning local.
    with time_machine.travel(datetime(2026, 1, 15, 19, 45, tzinfo=UTC), tick=False):
        make_touchpoint(customer, at=datetime(2026, 1, 15, 19, 30, tzinfo=UTC))
        services.invitations_schedule()
    assert Invitation.objects.get().send_after == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def test_quiet_hours_follow_the_store_time_zone_not_the_servers(store, other_store, customer, settings):
    settings.FEEDBACK_QUIET_HOURS = (21, 9)
    # 19:30 UTC = 14:30 in New York: + 2h = 16:30, not quiet there.
    with time_machine.travel(datetime(2026, 1, 15, 19, 45, tzinfo=UTC), tick=False):
        make_touchpoint(customer, at=datetime(2026, 1, 15, 19, 30, tzinfo=UTC), store="NYC01")
        services.invitations_schedule()
    assert Invitation.objects.get().send_after == datetime(2026, 1, 15, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 1, 15, 20, 30, tzinfo=UTC), datetime(2026, 1, 16, 8, 0, tzinfo=UTC)),  # 21:30 Paris
        (datetime(2026, 1, 15, 5, 0, tzinfo=UTC), datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),  # 06:00 Paris
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), datetime(2026, 1, 15, 12, 0, tzinfo=UTC)),  # 13:00: fine
        (datetime(2026, 7, 15, 19, 30, tzinfo=UTC), datetime(2026, 7, 16, 7, 0, tzinfo=UTC)),  # summer time
    ],
)
def test_next_allowed_time_respects_quiet_hours(settings, utc, expected):
    settings.FEEDBACK_QUIET_HOURS = (21, 9)
    assert services.next_allowed_time(utc, "Europe/Paris") == expected


def test_a_send_that_falls_into_quiet_hours_is_deferred_not_sent(store, customer, settings):
    make_touchpoint(customer)
    services.invitations_schedule()
    settings.FEEDBACK_QUIET_HOURS = (21, 9)
    with time_machine.travel(datetime(2026, 1, 15, 22, 30, tzinfo=UTC), tick=False):  # 23:30 in Paris
        now = timezone.now()
        Invitation.objects.update(send_after=now - timedelta(minutes=1), expires_at=now + timedelta(days=1))
        result = services.invitations_send_due()
    assert (result.sent, result.deferred) == (0, 1)
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_after == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def test_the_scan_is_not_stuck_when_touchpoint_ids_jump_past_a_chunk(store, customer, settings):
    from django.db import connection

    settings.FEEDBACK_SCAN_CHUNK = 100
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('profiles_touchpoint', 'id'), nextval(pg_get_serial_sequence('profiles_touchpoint', 'id')) + 1000)"
        )
    make_touchpoint(customer)
    assert services.invitations_schedule().created == 1
