"""The profile page: header, interests, timeline, notes, masking, audit, access and merge history."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from clienteling.models import Role
from profiles.derived import customers_refresh
from profiles.identity import customer_merge
from profiles.models import Merge, Note, PiiAccess, Touchpoint
from tests.factories import AssociateFactory, CustomerFactory, IdentifierFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db
_ids = itertools.count()


def add_touchpoints(customer, n, *, start=datetime(2026, 11, 20, 23, 30, tzinfo=UTC), **fields):
    source = SourceFactory(name="pos")
    defaults = {"channel": "store", "moment": "store_visit", "store_code": "PAR01"} | fields
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(source=source, external_id=f"t{next(_ids)}", customer=customer,
                       occurred_at=start - timedelta(hours=i), **defaults)
            for i in range(n)
        ]
    )  # fmt: skip


@pytest.fixture
def christine(store):
    customer = CustomerFactory(
        first_name="Christine", last_name="Dupré", preferred_name="Chris", tier="gold",
        consent_recognition=True, consent_email=True,
    )  # fmt: skip
    IdentifierFactory(customer=customer, kind="email", value="christine.dupre@example.com")
    IdentifierFactory(customer=customer, kind="phone", value="+33612345678")
    add_touchpoints(
        customer, 1, moment="purchased", product_name="Trail Runner 3", size="9", revenue=120, currency="EUR"
    )
    add_touchpoints(customer, 2, channel="web", moment="product_viewed", store_code="", product_name="Trail Runner 3",
                    start=datetime(2026, 11, 18, 9, tzinfo=UTC))  # fmt: skip
    customers_refresh([customer.pk])
    return customer


def url(customer, **query):
    base = reverse("profiles:profile", args=[customer.public_id])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_an_associate_sees_her_profile_with_identifiers_masked(associate_client, christine):
    response = associate_client.get(url(christine))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Christine Dupré" in html
    assert "“Chris”" in html
    assert "Gold" in html and "Repeat" not in html and "New" in html
    assert "c•••@example.com" in html
    assert "+33 •• •• •• 78" in html
    # Full identifiers never reach the page, and her name stays out of the title.
    assert "christine.dupre@example.com" not in html
    assert "612345678" not in html
    assert re.search(r"<title>Customer profile · Clienteling</title>", html)
    # Consent badges say it in words too, for screen readers.
    assert 'In-store recognition<span class="sr-only">: consent given' in html
    assert 'SMS<span class="sr-only">: no consent' in html
    # Interests with their reasons.
    assert "Trail Runner 3" in html and "viewed it 2x online" in html


def test_each_profile_view_leaves_an_audit_row(associate_client, associate, christine):
    associate_client.get(url(christine))
    access = PiiAccess.objects.get()
    assert (access.user, access.customer, access.action, access.store_code) == (
        associate.user,
        christine,
        "profile_view",
        "PAR01",
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, christine):
    response = client.get(url(christine))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_signed_in_user_without_a_staff_record_is_refused(client, christine):
    client.force_login(UserFactory())
    assert client.get(url(christine)).status_code == 403
    assert client.get(reverse("profiles:search")).status_code == 403
    assert not PiiAccess.objects.exists()


def test_a_merged_profile_redirects_to_the_survivor_and_an_erased_one_is_gone(associate_client, christine):
    absorbed = CustomerFactory(merged_into=christine)
    response = associate_client.get(url(absorbed))
    assert response.status_code == 302 and response.url == url(christine)
    erased = CustomerFactory(erased_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert associate_client.get(url(erased)).status_code == 404


def test_the_timeline_shows_times_in_the_store_time_zone(associate_client, christine):
    html = associate_client.get(url(christine)).content.decode()
    # 23:30 UTC on Friday 20 November is half past midnight on Saturday in Paris.
    assert "Sat 21 Nov 2026 · 00:30" in html
    # Online touchpoints have no store: they show in the time zone of the associate's store.
    assert "Wed 18 Nov 2026 · 10:00" in html
    assert "Paris Marais" in html
    assert 'href="/static/img/channels.svg#store"' in html


def test_the_timeline_filters_by_channel_and_moment_as_a_partial(associate_client, christine):
    response = associate_client.get(
        url(christine, channel="web"), headers={"HX-Request": "true", "HX-Target": "timeline"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline"')
    assert html.count('class="tl-item') == 2
    assert "Viewed a product" in html and "Purchased" not in html
    html = associate_client.get(url(christine, moment="purchased")).content.decode()
    assert html.count('class="tl-item') == 1


def test_the_timeline_pages_by_keyset_newest_first(associate_client, christine):
    add_touchpoints(christine, 30, start=datetime(2026, 10, 1, tzinfo=UTC))
    first = associate_client.get(url(christine)).content.decode()
    assert first.count('class="tl-item') == 20
    cursor = re.search(r"before=([0-9.]+)", first)[1]
    second = associate_client.get(url(christine, before=cursor)).content.decode()
    assert second.count('class="tl-item') == 13  # 33 in all
    assert "before=" not in second.split('id="timeline"')[1]  # no older page after the last one
    assert "Newest" in second


def _warm_up(client, customer):
    client.get(url(customer))  # the first request of a session writes its last-seen time


def test_the_profile_page_runs_a_fixed_number_of_queries(associate_client, christine, django_assert_num_queries):
    _warm_up(associate_client, christine)
    # session, user + staff record (one join), customer + summary, her first store (audit, notes, time zone),
    # store PAR01 (name + time zone; one per distinct store on the page), timeline page, interests,
    # identifiers, notes + authors, merges, audit insert
    with django_assert_num_queries(11):
        associate_client.get(url(christine))


def test_the_query_count_does_not_grow_with_her_history(associate_client, django_assert_num_queries, store):
    short, long = CustomerFactory(), CustomerFactory()
    add_touchpoints(short, 3)
    add_touchpoints(long, 300)
    customers_refresh([short.pk, long.pk])
    counts = []
    for customer in (short, long):
        _warm_up(associate_client, customer)
        with django_assert_num_queries(11) as captured:
            associate_client.get(url(customer))
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_an_associate_adds_a_note_and_pins_it(associate_client, associate, christine):
    note_url = reverse("profiles:note_add", args=[christine.public_id])
    response = associate_client.post(
        note_url, {"text": "  Prefers a quiet fitting room.  "}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    note = Note.objects.get()
    assert (note.text, note.author, note.store_code, note.pinned) == (
        "Prefers a quiet fitting room.",
        associate.user,
        "PAR01",
        False,
    )
    assert "Hugo Martin · PAR01" in response.content.decode()
    associate_client.post(note_url, {"text": "Second note"})
    pin_url = reverse("profiles:note_pin", args=[christine.public_id, note.public_id])
    html = associate_client.post(pin_url, {"pinned": "1"}, headers={"HX-Request": "true"}).content.decode()
    assert html.index("Prefers a quiet") < html.index("Second note")  # pinned first
    note.refresh_from_db()
    assert note.pinned
    associate_client.post(pin_url, {"pinned": "0"})
    note.refresh_from_db()
    assert not note.pinned


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "Write something before saving the note."), ("x" * 2001, "A note can be at most 2,000 characters")],
)
def test_an_empty_or_too_long_note_is_refused_with_a_clear_message(associate_client, christine, text, message):
    response = associate_client.post(
        reverse("profiles:note_add", args=[christine.public_id]), {"text": text}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html
    assert not Note.objects.exists()


def test_merge_history_masks_identifiers_and_only_admins_may_undo(client, associate, admin_associate, christine):
    duplicate = CustomerFactory(first_name="Christine", last_name="Dupre")
    IdentifierFactory(customer=duplicate, kind="loyalty_id", value="LOY-000777")
    merge = customer_merge(
        survivor=christine, absorbed=duplicate, identifier_kind="email", identifier_value="christine.dupre@example.com",
        reason="line 4 has email christine.dupre@example.com of one customer and loyalty_id LOY-000777 of the other",
    )  # fmt: skip
    client.force_login(associate.user)
    html = client.get(url(christine)).content.decode()
    assert "line 4 has email c•••@example.com of one customer and loyalty_id •••777 of the other" in html
    assert "LOY-000777" not in html
    assert "Undo" not in html
    undo_url = reverse("profiles:merge_undo", args=[merge.public_id])
    assert client.post(undo_url).status_code == 403

    client.force_login(admin_associate.user)
    assert "Undo" in client.get(url(christine)).content.decode()
    response = client.post(undo_url)
    assert response.status_code == 302
    duplicate.refresh_from_db()
    merge.refresh_from_db()
    assert duplicate.merged_into is None
    assert merge.undone_by == admin_associate.user
    assert "undone" in client.get(url(christine)).content.decode()


def test_a_manager_is_not_an_admin_for_undo(client, manager, christine):
    duplicate = CustomerFactory()
    merge = Merge.objects.create(survivor=christine, absorbed=duplicate, identifier_kind="email", identifier_value="x",
                                 reason="same email")  # fmt: skip
    client.force_login(manager.user)
    assert client.post(reverse("profiles:merge_undo", args=[merge.public_id])).status_code == 403


def test_a_superuser_without_a_staff_record_may_view(client, christine):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(url(christine)).status_code == 200


def test_associates_of_any_store_may_view(client, other_store, christine):
    colleague = AssociateFactory(role=Role.ASSOCIATE, stores=[other_store])
    client.force_login(colleague.user)
    assert client.get(url(christine)).status_code == 200


def test_her_persona_from_the_nightly_segments_shows_on_the_profile(associate_client, christine):
    assert "Weekend browser" not in associate_client.get(url(christine)).content.decode()
    christine.summary.persona_name = "Weekend browser"
    christine.summary.save(update_fields=["persona_name"])
    assert "Weekend browser" in associate_client.get(url(christine)).content.decode()
