"""Her data on request and the right to be forgotten: export and erasure across every app."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from clienteling import services as floor
from clienteling.models import Appointment, Arrival
from feedback.models import FollowUp, Invitation, Response
from insights.models import PurchaseFact
from insights.services import touchpoint_rollups_refresh
from profiles import privacy
from profiles.identity import customer_merge
from profiles.imports import import_file
from profiles.models import (
    Customer,
    CustomerSummary,
    ErasedIdentifier,
    Identifier,
    ImportJob,
    Interest,
    Merge,
    Note,
    PiiAccess,
    RejectedRow,
    Touchpoint,
)
from profiles.search import customer_ids_matching
from tests.clienteling.floor import JANE_EMAIL, make_customer, make_follow_up
from tests.factories import CustomerFactory, IdentifierFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pos(store):
    return SourceFactory(name="pos", kind="store")


@pytest.fixture
def jane(store, associate, pos):
    """Jane with a bit of everything: identifiers, touchpoints, summary, interests, notes, an unhappy answer,
    a visit and an appointment, a purchase fact, a profile merged into hers and a rejected row naming her."""
    jane = make_customer(feedback_score=3)
    old = CustomerFactory(first_name="Jane", last_name="D.")
    IdentifierFactory(customer=old, kind="loyalty_id", value="LOY-77")
    customer_merge(survivor=jane, absorbed=old, identifier_kind="email", identifier_value=JANE_EMAIL, reason="test")
    Touchpoint.objects.create(
        source=pos, external_id="t1", customer=jane, occurred_at=timezone.now(), channel="store", moment="purchased",
        store_code="PAR01", product_name="Cashmere sweater", revenue=240,
    )  # fmt: skip
    make_follow_up(jane, score=3, comment="Waited too long at checkout")
    floor.arrival_record(store=store, customer=jane, source="kiosk")
    floor.appointment_book(store=store, customer=jane, starts_at=timezone.now() + dt.timedelta(hours=1))
    PurchaseFact.objects.create(
        touchpoint_id=1,
        customer_id=jane.pk,
        store_code="PAR01",
        day=dt.date(2026, 11, 1),
        occurred_at=timezone.now(),
        ordinal=1,
    )
    job = ImportJob.objects.create(source=pos, filename="bad.csv", checksum="x" * 64)
    RejectedRow.objects.create(job=job, line=2, reason="bad date", raw=f"e9,yesterday,purchased,{JANE_EMAIL}")
    RejectedRow.objects.create(job=job, line=3, reason="bad date", raw="e10,yesterday,purchased,other@example.com")
    return jane


def test_the_export_lists_what_every_app_holds_on_her(jane):
    export = json.loads(json.dumps(privacy.customer_export(jane)))  # JSON-ready as it is
    assert export["profile"]["first_name"] == "Jane"
    assert {(i["kind"], i["value"]) for i in export["identifiers"]} >= {("email", JANE_EMAIL), ("loyalty_id", "LOY-77")}
    assert "Cashmere sweater" in [t["product_name"] for t in export["touchpoints"]]
    assert export["interests"] and export["notes"] and export["summary"]
    assert export["survey_answers"][0]["comment"] == "Waited too long at checkout"
    assert {v.get("source") or v.get("status") for v in export["store_visits"]} == {"kiosk", "booked"}


def test_erasure_forgets_her_everywhere_and_keeps_only_tombstones_and_the_audit(jane, admin_associate):
    ids = [jane.pk, *Customer.objects.filter(merged_into=jane).values_list("pk", flat=True)]
    touchpoint_rollups_refresh()  # the dashboards have seen her
    erasure = privacy.customer_erase(jane, by=admin_associate.user, ip="10.0.0.1")
    touchpoint_rollups_refresh()  # and forget her purchase facts at their next refresh (every 2 minutes)

    assert sorted(erasure.customer_ids) == sorted(ids) and len(ids) == 2
    for record in Customer.objects.filter(pk__in=ids):
        assert record.erased_at and not record.first_name and not record.last_name
        assert not (record.consent_recognition or record.consent_email or record.consent_sms or record.consent_surveys)
    for model in (Identifier, Touchpoint, Interest, Note, CustomerSummary, Arrival, Appointment, Invitation, Response,
                  FollowUp):  # fmt: skip
        assert not model.objects.filter(customer_id__in=ids).exists(), model.__name__
    assert not PurchaseFact.objects.filter(customer_id__in=ids).exists()
    assert not Merge.objects.filter(survivor_id=jane.pk).exists()
    assert ErasedIdentifier.objects.count() == erasure.identifiers >= 3  # email, phone, loyalty id
    assert list(RejectedRow.objects.order_by("line").values_list("raw", flat=True)) == [
        "[erased]",
        "e10,yesterday,purchased,other@example.com",  # someone else's row stays as it was
    ]
    assert PiiAccess.objects.filter(customer=jane, action="erase", user=admin_associate.user).exists()
    assert customer_ids_matching("jane") == []
    with pytest.raises(privacy.AlreadyErased):
        privacy.customer_erase(jane)


def test_an_erased_customer_never_comes_back_through_an_import(tmp_path, jane, pos):
    privacy.customer_erase(jane)
    path = tmp_path / "again.csv"
    path.write_text(
        f"event_id,occurred_at,event,email,store_code\nz1,2026-11-20,purchased,{JANE_EMAIL.upper()},PAR01\n"
    )
    job = import_file(source=pos, path=path)
    assert (job.imported, job.rejected) == (0, 1)
    assert not Identifier.objects.filter(value=JANE_EMAIL).exists()
    assert Customer.objects.filter(erased_at__isnull=True, first_name="Jane").count() == 0


def test_only_admins_export_or_erase_and_both_are_audited(client, associate_client, admin_associate, jane):
    export_url = reverse("profiles:export", args=[jane.public_id])
    erase_url = reverse("profiles:erase", args=[jane.public_id])
    assert associate_client.get(export_url).status_code == 403
    assert associate_client.post(erase_url, {"confirm": "erase"}).status_code == 403
    assert Customer.objects.get(pk=jane.pk).erased_at is None

    client.force_login(admin_associate.user)
    response = client.get(export_url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["profile"]["public_id"] == str(jane.public_id)
    assert "no-store" in response["Cache-Control"]
    assert PiiAccess.objects.filter(customer=jane, action="export").count() == 1

    page = client.get(erase_url)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    refused = client.post(erase_url, {})  # the box not ticked: nothing happens
    assert refused.status_code == 400 and Customer.objects.get(pk=jane.pk).erased_at is None
    done = client.post(erase_url, {"confirm": "erase"})
    assert done.status_code == 302 and done["Location"] == reverse("profiles:search")
    assert Customer.objects.get(pk=jane.pk).erased_at is not None
    assert client.get(reverse("profiles:profile", args=[jane.public_id])).status_code == 404


def test_the_command_exports_and_erases_by_email_and_asks_before_erasing(jane, capsys):
    call_command("customer_privacy", "export", "--email", JANE_EMAIL.upper())
    assert json.loads(capsys.readouterr().out)["profile"]["public_id"] == str(jane.public_id)
    with pytest.raises(CommandError, match="--yes"):
        call_command("customer_privacy", "erase", "--phone", "06 12 34 56 78", "--country", "FR")
    assert Customer.objects.get(pk=jane.pk).erased_at is None
    call_command("customer_privacy", "erase", "--phone", "06 12 34 56 78", "--country", "FR", "--yes")
    assert "Erased customer" in capsys.readouterr().out
    assert Customer.objects.get(pk=jane.pk).erased_at is not None
    with pytest.raises(CommandError, match="no customer"):
        call_command("customer_privacy", "export", "--email", JANE_EMAIL)
