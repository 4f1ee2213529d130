from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from feedback import selectors, services
from feedback.models import FollowUp, Invitation, InvitationStatus, PendingAnswer, Response, Suppression
from feedback.tokens import make_token
from profiles.models import CustomerSummary, Touchpoint
from tests.factories import AssociateFactory
from tests.feedback.conftest import make_customer, make_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(store, customer):
    return make_invitation(customer, associate="hugo")


def url(invitation, name="answer"):
    return reverse(f"feedback:{name}", args=[make_token(invitation)])


def apply_answers() -> int:
    """What the beat does every few seconds: pending answers become responses."""
    return services.answers_apply_all()


def test_opening_the_link_shows_the_question_and_records_nothing(client, invitation):
    page = client.get(url(invitation))
    assert page.status_code == 200
    assert "Camille" in page.text and "Durand" not in page.text  # first name only
    assert Response.objects.count() == 0


def test_neither_get_nor_head_with_a_preselected_score_records_an_answer(client, invitation):
    page = client.get(url(invitation) + "?score=9")
    assert page.status_code == 200
    assert 'name="score" value="9"' in page.text and "aria-pressed" in page.text
    assert client.head(url(invitation) + "?score=9").status_code == 200
    assert apply_answers() == 0 and Response.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_a_tapped_score_is_stored_with_store_moment_and_associate(client, invitation):
    with time_machine.travel(timezone.now(), tick=False):  # the links' signatures carry the second they are made
        answer = client.post(url(invitation), {"score": "9"})
        assert answer.status_code == 303 and answer["Location"] == url(invitation, "comment")
    assert PendingAnswer.objects.get().score == 9  # committed before the 303; applied by the beat
    assert apply_answers() == 1
    assert not PendingAnswer.objects.exists()
    response = Response.objects.get()
    assert (response.score, response.kind, response.store_code, response.moment, response.associate_code) == (
        9, "nps", "PAR01", "purchased", "hugo",
    )  # fmt: skip
    assert response.customer_id == invitation.customer_id
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED
    assert not FollowUp.objects.exists()


def test_answering_again_replaces_the_score(client, invitation):
    client.post(url(invitation), {"score": "3"})
    apply_answers()
    first = Response.objects.get()
    client.post(url(invitation), {"score": "8"})
    apply_answers()
    response = Response.objects.get()
    assert response.pk == first.pk and response.score == 8
    assert response.first_answered_at == first.first_answered_at


def test_a_score_outside_the_scale_records_nothing(client, invitation):
    assert client.post(url(invitation), {"score": "11"}).status_code == 303
    assert client.post(url(invitation), {"score": "nine"}).status_code == 303
    assert not PendingAnswer.objects.exists()
    assert apply_answers() == 0 and Response.objects.count() == 0


def test_the_answer_updates_her_greeting_card_summary(client, invitation):
    CustomerSummary.objects.create(customer=invitation.customer)
    client.post(url(invitation), {"score": "4"})
    apply_answers()
    summary = CustomerSummary.objects.get()
    assert summary.last_feedback_score == 4 and summary.last_feedback_at is not None


def test_the_answer_lands_on_her_timeline_with_the_next_beat(client, invitation):
    client.post(url(invitation), {"score": "10"})
    apply_answers()
    assert services.responses_to_timeline() == 1
    assert services.responses_to_timeline() == 0
    touchpoint = Touchpoint.objects.get(moment="feedback_given")
    assert touchpoint.properties == {"score": 10, "survey": "nps"}
    assert touchpoint.customer_id == invitation.customer_id


def test_a_detractor_opens_a_follow_up_assigned_to_the_associate_who_served_her(client, store, invitation, settings):
    hugo = AssociateFactory(user__username="hugo", stores=[store])
    client.post(url(invitation), {"score": "5"})
    apply_answers()
    follow_up = FollowUp.objects.get()
    assert follow_up.assigned_to == hugo
    assert follow_up.store_code == "PAR01"
    assert follow_up.due_at > timezone.now() + timedelta(hours=settings.FEEDBACK_FOLLOW_UP_DUE_HOURS - 1)


def test_the_open_follow_up_is_there_for_her_next_greeting_in_one_query(client, invitation, django_assert_num_queries):
    client.post(url(invitation), {"score": "2"})
    apply_answers()
    other = make_customer(email="zoe@example.com")
    with django_assert_num_queries(1):  # follow-ups joined with their responses
        found = selectors.open_followups_for([invitation.customer_id, other.pk])
    assert list(found) == [invitation.customer_id]
    assert found[invitation.customer_id].response.score == 2


def test_a_comment_gets_sentiment_and_themes(client, invitation):
    client.post(url(invitation), {"score": "4"})
    with time_machine.travel(timezone.now(), tick=False):  # the links' signatures carry the second they are made
        done = client.post(url(invitation, "comment"), {"comment": "Waited ages at the checkout, staff was rude."})
        assert done.status_code == 303 and done["Location"] == url(invitation, "thanks")
    response = Response.objects.get()
    assert response.sentiment == "negative"
    assert {"wait_time", "checkout", "staff"} <= set(response.themes)
    assert client.get(url(invitation, "thanks")).status_code == 200


