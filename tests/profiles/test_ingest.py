"""HTTP ingestion, Segment-compatible: auth, limits, dedupe, and the official SDK round trip."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from django.core.management import call_command

from profiles.models import Customer, ImportJob, RejectedRow, Source, Touchpoint
from profiles.sources import source_create, source_rotate_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def web():
    return source_create(name="web-shop", kind="web")


def post(client, path, body, key, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    auth = base64.b64encode(f"{key}:".encode()).decode()
    return client.post(
        f"/ingest/v1/{path}", data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}", **headers
    )


def track(message_id="m1", **extra):
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u-1",
        "messageId": message_id,
        "timestamp": "2024-05-01T10:00:00Z",
        "properties": {"order_id": "O-1", "revenue": 99.5, "currency": "EUR"},
        **extra,
    }


def test_a_batch_is_imported_and_the_same_message_id_again_is_a_duplicate(client, web):
    source, key = web
    response = post(client, "batch", {"batch": [track(), track("m2", event="Product Viewed")]}, key)
    assert response.status_code == 200
    assert response.json() == {"success": True, "imported": 2, "updated": 0, "duplicates": 0, "rejected": 0}
    again = post(client, "track", track(), key)
    assert again.json()["duplicates"] == 1
    assert Touchpoint.objects.count() == 2
    job = ImportJob.objects.get(source=source, origin="http")
    assert job.rows == job.imported + job.updated + job.duplicates + job.rejected == 3
    source.refresh_from_db()
    assert source.last_event_at is not None


def test_messages_that_cannot_be_imported_are_kept_as_rejected_rows(client, web):
    source, key = web
    response = post(client, "batch", {"batch": [track(), track("m2", event="Teleported"), {"type": "page"}]}, key)
    assert response.json()["rejected"] == 2
    reasons = list(RejectedRow.objects.values_list("line", "reason"))
    assert reasons == [(2, "unknown event 'Teleported'"), (3, reasons[1][1])]
    assert reasons[1][1].startswith("no identifier")


@pytest.mark.parametrize(
    "key",
    ["", "wk_not-a-real-key", "Basic nonsense"],
    ids=["empty", "unknown key", "garbage"],
)
def test_a_bad_write_key_gets_401(client, web, key):
    assert post(client, "batch", {"batch": [track()]}, key).status_code == 401
    assert not Touchpoint.objects.exists()


def test_no_authorization_gets_401(client, web):
    response = client.post("/ingest/v1/batch", data="{}", content_type="application/json")
    assert response.status_code == 401


def test_a_rotated_key_stops_working_and_an_inactive_source_is_refused(client, web):
    source, old = web
    new = source_rotate_key(source=source)
    assert post(client, "track", track(), old).status_code == 401
    assert post(client, "track", track(), new).status_code == 200
    Source.objects.filter(pk=source.pk).update(is_active=False)
    assert post(client, "track", track("m9"), new).status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("batch", b"{not json"),
        ("batch", {"messages": []}),
        ("batch", {"batch": ["a string"]}),
        ("batch", {"batch": [{"type": "launch"}]}),
        ("track", [1, 2]),
        ("identify", track()),
    ],
    ids=["not json", "no batch list", "message not an object", "unknown type", "not an object", "wrong endpoint"],
)
def test_malformed_bodies_get_400_and_write_nothing(client, web, path, body):
    _, key = web
    response = post(client, path, body, key)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert not Touchpoint.objects.exists()


def test_over_32_kb_a_message_and_over_500_kb_a_batch_get_413(client, web):
    _, key = web
    big = track(properties={"note": "x" * 33 * 1024})
    assert post(client, "track", big, key).status_code == 413
    assert post(client, "batch", {"batch": [big]}, key).status_code == 413
    many = {"batch": [track(f"m{i}", properties={"note": "x" * 20000}) for i in range(30)]}
    assert post(client, "batch", many, key).status_code == 413
    assert not Touchpoint.objects.exists()


def test_gzip_bodies_are_accepted(client, web):
    _, key = web
    body = gzip.compress(json.dumps({"batch": [track()]}).encode())
    response = post(client, "batch", body, key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200 and Touchpoint.objects.count() == 1


def test_create_source_prints_a_key_once_and_stores_only_its_hash(capsys):
    call_command("create_source", "shopify-eu", "--kind", "web")
    key = capsys.readouterr().out.strip()
    source = Source.objects.get(name="shopify-eu")
    assert key.startswith("wk_") and len(key) > 40
    assert key not in (source.write_key_hash, source.write_key_prefix)
    assert source.write_key_prefix == key[:12]


@pytest.mark.django_db(transaction=True)
def test_the_official_segment_sdk_sends_identify_track_and_alias_and_sees_one_merged_profile(live_server):
    from segment.analytics.client import Client

    source, key = source_create(name="segment-web", kind="web")
    errors = []
    analytics = Client(
        key, host=f"{live_server.url}/ingest", sync_mode=True, on_error=lambda e, batch: errors.append(e), max_retries=0
    )
    analytics.track(anonymous_id="anon-42", event="Product Viewed", properties={"sku": "BAG-1", "name": "Kyoto bag"})
    analytics.identify(
        user_id="user-42",
        anonymous_id="anon-42",
        traits={"email": "Mia@Example.com", "firstName": "Mia", "lastName": "Rossi", "consent_email": True},
    )
    analytics.track(
        user_id="user-42",
        event="Order Completed",
        properties={
            "order_id": "O-42",
            "revenue": 310,
            "currency": "EUR",
            "products": [{"sku": "BAG-1", "price": 310}],
        },
    )
    analytics.alias(previous_id="anon-43", user_id="user-42")  # sync_mode: each call is one POST /v1/batch

    assert errors == []
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.consent_email) == ("Mia", "Rossi", True)
    assert set(customer.identifiers.values_list("kind", "value")) == {
        ("customer_id", "user-42"),
        ("email", "mia@example.com"),
        ("anonymous_id", "anon-42"),
        ("anonymous_id", "anon-43"),
    }
    assert sorted(customer.touchpoints.values_list("moment", flat=True)) == ["product_viewed", "purchased"]
    job = ImportJob.objects.get(source=source)
    assert (job.rows, job.rejected) == (4, 0)


def test_an_admin_creates_a_source_sees_its_key_once_and_rotates_it(client, admin_associate):
    client.force_login(admin_associate.user)
    response = client.post(
        "/admin/profiles/source/add/", {"name": "pos-lyon", "kind": "store", "is_active": "on"}, follow=True
    )
    assert response.status_code == 200
    source = Source.objects.get(name="pos-lyon")
    shown = [str(m) for m in response.context["messages"]]
    key = shown[0].rsplit(" ", 1)[-1]
    assert key.startswith(source.write_key_prefix) and source.write_key_hash != key

    listing = client.get("/admin/profiles/source/")
    assert listing.status_code == 200 and b"Rows, 24 h" in listing.content
    rotated = client.post(
        "/admin/profiles/source/",
        {"action": "rotate_write_key", "_selected_action": [source.pk]},
        follow=True,
    )
    new_key = [str(m) for m in rotated.context["messages"]][0].rsplit(" ", 1)[-1]
    source.refresh_from_db()
    assert new_key != key and source.write_key_prefix == new_key[:12]


def test_the_ingestion_endpoints_are_in_the_openapi_schema(client):
    paths = client.get("/api/schema/").json()["paths"]
    for kind in ("batch", "identify", "track", "page", "alias"):
        assert f"/ingest/v1/{kind}" in paths
