import pytest
from django.db import IntegrityError

from feedback.models import Invitation, Survey, SurveyKind

pytestmark = pytest.mark.django_db


def test_a_fresh_install_has_one_active_nps_survey_for_purchases_and_store_visits():
    import importlib

    from django.apps import apps

    Survey.objects.all().delete()
    migration = importlib.import_module("feedback.migrations.0002_default_nps_survey")
    migration.create_default_survey(apps, None)
    migration.create_default_survey(apps, None)  # idempotent
    survey = Survey.objects.get()
    assert survey.kind == SurveyKind.NPS
    assert survey.is_active
    assert set(survey.moments) == {"purchased", "store_visit"}


def test_the_nps_scale_runs_from_0_to_10_and_0_to_6_are_detractors():
    survey = Survey.objects.get()
    assert survey.scale == (0, 10)
    assert survey.is_detractor(6)
    assert not survey.is_detractor(7)


def test_an_invitation_needs_a_touchpoint():
    from django.utils import timezone

    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    now = timezone.now()
    with pytest.raises(IntegrityError):
        Invitation.objects.create(
            survey=Survey.objects.get(), touchpoint_id=None, customer=customer, channel="email",
            moment="purchased", occurred_at=now, send_after=now, expires_at=now,
        )  # fmt: skip