def test_a_french_comment_is_understood_too(client, invitation):
    client.post(url(invitation), {"score": "10"})
    client.post(url(invitation, "comment"), {"comment": "Vendeuse très sympa, super accueil !"})
    response = Response.objects.get()
    assert response.language == "fr" and response.sentiment == "positive" and "staff" in response.themes


def test_the_comment_page_needs_an_answer_first(client, invitation):
    assert client.get(url(invitation, "comment")).status_code == 302


def test_a_paris_customer_reads_the_page_in_french(client, invitation):
    page = client.get(url(invitation))
    assert "Quelle est la probabilité" in page.text


def test_a_tampered_token_gets_a_friendly_page_that_reveals_nothing(client, invitation):
    token = make_token(invitation)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for bad in (tampered, "1.nothing", "garbage", "99999.x:y:z"):
        page = client.get(reverse("feedback:answer", args=[bad]))
        assert page.status_code == 404
        assert "expired" in page.text and "Camille" not in page.text and "Paris" not in page.text
    assert client.post(reverse("feedback:answer", args=[tampered]), {"score": "9"}).status_code == 404
    assert not PendingAnswer.objects.exists()


def test_an_expired_link_cannot_be_answered(client, invitation, settings):
    link = url(invitation)
    with time_machine.travel(timezone.now() + timedelta(days=settings.FEEDBACK_LINK_MAX_AGE_DAYS + 1)):
        assert client.get(link).status_code == 404
        assert client.post(link, {"score": "9"}).status_code == 404
    assert not PendingAnswer.objects.exists()


def test_rotating_the_survey_salt_revokes_its_links(client, invitation):
    from feedback import tokens

    link = url(invitation)
    invitation.survey.token_salt = "rotated"
    invitation.survey.save()
    tokens._salts.clear()
    assert client.get(link).status_code == 404


