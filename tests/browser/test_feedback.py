"""The customer's phone, a link scanner, and the managers' queue, in real Chromium."""

import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from feedback import emails, services
from feedback.models import FollowUp, Invitation, PendingAnswer, Response
from feedback.tokens import make_token
from tests.browser.conftest import PHONE, TABLET_WIDE, screenshot, sign_in
from tests.factories import PASSWORD, AssociateFactory
from tests.feedback.conftest import default_survey, make_customer, make_invitation, make_touchpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _feedback_setup(settings, live_server):
    settings.SITE_URL = live_server.url
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.FEEDBACK_QUIET_HOURS = None
    mail.outbox = []
    default_survey()


def test_on_a_phone_she_taps_9_adds_a_comment_and_sees_thanks(new_page, live_server, store):
    AssociateFactory(user__username="hugo", stores=[store], display_name="Hugo M.")
    customer = make_customer(email="camille@example.com")
    make_touchpoint(customer, associate="hugo", at=timezone.now() - timedelta(hours=3))
    services.invitations_schedule()
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1), language="en")
    services.invitations_send_due()
    (message,) = mail.outbox
    email_page = new_page(PHONE)
    email_page.set_content(message.alternatives[0].content)
    screenshot(email_page, "feedback-email")

    link = emails.link_urls(Invitation.objects.get())["answer"]
    page = new_page(PHONE, is_mobile=True, has_touch=True)
    page.goto(link)
    assert page.get_by_role("heading", name="How likely are you to recommend Paris Marais to a friend?").is_visible()
    nine = page.get_by_role("button", name="9", exact=True)
    box = nine.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 44  # big tap targets
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    screenshot(page, "feedback-answer")
    nine.tap()
    page.wait_for_url("**/comment/")
    page.get_by_label("Anything you'd like to tell us? (optional)").fill(
        "Hugo was lovely and found my size in two minutes."
    )
    page.get_by_role("button", name="Send").tap()
    page.wait_for_url("**/thanks/")
    assert page.get_by_role("heading", name="Thank you, Camille!").is_visible()
    screenshot(page, "feedback-thanks")
    assert page.console_errors == []

    response = Response.objects.get()
    assert (response.score, response.store_code, response.moment, response.associate_code) == (
        9, "PAR01", "purchased", "hugo",
    )  # fmt: skip
    assert response.comment == "Hugo was lovely and found my size in two minutes." and response.sentiment == "positive"


def test_link_scanners_record_no_answer(new_page, live_server, store):
    invitation = make_invitation(make_customer(), sent_ago=3600)
    base = live_server.url + reverse("feedback:answer", args=[make_token(invitation)])
    for score in ("", "?score=0", "?score=9"):
        with urllib.request.urlopen(base + score) as plain:  # noqa: S310 - a plain GET, as a mail gateway does
            assert plain.status == 200
        head = urllib.request.Request(base + score, method="HEAD")  # noqa: S310
        with urllib.request.urlopen(head) as probe:  # noqa: S310
            assert probe.status == 200
    # A scanner that renders the page with JavaScript on, waits, and clicks nothing.
    page = new_page(PHONE)
    page.goto(base + "?score=0", wait_until="networkidle")
    page.wait_for_timeout(1500)
    assert page.get_by_role("button", name="Envoyer 0").is_visible()  # pre-selected, waiting for a person
    assert not PendingAnswer.objects.exists() and Response.objects.count() == 0
    assert not FollowUp.objects.exists()


def test_a_manager_works_the_follow_up_queue(new_page, live_server, client, store, manager):
    complaints = [
        ("Waited 20 minutes at the fitting rooms and nobody came.", 3, "Camille", "Durand"),
        ("The size I reserved online was not there.", 5, "Inès", "Moreau"),
        ("Checkout took forever, only one till open.", 4, "Sophie", "Bernard"),
    ]
    for i, (comment, score, first, last) in enumerate(complaints):
        customer = make_customer(email=f"c{i}@example.com", first=first, last=last)
        invitation = make_invitation(customer, associate="hugo")
        token = make_token(invitation)
        client.post(reverse("feedback:answer", args=[token]), {"score": str(score)})
        client.post(reverse("feedback:comment", args=[token]), {"comment": comment})
    page = new_page(TABLET_WIDE)
    sign_in(page, live_server, manager.user.username, PASSWORD)
    page.goto(f"{live_server.url}/feedback/follow-ups/")
    page.console_errors.clear()  # the floor page's live stream is cut when we navigate away: not ours
    assert page.get_by_role("heading", name="Follow-up queue").is_visible()
    assert page.get_by_text("Checkout took forever").is_visible()
    screenshot(page, "feedback-follow-ups")
    page.get_by_role("link", name="Camille Durand").first.click()
    page.get_by_label("Resolution").fill("Called her, offered a private fitting next week.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("Resolved and logged on her timeline.")).to_be_visible()
    assert FollowUp.objects.filter(status="resolved").count() == 1
    page.goto(f"{live_server.url}/feedback/")
    assert page.get_by_role("heading", name="Feedback", exact=True).is_visible()
    assert page.console_errors == []
