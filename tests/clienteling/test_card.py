"""The greeting card and the arrivals feed on the tablet: content, constant queries, audit, store scoping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clienteling import selectors, services
from clienteling.models import ArrivalState, Role
from profiles.models import PiiAccess, Touchpoint
from tests.clienteling.floor import later_today, make_customer, make_follow_up
from tests.factories import AssociateFactory


def card_url(arrival, name="floor_card"):
    return reverse(name, kwargs={"code": arrival.store.code, "public_id": arrival.public_id})


@pytest.fixture
def jane_arrival(store, associate):
    jane = make_customer(
        pronunciation="ZHAHN",
        feedback_score=4,
        complaint={"at": "2026-11-01", "channel": "call_center", "text": "Parcel arrived damaged"},
    )
    services.appointment_book(
        store=store,
        customer=jane,
        starts_at=later_today(store, minutes=20),
        purpose="Coat fitting",
        associate=associate,
    )
    return services.arrival_record(store=store, customer=jane, source="kiosk")


def test_the_card_greets_her_by_name_with_what_she_cares_about_and_what_to_avoid(associate_client, jane_arrival):
    html = associate_client.get(card_url(jane_arrival)).content.decode()
    assert 'Say hi to <span class="greet-name">Jane</span>' in html
    assert "say “ZHAHN”" in html
    assert "Gold" in html and "Loyal" in html
    assert "Knitwear" in html and "bought 3 times this year" in html  # interests with their reasons
    assert "Cashmere sweater (M)" in html and "helped by hugo" in html  # last purchase: what, who (a code no staff has)
    assert "Paris Marais" in html  # where, by store name
    assert "Silk scarf" in html and "Leather tote" in html  # cart and wishlist
    assert "tops" in html and "38" in html  # sizes
    assert "Appointment today" in html and "Coat fitting" in html
    assert "Prefers fittings in the morning" in html  # pinned note
    assert "Scored 4 after her last visit" in html  # detractor flag from the summary
    assert "Open service complaint" in html and "Parcel arrived damaged" in html
    assert "Still in her cart: Silk scarf" in html  # a talking point
    assert "I&#x27;m helping" in html or "I'm helping" in html
    assert "<img" not in html  # no photo, ever


def test_an_open_follow_up_shows_her_own_words(associate_client, store, jane_arrival):
    make_follow_up(jane_arrival.customer, score=4, comment="Waited too long at checkout")
    html = associate_client.get(card_url(jane_arrival)).content.decode()
    assert "Scored 4 after her last visit" in html and "Waited too long at checkout" in html
    assert "Follow-up still open" in html


def test_the_card_costs_the_same_queries_whatever_her_history(associate_client, store, jane_arrival):
    # Queries of the card view, pinned:
    #  1 session, 2 user with her staff record (one join, clienteling.auth.StaffBackend),
    #  3 the arrival, at a store she works in, with customer, summary, appointment, top interests,
    #    pinned notes and open follow-up (one SELECT),
    #  4 the PII audit insert (in production one round trip with an asynchronous commit; see card_view_audit).
    # Store and associate names come from the cache. Nothing reads the touchpoints.
    associate_client.get(card_url(jane_arrival))  # warm the store-name cache
    with CaptureQueriesContext(connection) as small:
        associate_client.get(card_url(jane_arrival))
    jane = jane_arrival.customer
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(
                source_id=1,
                external_id=f"e{i}",
                customer=jane,
                occurred_at=timezone.now(),
                channel="web",
                moment="product_viewed",
            )
            for i in range(500)
        ]
    )
    from profiles.models import Interest, Note

    Interest.objects.bulk_create(
        [
            Interest(
                customer=jane,
                kind="brand",
                key=f"b{i}",
                label=f"Brand {i}",
                score=i / 100,
                reason="seen",
                last_at=timezone.now(),
            )
            for i in range(60)
        ]
    )
    Note.objects.bulk_create([Note(customer=jane, text=f"note {i}", pinned=True) for i in range(30)])
    with CaptureQueriesContext(connection) as big:
        response = associate_client.get(card_url(jane_arrival))
    assert len(big) == len(small), [q["sql"][:80] for q in big]
    assert len(big) == 4, "\n".join(q["sql"][:150] for q in big)
    html = response.content.decode()
    assert html.count("<li><strong>") <= 3  # top interests only


@pytest.mark.django_db(transaction=True)
def test_card_views_are_audited_outside_a_transaction_too(client, store):
    # The production path: autocommit, one statement string with an asynchronous commit.
    from tests.factories import AssociateFactory

    hugo = AssociateFactory(stores=[store], display_name="Hugo")
    client.force_login(hugo.user)
    arrival = services.arrival_record(store=store, customer=make_customer(), source="wifi")
    assert client.get(card_url(arrival)).status_code == 200
    audit = PiiAccess.objects.get(action="card_view")
    assert (audit.user_id, audit.customer_id, audit.store_code, audit.ip) == (
        hugo.user.pk,
        arrival.customer_id,
        "PAR01",
        "127.0.0.1",
    )


def test_every_card_view_is_audited(associate_client, associate, jane_arrival):
    associate_client.get(card_url(jane_arrival))
    audit = PiiAccess.objects.get(action="card_view")
    assert (audit.user, audit.customer_id, audit.store_code) == (associate.user, jane_arrival.customer_id, "PAR01")


def test_the_feed_shows_open_cards_and_todays_arrivals_and_audits_them(associate_client, store, jane_arrival):
    html = associate_client.get(reverse("home")).content.decode()
    assert "Today on the floor" in html and "Say hi to" in html
    assert f'id="visit-{jane_arrival.public_id}"' in html
    assert f'sse-connect="/floor/{store.code}/stream/"' in html
    assert PiiAccess.objects.filter(action="card_view", customer=jane_arrival.customer).exists()


def test_the_feed_query_count_does_not_grow_with_the_number_of_cards(associate_client, store):
    services.arrival_record(store=store, customer=make_customer(email="a@example.com", phone=""), source="wifi")
    url = reverse("floor_feed", kwargs={"code": store.code})
    associate_client.get(url)
    with CaptureQueriesContext(connection) as one:
        associate_client.get(url)
    for i in range(5):
        services.arrival_record(store=store, customer=make_customer(email=f"c{i}@example.com", phone=""), source="wifi")
    with CaptureQueriesContext(connection) as six:
        associate_client.get(url)
    assert len(one) == len(six)


def test_a_card_is_not_shown_to_another_store(client, store, other_store, jane_arrival):
    from tests.factories import AssociateFactory

    stranger = AssociateFactory(stores=[other_store])
    client.force_login(stranger.user)
    assert client.get(card_url(jane_arrival)).status_code in (403, 404)
    wrong_store_url = reverse("floor_card", kwargs={"code": "NYC01", "public_id": jane_arrival.public_id})
    assert client.get(wrong_store_url).status_code == 404
    assert client.get(reverse("floor_feed", kwargs={"code": "PAR01"})).status_code in (403, 404)
    assert not PiiAccess.objects.exists()


def test_no_card_for_a_customer_who_withdrew_consent(associate_client, jane_arrival):
    from profiles.services import customer_set_consent

    customer_set_consent(customer=jane_arrival.customer, purpose="recognition", granted=False, source="test")
    assert associate_client.get(card_url(jane_arrival)).status_code == 404
    assert "Jane" not in associate_client.get(reverse("home")).content.decode()


def test_i_am_helping_claims_the_card_and_shows_who(associate_client, associate, jane_arrival):
    response = associate_client.post(card_url(jane_arrival, "floor_claim"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f"{associate.display_name} is helping" in html
    assert f'id="visit-{jane_arrival.public_id}"' in html and 'hx-swap-oob="true"' in html
    jane_arrival.refresh_from_db()
    assert jane_arrival.state == ArrivalState.CLAIMED


def test_done_closes_the_card_and_records_what_she_bought(associate_client, jane_arrival):
    response = associate_client.post(card_url(jane_arrival, "floor_done"), {"outcome": "Bought the scarf"})
    assert 'class="arrival-card' not in response.content.decode()  # the card leaves the feed
    assert Touchpoint.objects.get(moment="associate_assisted").product_name == "Bought the scarf"


def test_a_note_from_the_floor_is_pinned_on_her_card(associate_client, jane_arrival):
    response = associate_client.post(
        card_url(jane_arrival, "floor_note"), {"text": "Loves the new green", "pinned": "1"}
    )
    assert "Loves the new green" in response.content.decode()


def test_dismiss_takes_the_card_down(associate_client, jane_arrival):
    associate_client.post(card_url(jane_arrival, "floor_dismiss"))
    jane_arrival.refresh_from_db()
    assert jane_arrival.state == ArrivalState.DISMISSED


def test_an_associate_starts_a_session_from_her_email(associate_client, store):
    make_customer()
    response = associate_client.post(
        reverse("floor_start", kwargs={"code": "PAR01"}), {"lookup": "jane.doe@example.com"}, follow=True
    )
    assert "Say hi to" in response.content.decode()


def test_starting_a_session_for_a_non_consenting_customer_shows_no_card(associate_client, store):
    make_customer(consent=False)
    response = associate_client.post(
        reverse("floor_start", kwargs={"code": "PAR01"}), {"lookup": "jane.doe@example.com"}, follow=True
    )
    html = response.content.decode()
    assert "has not agreed to in-store recognition" in html and "Say hi to" not in html


def test_booking_an_appointment_lists_her_as_expected(associate_client, store):
    make_customer()
    later = timezone.localtime(later_today(store, minutes=5), store.tz)
    response = associate_client.post(
        reverse("floor_appointment_new", kwargs={"code": "PAR01"}),
        {
            "lookup": "+33 6 12 34 56 78",
            "date": later.date().isoformat(),
            "time": later.strftime("%H:%M"),
            "purpose": "Bridal fitting",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Expected today" in html and "Bridal fitting" in html


def test_the_stream_refuses_strangers_and_tells_wsgi_tablets_to_poll(client, associate_client, store, other_store):
    assert associate_client.get(reverse("floor_stream", kwargs={"code": "PAR01"})).status_code == 204
    assert associate_client.get(reverse("floor_stream", kwargs={"code": "NYC01"})).status_code == 404
    client.logout()
    assert client.get(reverse("floor_stream", kwargs={"code": "PAR01"})).status_code == 401


def test_no_customer_data_in_urls_or_titles(associate_client, jane_arrival):
    html = associate_client.get(reverse("home")).content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert "Jane" not in title
    for attr in ("href=", "hx-post=", "hx-get=", "action="):
        for chunk in html.split(attr)[1:]:
            url = chunk.split('"')[1]
            # Her number's last eight digits, in any spelling ("336" alone also turns up in random UUIDs).
            assert "Jane" not in url and "example.com" not in url and "12345678" not in url


def test_the_associate_who_helped_her_is_named_as_the_team_knows_them(associate_client, store, jane_arrival):
    from tests.factories import AssociateFactory, UserFactory

    AssociateFactory(user=UserFactory(username="hugo"), stores=[store], display_name="Hugo Martin")
    html = associate_client.get(card_url(jane_arrival)).content.decode()
    assert "helped by Hugo Martin" in html


def _card_facts(arrival):
    card = selectors.cards_for([arrival])[0]
    summary = card.summary
    return {
        "arrival": {f.attname: getattr(arrival, f.attname) for f in arrival._meta.concrete_fields},
        "store": (arrival.store.pk, arrival.store.code, arrival.store.tz),
        "customer": {f.attname: getattr(card.customer, f.attname) for f in card.customer._meta.concrete_fields},
        "summary": summary and {f.attname: getattr(summary, f.attname) for f in summary._meta.concrete_fields},
        "appointment": arrival.appointment and arrival.appointment.pk,
        "interests": card.interests,
        "notes": card.notes,
        "care": card.care,
        "talking_points": card.talking_points,
        "last_purchase": card.last_purchase,
    }


def test_the_one_card_query_reads_exactly_what_the_orm_query_reads(store, associate, jane_arrival):
    make_follow_up(jane_arrival.customer, score=3, comment="Rude at the till")
    bare = services.arrival_record(
        store=store, customer=make_customer(email="", phone="", interests=0, notes=0), source="kiosk"
    )
    bare.customer.summary.delete()  # no summary, no appointment: the LEFT JOINs
    for arrival in (jane_arrival, bare):
        expected = _card_facts(selectors.arrivals_for_cards().get(pk=arrival.pk))  # also warms the names copy
        with CaptureQueriesContext(connection) as queries:
            found = selectors.arrival_for_card(
                store_code="par01", public_id=arrival.public_id, associate_id=associate.pk
            )
            facts = _card_facts(found)
        assert len(queries) == 1, [q["sql"][:80] for q in queries]
        assert facts == expected
    assert _card_facts(selectors.arrival_for_card(pk=bare.pk))["summary"] is None


def test_the_one_card_query_keeps_to_the_stores_she_works_in(store, other_store, associate, jane_arrival):
    lookup = {"public_id": jane_arrival.public_id}
    assert selectors.arrival_for_card(**lookup, store_code="PAR01", associate_id=associate.pk) is not None
    assert selectors.arrival_for_card(**lookup, store_code="NYC01") is None  # not that store's arrival
    colleague = AssociateFactory(role=Role.ASSOCIATE, stores=[other_store])
    assert selectors.arrival_for_card(**lookup, store_code="PAR01", associate_id=colleague.pk) is None
    assert selectors.arrival_for_card(**lookup, store_id=other_store.pk) is None
    store.is_active = False
    store.save()
    assert selectors.arrival_for_card(**lookup, store_code="PAR01") is None


def test_her_newest_answer_shows_on_the_card_before_the_feedback_beat_applies_it(associate_client, jane_arrival):
    from feedback.models import PendingAnswer
    from tests.feedback.conftest import default_survey, make_invitation

    default_survey()
    invitation = make_invitation(jane_arrival.customer)
    pending = PendingAnswer.objects.create(invitation=invitation, score=2, answered_at=timezone.now())
    html = associate_client.get(card_url(jane_arrival)).content.decode()
    assert "Scored 2 after her last visit" in html and "Scored 4" not in html
    pending.score = 10
    pending.save()
    html = associate_client.get(card_url(jane_arrival)).content.decode()
    assert "Scored" not in html  # a promoter now: no detractor flag
