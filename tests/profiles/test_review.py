"""The duplicate review list: admins compare two masked profiles, then merge or keep them apart."""

from __future__ import annotations

import pytest
from django.urls import reverse

from profiles.identity import KEPT_APART
from profiles.models import Customer, MatchReview, Merge, PiiAccess, ReviewKind
from tests.factories import CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(db):
    older = CustomerFactory(first_name="Léa", last_name="Girard")
    newer = CustomerFactory(first_name="Lea", last_name="Girard")
    IdentifierFactory(customer=older, kind="email", value="lea.girard@example.com")
    IdentifierFactory(customer=newer, kind="phone", value="+33698765432")
    return MatchReview.objects.create(
        kind=ReviewKind.SHARED_VALUE, customer_a=older, customer_b=newer,
        reason="phone +33698765432 on line 7 links them, but they would hold 2 phone values",
    )  # fmt: skip


def test_only_admins_see_the_review_list(client, associate, manager, pair):
    for staff in (associate, manager):
        client.force_login(staff.user)
        assert client.get(reverse("profiles:review")).status_code == 403


def test_both_sides_are_shown_masked_and_audited(client, admin_associate, pair):
    client.force_login(admin_associate.user)
    html = client.get(reverse("profiles:review")).content.decode()
    assert "Léa Girard" in html and "Lea Girard" in html
    assert "l•••@example.com" in html and "+33 •• •• •• 32" in html
    assert "lea.girard@example.com" not in html and "698765432" not in html
    assert set(PiiAccess.objects.values_list("action", flat=True)) == {"match_review"}


def test_merge_keeps_the_older_profile(client, admin_associate, pair):
    client.force_login(admin_associate.user)
    response = client.post(reverse("profiles:review_resolve"), {"review": pair.pk, "action": "merge"})
    assert response.status_code == 302
    newer = Customer.objects.get(pk=pair.customer_b_id)
    assert newer.merged_into_id == pair.customer_a_id
    assert Merge.objects.get().survivor_id == pair.customer_a_id
    pair.refresh_from_db()
    assert pair.resolution == "merged"


def test_not_the_same_person_keeps_them_apart(client, admin_associate, pair):
    client.force_login(admin_associate.user)
    client.post(reverse("profiles:review_resolve"), {"review": pair.pk, "action": "dismiss"})
    pair.refresh_from_db()
    assert pair.resolved_at is not None and pair.resolution == KEPT_APART
    assert not Merge.objects.exists()
    assert "Nothing to review." in client.get(reverse("profiles:review")).content.decode()
