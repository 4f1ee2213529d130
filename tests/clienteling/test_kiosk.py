"""The kiosk at the door (contract 8): check-in, joining with explicit consent, nothing revealed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from clienteling.models import Arrival
from profiles.models import Customer, Identifier
from tests.clienteling.floor import JANE_PHONE, make_customer

CHECKIN = reverse("checkin", kwargs={"code": "PAR01"})
JOIN = reverse("checkin_join", kwargs={"code": "PAR01"})


def visible(response) -> str:
    """The page as a visitor sees it, minus the per-request CSRF token and CSP nonce."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'nonce="[^"]+"', "", html)
    return re.sub(r"\"X-CSRFToken\": \"[^\"]+\"", "", html)


def check_in(client, value):
    return client.post(CHECKIN, {"identifier": value}, follow=True)


def test_a_known_consenting_customer_checking_in_makes_an_arrival(client, store):
    jane = make_customer()
    response = check_in(client, "06 12 34 56 78")
    assert response.status_code == 200
    assert "Someone will be with you shortly" in response.content.decode()
    arrival = Arrival.objects.get()
    assert (arrival.customer, arrival.source) == (jane, "kiosk")


def test_known_unknown_and_non_consenting_visitors_see_exactly_the_same_pages(client, store):
    make_customer()
    make_customer(first_name="Nora", email="nora@example.com", phone="+33699999999", consent=False)
    pages = [check_in(client, value) for value in ("06 12 34 56 78", "06 00 11 22 33", "nora@example.com")]
    assert len({visible(p) for p in pages}) == 1
    assert {p.redirect_chain[-1][0] for p in pages} == {reverse("checkin_welcome", kwargs={"code": "PAR01"})}
    html = pages[0].content.decode()
    assert "Jane" not in html and "Nora" not in html and "Doe" not in html
    assert "Want us to remember you next time?" in html  # offered to everyone, so it reveals nothing
    assert Arrival.objects.count() == 1


def test_an_unknown_phone_can_join_and_consent_is_recorded_only_when_given(client, store):
    check_in(client, "06 00 11 22 33")
    form = client.get(JOIN).content.decode()
    assert 'value="06 00 11 22 33"' in form  # what she just typed, kept server-side in her kiosk session
    assert "checked" not in form  # every consent box starts unticked
    response = client.post(JOIN, {"first_name": "Ada", "phone": "06 00 11 22 33"}, follow=True)
    assert "You're all set" in response.content.decode() or "You&#x27;re all set" in response.content.decode()
    ada = Customer.objects.get(first_name="Ada")
    assert ada.consent_recognition is False and ada.consent_email is False
    assert not Arrival.objects.exists()


def test_joining_with_recognition_consent_greets_her_right_away(client, store):
    client.post(JOIN, {"first_name": "Ada", "email": "ada@example.com", "consent_recognition": "yes"})
    ada = Customer.objects.get(first_name="Ada")
    assert ada.consent_recognition and ada.consent_recognition_source == "kiosk:PAR01"
    assert Identifier.objects.get(customer=ada).value == "ada@example.com"
    assert Arrival.objects.get().customer == ada


def test_joining_with_someone_elses_number_changes_nothing_and_says_the_same(client, store):
    jane = make_customer(consent=False)
    known = client.post(JOIN, {"first_name": "Mallory", "phone": JANE_PHONE, "consent_recognition": "yes"}, follow=True)
    fresh = client.post(
        JOIN, {"first_name": "Mallory", "phone": "+33600000001", "consent_recognition": "yes"}, follow=True
    )
    assert visible(known) == visible(fresh)
    jane.refresh_from_db()
    assert jane.consent_recognition is False and jane.first_name == "Jane"
    assert not Customer.objects.filter(first_name="Mallory", identifiers__value=JANE_PHONE).exists()


def test_the_join_form_explains_what_is_missing(client, store):
    response = client.post(JOIN, {"first_name": "", "email": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tell us your first name." in html and "Give us an email or a phone number." in html
    assert not Customer.objects.exists()


def test_check_ins_are_rate_limited_per_address(client, store, settings):
    settings.KIOSK_CHECKINS_PER_MINUTE = 3
    statuses = [client.post(CHECKIN, {"identifier": f"06 00 00 00 0{i}"}).status_code for i in range(5)]
    assert statuses[:3] == [302, 302, 302] and statuses[3:] == [429, 429]


def test_an_empty_check_in_asks_again(client, store):
    response = client.post(CHECKIN, {"identifier": "  "})
    assert response.status_code == 400 and "Type your phone number or email." in response.content.decode()


def test_the_kiosk_needs_no_sign_in_but_a_real_store(client, store):
    assert client.get(CHECKIN).status_code == 200
    assert client.get(reverse("checkin", kwargs={"code": "NOPE"})).status_code == 404


@pytest.mark.parametrize("value", ["L-778899"])
def test_a_loyalty_qr_checks_her_in(client, store, value):
    jane = make_customer()
    Identifier.objects.create(customer=jane, kind="loyalty_id", value=value)
    client.post(CHECKIN, {"loyalty_id": value})
    assert Arrival.objects.get().source == "qr"
