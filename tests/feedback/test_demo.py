import pytest

from feedback import demo
from feedback.models import FollowUp, Invitation, Response
from tests.feedback.conftest import make_customer, make_touchpoint

pytestmark = pytest.mark.django_db


def test_demo_feedback_is_deterministic_idempotent_and_has_detractors_with_follow_ups(store, other_store):
    for i in range(120):
        make_touchpoint(make_customer(email=f"d{i}@example.com"), store="PAR01" if i % 2 else "NYC01")
    first = demo.seed(seed=7, customers=40)
    # Invited: up to 40 / 35% of the customers; answered: about a third of them, like a real pulse survey.
    assert first["invitations"] == 114 and Invitation.objects.filter(status="sent").count() > 60
    assert 20 <= first["responses"] <= 60 and first["follow_ups"] > 0
    assert Response.objects.count() == Invitation.objects.filter(status="answered").count() == first["responses"]
    assert demo.seed(seed=7, customers=40)["skipped"] is True
    scores = list(Response.objects.order_by("customer_id").values_list("score", flat=True))
    assert FollowUp.objects.count() == sum(1 for s in scores if s <= 6)
    assert Response.objects.exclude(comment="").exists()
    assert Response.objects.filter(language="fr", store_code="PAR01").exists()
    Response.objects.all().delete()
    Invitation.objects.all().delete()
    demo.seed(seed=7, customers=40)
    assert list(Response.objects.order_by("customer_id").values_list("score", flat=True)) == scores