def test_requests_from_one_address_are_rate_limited(client, invitation, settings):
    settings.FEEDBACK_RATE_LIMIT_PER_MINUTE = 3
    settings.WEB_WORKERS = 1
    statuses = [client.get(url(invitation)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    other = client.get(url(invitation), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_an_answer_seconds_after_delivery_is_flagged_as_possibly_automated(client, store, customer):
    invitation = make_invitation(customer, sent_ago=1)
    client.post(url(invitation), {"score": "10"})
    apply_answers()
    response = Response.objects.get()
    assert response.bot_suspected and response.bot_reasons == ["fast_answer"]


def test_following_the_hidden_honeypot_link_flags_later_answers(client, invitation):
    assert client.get(url(invitation, "honeypot")).status_code == 200
    assert Response.objects.count() == 0
    client.post(url(invitation), {"score": "10"})
    apply_answers()
    assert Response.objects.get().bot_reasons == ["honeypot_link"]


def test_unsubscribe_get_only_asks_for_confirmation(client, invitation):
    page = client.get(url(invitation, "unsubscribe"))
    assert page.status_code == 200 and "Me désinscrire" in page.text
    assert not Suppression.objects.exists()


def test_one_click_unsubscribe_post_works_without_login_or_csrf(invitation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    page = client.post(url(invitation, "unsubscribe"), {"List-Unsubscribe": "One-Click"})
    assert page.status_code == 200
    suppression = Suppression.objects.get()
    assert suppression.customer_id == invitation.customer_id and suppression.via == "one-click"
    invitation.customer.refresh_from_db()
    assert invitation.customer.consent_surveys is False
    assert invitation.customer.consent_surveys_source == "feedback-one-click"


def test_unsubscribing_cancels_her_scheduled_invitations(client, store, customer):
    sent = make_invitation(customer)
    pending = make_invitation(customer, status=InvitationStatus.SCHEDULED)
    client.post(url(sent, "unsubscribe"))
    pending.refresh_from_db()
    assert pending.status == InvitationStatus.SUPPRESSED
    assert services.invitations_send_due().sent == 0


def test_the_short_sms_link_redirects_to_the_signed_link(client, invitation):
    page = client.get(reverse("feedback:short", args=[invitation.short_code]))
    assert page.status_code == 302 and page["Location"].endswith(url(invitation))
    assert client.get(reverse("feedback:short", args=["nope"])).status_code == 404


def test_a_scheduled_invitation_cannot_be_answered_before_it_is_sent(client, store, customer):
    invitation = make_invitation(customer, status=InvitationStatus.SCHEDULED)
    assert client.post(url(invitation), {"score": "9"}).status_code == 404
    assert not PendingAnswer.objects.exists()
    assert Invitation.objects.get().status == InvitationStatus.SCHEDULED


def test_her_own_pages_show_her_answer_before_the_beat_applies_it(client, invitation):
    client.post(url(invitation), {"score": "4"})
    assert not Response.objects.exists()
    assert "Nous avons bien reçu votre 4." in client.get(url(invitation, "comment")).text
    assert "Vous avez répondu 4." in client.get(url(invitation)).text
    assert client.get(url(invitation, "thanks")).status_code == 200
    client.post(url(invitation), {"score": "9"})  # she changes her mind before the beat
    assert "Nous avons bien reçu votre 9." in client.get(url(invitation, "comment")).text
    assert not Response.objects.exists()


def test_a_comment_applies_her_pending_score_first(client, invitation):
    client.post(url(invitation), {"score": "3"})
    client.post(url(invitation, "comment"), {"comment": "Nobody at the fitting rooms."})
    response = Response.objects.get()
    assert (response.score, response.comment) == (3, "Nobody at the fitting rooms.")
    assert not PendingAnswer.objects.exists()
    assert FollowUp.objects.get().response == response
    assert apply_answers() == 0


def test_taps_applied_together_keep_the_latest_score_the_first_time_and_any_detractor_follow_up(
    client, store, customer
):
    invitation = make_invitation(customer)
    first_at = timezone.now()
    with time_machine.travel(first_at, tick=False):
        client.post(url(invitation), {"score": "2"})
    with time_machine.travel(first_at + timedelta(seconds=20), tick=False):
        client.post(url(invitation), {"score": "9"})
    assert apply_answers() == 2
    response = Response.objects.get()
    assert response.score == 9 and response.first_answered_at == first_at
    assert response.answered_at == first_at + timedelta(seconds=20)
    assert FollowUp.objects.get().response == response  # as if each tap had been applied on its own
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED


def test_an_older_tap_applied_after_a_newer_one_changes_nothing(client, invitation):
    CustomerSummary.objects.create(customer=invitation.customer)
    client.post(url(invitation), {"score": "8"})
    apply_answers()
    newer = Response.objects.get()
    PendingAnswer.objects.create(invitation=invitation, score=1, answered_at=newer.answered_at - timedelta(seconds=5))
    assert apply_answers() == 1
    response = Response.objects.get()
    assert response.score == 8 and response.answered_at == newer.answered_at
    assert CustomerSummary.objects.get().last_feedback_score == 8
    assert not FollowUp.objects.exists()


def test_the_summary_gets_her_latest_answer_across_invitations(client, store, customer):
    CustomerSummary.objects.create(customer=customer)
    older, newer = make_invitation(customer), make_invitation(customer)
    client.post(url(newer), {"score": "10"})
    services.answers_apply(invitation_id=newer.pk)
    client.post(url(older), {"score": "2"})
    PendingAnswer.objects.filter(invitation=older).update(answered_at=timezone.now() - timedelta(minutes=1))
    apply_answers()
    assert CustomerSummary.objects.get().last_feedback_score == 10
    assert Response.objects.count() == 2


def test_the_beat_task_applies_every_pending_answer_once(client, store):
    from feedback import tasks

    invitations = [make_invitation(make_customer(email=f"c{i}@example.com")) for i in range(5)]
    for i, invitation in enumerate(invitations):
        client.post(url(invitation), {"score": str(i * 2)})
    assert tasks.answers_apply() == 5
    assert tasks.answers_apply() == 0
    assert sorted(Response.objects.values_list("score", flat=True)) == [0, 2, 4, 6, 8]
    assert FollowUp.objects.count() == 4  # 0, 2, 4 and 6 are NPS detractors
    assert not PendingAnswer.objects.exists()


def test_requests_from_one_address_are_limited_per_web_process_for_its_share(client, invitation, settings):
    settings.FEEDBACK_RATE_LIMIT_PER_MINUTE = 5
    settings.WEB_WORKERS = 2  # each process allows 5 // 2 = 2 a minute: never more than 5 in all
    statuses = [client.post(url(invitation), {"score": "9"}).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert PendingAnswer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_apply_in_progress_elsewhere_is_never_applied_twice(client, store):
    import psycopg
    from django.db import connection

    from tests.feedback.conftest import default_survey

    default_survey()
    invitation = make_invitation(make_customer())
    client.post(url(invitation), {"score": "3"})
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"], user=params["USER"], password=params["PASSWORD"] or None,
        host=params["HOST"] or None, port=params["PORT"] or None,
    ) as other:  # fmt: skip
        # Another worker claims the answer and has not committed yet.
        claimed = other.execute(
            "SELECT * FROM feedback_apply_answers(NULL, 100, '5 seconds', '48 hours', false)"
        ).fetchone()
        assert claimed == (1, 1, 1)
        assert services.answers_apply().applied == 0  # skipped, not waited for, not applied again
        other.commit()
    assert services.answers_apply().applied == 0
    assert Response.objects.count() == 1 and FollowUp.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_answer_after_the_session_was_reset_prepares_its_statement_again(client, store):
    from django.db import connection

    from tests.feedback.conftest import default_survey

    default_survey()
    invitation = make_invitation(make_customer())
    assert client.post(url(invitation), {"score": "9"}).status_code == 303
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's reset does (DISCARD ALL): prepared statements are gone
    try:
        assert client.post(url(invitation), {"score": "7"}).status_code == 303
        assert PendingAnswer.objects.count() == 2
    finally:
        connection.close()  # later tests get a fresh session
