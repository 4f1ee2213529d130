"""The Arrivals API (contract 7) and the arrival services behind it: consent, no enumeration, races."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clienteling import services
from clienteling.models import ApiKey, Appointment, AppointmentStatus, Arrival, ArrivalState
from profiles.models import Touchpoint
from profiles.services import customer_set_consent
from tests.clienteling.floor import JANE_EMAIL, Listener, api_key_for, later_today, make_customer

URL = "/api/v1/arrivals"


def post_arrival(client, key, **body):
    body.setdefault("source", "wifi")
    return client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def key(store):
    return api_key_for(store)


def test_a_known_consenting_customer_arrival_makes_a_card_and_is_pushed_to_her_store(
    client, store, key, django_capture_on_commit_callbacks
):
    jane = make_customer()
    listener = Listener(store.code)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_arrival(client, key, store="PAR01", email="Jane.Doe@Example.com")
    assert response.status_code == 202
    arrival = Arrival.objects.get()
    assert response.json() == {"id": str(arrival.public_id), "status": "accepted"}
    assert (arrival.customer, arrival.store, arrival.state, arrival.source) == (jane, store, "new", "wifi")
    pushed = listener.messages()
    listener.close()
    assert len(pushed) == 1 and pushed[0]["customer"] == jane.pk
    assert f'id="arrival-{arrival.public_id}"' in pushed[0]["html"] and "Jane" in pushed[0]["html"]


def test_her_store_visit_touchpoint_is_recorded_once_per_arrival(store):
    jane = make_customer()
    arrival = services.arrival_record(store=store, customer=jane, source="kiosk")
    assert not Touchpoint.objects.exists()  # recorded off the request, by the realtime queue's task
    for _ in range(2):  # a redelivered task changes nothing
        services.arrival_visit_record(arrival_id=arrival.pk)
    visit = Touchpoint.objects.get(moment="store_visit")
    assert (visit.customer_id, visit.store_code, visit.channel) == (jane.pk, "PAR01", "kiosk")
    assert visit.external_id == f"arrival-{arrival.public_id}"
    assert services.arrival_visit_record(arrival_id=0) is None


def test_unknown_and_non_consenting_customers_get_the_same_answer_and_leave_no_trace(client, store, key):
    make_customer(consent=False)
    listener = Listener(store.code)
    unknown = post_arrival(client, key, store="PAR01", email="nobody@example.com")
    refused = post_arrival(client, key, store="PAR01", email=JANE_EMAIL)
    assert unknown.status_code == refused.status_code == 202
    assert unknown["Content-Type"] == refused["Content-Type"]
    for response in (unknown, refused):
        body = response.json()
        assert set(body) == {"id", "status"} and body["status"] == "accepted"
        assert uuid.UUID(body["id"]).version == 4
    assert len(unknown.content) == len(refused.content)
    assert not Arrival.objects.exists() and not Touchpoint.objects.exists()
    assert listener.messages(timeout=0.3) == []
    listener.close()


def test_a_store_key_cannot_report_arrivals_at_another_store(client, store, other_store, key):
    make_customer()
    assert post_arrival(client, key, store="NYC01", email=JANE_EMAIL).status_code == 404
    assert post_arrival(client, key, store="NOPE", email=JANE_EMAIL).status_code == 404
    assert not Arrival.objects.exists()


def test_an_integration_key_may_report_at_every_store(client, store, other_store):
    make_customer()
    _, secret = services.api_key_create(name="wifi-portal", store=None)
    assert post_arrival(client, secret, store="NYC01", email=JANE_EMAIL).status_code == 202
    assert Arrival.objects.get().store == other_store


@pytest.mark.parametrize("header", ["", "Bearer nope", "Bearer clk_00000000_forged", "Basic abc"])
def test_missing_or_wrong_keys_are_refused(client, store, header):
    response = client.post(
        URL,
        {"store": "PAR01", "email": JANE_EMAIL, "source": "wifi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401


def test_a_revoked_key_is_refused(client, store, key):
    services.api_key_revoke(key=ApiKey.objects.get())
    assert post_arrival(client, key, store="PAR01", email=JANE_EMAIL).status_code == 401


def test_keys_are_stored_hashed_and_shown_once_by_the_command(store, capsys):
    call_command("create_api_key", "--store", "PAR01")
    secret = capsys.readouterr().out.strip()
    key = ApiKey.objects.get()
    assert secret.startswith(f"clk_{key.prefix}_") and key.store == store
    assert secret not in (key.key_hash, key.prefix) and len(key.key_hash) == 64
    assert services.api_key_check(secret) == key


@pytest.mark.parametrize(
    "body",
    [
        {"store": "PAR01", "source": "wifi"},
        {"store": "PAR01", "source": "wifi", "email": JANE_EMAIL, "phone": "+33612345678"},
        {"store": "PAR01", "source": "teleport", "email": JANE_EMAIL},
    ],
)
def test_malformed_arrivals_are_rejected_with_422(client, store, key, body):
    response = client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 422
    assert not Arrival.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("phone", "06 12 34 56 78"), ("customer_id", None), ("loyalty_id", "L-778899")]
)
def test_every_kind_of_identifier_finds_her(client, store, key, field, value):
    jane = make_customer()
    from profiles.models import Identifier

    Identifier.objects.create(customer=jane, kind="loyalty_id", value="L-778899")
    value = value or str(jane.public_id)
    assert post_arrival(client, key, store="PAR01", **{field: value}).status_code == 202
    assert Arrival.objects.get().customer == jane


def test_a_second_signal_while_her_card_is_up_refreshes_it_instead_of_adding_one(store):
    jane = make_customer()
    first = services.arrival_record(store=store, customer=jane, source="app_geofence")
    second = services.arrival_record(store=store, customer=jane, source="wifi")
    assert first == second and Arrival.objects.count() == 1


def test_her_appointment_today_is_linked_when_she_arrives(store, associate):
    jane = make_customer()
    starts = later_today(store, minutes=30)
    appointment = services.appointment_book(
        store=store, customer=jane, starts_at=starts, purpose="Fitting", associate=associate
    )
    arrival = services.arrival_record(store=store, customer=jane, source="appointment")
    appointment.refresh_from_db()
    assert arrival.appointment == appointment and appointment.status == AppointmentStatus.ARRIVED
    assert Touchpoint.objects.filter(moment="appointment_booked", customer=jane).count() == 1


def test_imported_appointments_are_idempotent_on_their_external_id(store):
    jane = make_customer()
    starts = timezone.now() + dt.timedelta(hours=2)
    for _ in range(2):
        services.appointment_book(store=store, customer=jane, starts_at=starts, origin="import", external_id="bk-1")
    assert Appointment.objects.count() == 1


def test_only_one_of_two_associates_claims_a_card(store, associate, manager):
    arrival = services.arrival_record(store=store, customer=make_customer(), source="wifi")
    stale_copy = Arrival.objects.get(pk=arrival.pk)
    assert services.arrival_claim(arrival=arrival, by=associate) is True
    assert services.arrival_claim(arrival=stale_copy, by=manager) is False
    arrival.refresh_from_db()
    assert arrival.state == ArrivalState.CLAIMED and arrival.claimed_by == associate


def test_done_logs_an_assisted_touchpoint_once_with_what_she_bought(store, associate):
    jane = make_customer()
    arrival = services.arrival_record(store=store, customer=jane, source="kiosk")
    services.arrival_claim(arrival=arrival, by=associate)
    assert services.arrival_done(arrival=arrival, by=associate, outcome="Tried the wool coat, bought the scarf")
    assert not services.arrival_done(arrival=Arrival.objects.get(pk=arrival.pk), by=associate)
    assisted = Touchpoint.objects.get(moment="associate_assisted")
    assert assisted.associate_code == associate.user.username and assisted.store_code == "PAR01"
    assert assisted.properties["outcome"] == "Tried the wool coat, bought the scarf"


def test_cards_expire_after_the_configured_time_and_leave_the_tablets(store, settings):
    settings.ARRIVAL_CARD_TTL_MINUTES = 5
    arrival = services.arrival_record(store=store, customer=make_customer(), source="wifi")
    listener = Listener(store.code)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=4)):
        assert services.arrivals_expire() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert services.arrivals_expire() == 1
    arrival.refresh_from_db()
    assert arrival.state == ArrivalState.EXPIRED
    pushed = listener.messages()
    listener.close()
    assert f'id="arrival-{arrival.public_id}" data-remove' in pushed[0]["html"]


def test_withdrawing_consent_takes_her_cards_off_every_tablet_at_once(store, django_capture_on_commit_callbacks):
    jane = make_customer()
    arrival = services.arrival_record(store=store, customer=jane, source="wifi")
    listener = Listener(store.code)
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_consent(customer=jane, purpose="recognition", granted=False, source="customer request")
    arrival.refresh_from_db()
    assert arrival.state == ArrivalState.WITHDRAWN
    pushed = listener.messages()
    listener.close()
    assert len(pushed) == 1 and pushed[0]["customer"] is None
    html = pushed[0]["html"]
    assert (
        f'id="arrival-{arrival.public_id}" data-remove' in html
        and f'id="visit-{arrival.public_id}" data-remove' in html
    )
    assert "Jane" not in html


def test_the_api_does_the_same_database_work_before_answering_known_or_unknown(client, store, key):
    # Timing: both paths run the same key check and identifier lookup; only a consenting customer adds
    # the writes. Pin the read side so that a change making unknown lookups cheaper (or costlier) shows.
    make_customer(consent=False)
    with CaptureQueriesContext(connection) as unknown:
        post_arrival(client, key, store="PAR01", email="nobody@example.com")
    with CaptureQueriesContext(connection) as refused:
        post_arrival(client, key, store="PAR01", email=JANE_EMAIL)
    assert abs(len(unknown) - len(refused)) <= 2


def test_appointments_import_from_a_csv_and_bad_rows_are_reported(store, tmp_path, capsys):
    jane = make_customer()
    path = tmp_path / "bookings.csv"
    path.write_text(
        "store,starts_at,email,purpose,external_id\n"
        "PAR01,2026-11-24T14:30:00+01:00,jane.doe@example.com,Fitting,bk-1\n"
        "PAR01,2026-11-24T15:00:00,jane.doe@example.com,No offset,bk-2\n"
        "XXX01,2026-11-24T15:00:00+01:00,jane.doe@example.com,Bad store,bk-3\n"
        "PAR01,2026-11-24T16:00:00+01:00,nobody@example.com,Unknown,bk-4\n",
        encoding="utf-8",
    )
    call_command("import_appointments", str(path))
    out, err = capsys.readouterr()
    assert out.strip() == "rows=4 imported=1 rejected=3"
    assert "line 3" in err and "line 4" in err and "line 5" in err
    appointment = Appointment.objects.get()
    assert (appointment.customer, appointment.external_id, appointment.origin) == (jane, "bk-1", "import")
    call_command("import_appointments", str(path))
    assert Appointment.objects.count() == 1
