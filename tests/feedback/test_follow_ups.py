import pytest
from django.urls import reverse

from feedback import services
from feedback.models import FollowUp, FollowUpStatus
from feedback.tokens import make_token
from profiles.models import PiiAccess, Touchpoint
from tests.feedback.conftest import make_customer, make_invitation

pytestmark = pytest.mark.django_db


def _detractor(client, store_code="PAR01", email="camille@example.com", comment=""):
    invitation = make_invitation(make_customer(email=email), store=store_code)
    token = make_token(invitation)
    client.post(reverse("feedback:answer", args=[token]), {"score": "3"})
    if comment:
        client.post(reverse("feedback:comment", args=[token]), {"comment": comment})
    services.answers_apply_all()  # the beat, when she did not comment
    return FollowUp.objects.get(response__invitation=invitation)


def test_the_queue_lists_open_follow_ups_of_the_managers_stores_only(
    client, manager_client, store, other_store, django_assert_num_queries
):
    mine = _detractor(client, comment="Nobody at the fitting rooms")
    _detractor(client, store_code="NYC01", email="ny@example.com", comment="Secret New York complaint")
    page = manager_client.get(reverse("feedback:follow_ups"))
    assert page.status_code == 200
    assert "Nobody at the fitting rooms" in page.text
    assert "Secret New York complaint" not in page.text
    assert str(mine.public_id) in page.text
    assert PiiAccess.objects.filter(action="feedback_follow_ups", customer=mine.customer).exists()


def test_the_queue_costs_a_fixed_number_of_queries(client, manager_client, store, django_assert_num_queries):
    for i in range(3):
        _detractor(client, email=f"q{i}@example.com")
    manager_client.get(reverse("feedback:follow_ups"))  # warm the session
    # session, user + staff record (one join), her visible stores, follow-ups joined with answers and customers, audit insert
    with django_assert_num_queries(5):
        manager_client.get(reverse("feedback:follow_ups"))


def test_a_follow_up_of_another_store_is_not_found(client, manager_client, store, other_store):
    theirs = _detractor(client, store_code="NYC01", email="ny@example.com")
    assert manager_client.get(reverse("feedback:follow_up", args=[theirs.public_id])).status_code == 404
    assert (
        manager_client.post(reverse("feedback:follow_up_resolve", args=[theirs.public_id]), {"resolution": "x"})
    ).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == FollowUpStatus.OPEN


def test_associates_cannot_see_the_queue(associate_client):
    assert associate_client.get(reverse("feedback:follow_ups")).status_code == 403
    assert associate_client.get(reverse("feedback:dashboard")).status_code == 403


def test_a_manager_contacts_notes_and_resolves_and_the_resolution_lands_on_her_timeline(
    client, manager_client, manager, store
):
    follow_up = _detractor(client)
    detail = reverse("feedback:follow_up", args=[follow_up.public_id])
    assert manager_client.get(detail).status_code == 200
    manager_client.post(reverse("feedback:follow_up_contact", args=[follow_up.public_id]), {"text": "Called her"})
    manager_client.post(reverse("feedback:follow_up_note", args=[follow_up.public_id]), {"text": "Wants a callback"})
    done = manager_client.post(
        reverse("feedback:follow_up_resolve", args=[follow_up.public_id]), {"resolution": "Exchanged the size"}
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.RESOLVED and follow_up.resolved_by == manager.user
    assert [e.kind for e in follow_up.entries.all()] == ["contacted", "note", "resolved"]
    touchpoint = Touchpoint.objects.get(external_id=f"feedback-follow-up-{follow_up.public_id}")
    assert touchpoint.properties["resolution"] == "Exchanged the size" and touchpoint.properties["resolved"]
    assert manager_client.get(reverse("feedback:follow_ups")).text.count(str(follow_up.public_id)) == 0


def test_resolving_needs_a_resolution(client, manager_client, store):
    follow_up = _detractor(client)
    manager_client.post(reverse("feedback:follow_up_resolve", args=[follow_up.public_id]), {"resolution": "  "})
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.OPEN


def test_resolving_twice_logs_it_once(client, manager, store):
    follow_up = _detractor(client)
    services.follow_up_resolve(follow_up=follow_up, by=manager.user, resolution="Done")
    services.follow_up_resolve(follow_up=follow_up, by=manager.user, resolution="Done again")
    assert follow_up.entries.count() == 1


def test_the_feedback_overview_shows_latest_answers_and_open_follow_ups(client, manager_client, store):
    _detractor(client, comment="Queue was far too long")
    page = manager_client.get(reverse("feedback:dashboard"))
    assert page.status_code == 200
    assert "Queue was far too long" in page.text
    assert reverse("feedback:follow_ups") in page.text


def test_a_promoter_opens_no_follow_up(client, store):
    invitation = make_invitation(make_customer())
    client.post(reverse("feedback:answer", args=[make_token(invitation)]), {"score": "9"})
    assert services.answers_apply_all() == 1
    assert not FollowUp.objects.exists()
