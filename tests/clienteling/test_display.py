"""The in-store display: follows what the people in the store care about, never who they are."""

from __future__ import annotations

from django.urls import reverse

from clienteling import services
from tests.clienteling.floor import make_customer


def test_the_display_shows_the_interests_of_customers_in_the_store_and_nothing_identifying(client, store, other_store):
    jane = make_customer(pronunciation="ZHAHN")
    services.arrival_record(store=store, customer=jane, source="wifi")
    nyc = make_customer(first_name="Olivia", email="olivia@example.com", phone="", interests=0)
    from profiles.models import Interest

    Interest.objects.create(
        customer=nyc, kind="brand", key="nyc-only", label="Brooklyn Denim", score=9, reason="x", last_at=jane.created_at
    )
    services.arrival_record(store=other_store, customer=nyc, source="wifi")

    html = client.get(reverse("display", kwargs={"code": "PAR01"})).content.decode()
    assert "Knitwear" in html and "Acme" in html
    assert "Brooklyn Denim" not in html  # another store's shoppers
    for identifying in ("Jane", "Doe", "ZHAHN", "example.com", "Gold", "Silk scarf"):
        assert identifying not in html
    assert "New arrivals" in html or "Personal styling" in html or html.count('class="tile ') >= 3


def test_the_display_refreshes_its_tiles_without_a_sign_in(client, store):
    response = client.get(reverse("display_tiles", kwargs={"code": "PAR01"}))
    assert response.status_code == 200 and 'id="display-tiles"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_a_non_consenting_customer_never_shapes_the_display(client, store):
    jane = make_customer(consent=False)
    services.arrival_record(store=store, customer=jane, source="wifi")
    assert "Knitwear" not in client.get(reverse("display", kwargs={"code": "PAR01"})).content.decode()
