"""Channel files in: every bad-row kind, every encoding, file-level failures, idempotence, crash and resume."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from profiles import imports, pipeline
from profiles.events import copy_time
from profiles.identity import BatchResolver
from profiles.imports import import_file
from profiles.models import Customer, Identifier, ImportJob, ImportStatus, RejectedRow, Touchpoint
from tests.factories import CustomerFactory, SourceFactory

pytestmark = pytest.mark.django_db

HEADER = "event_id,occurred_at,event,channel,customer_id,email,phone,first_name,last_name,store_code,product_name,quantity,price,revenue,currency,consent_email"


def csv_file(
    tmp_path, *lines: str, header: str = HEADER, name: str = "feed.csv", encoding: str = "utf-8", newline="\n"
):
    path = tmp_path / name
    path.write_bytes((newline.join([header, *lines]) + newline).encode(encoding))
    return path


def assert_rows_add_up(job: ImportJob) -> None:
    assert job.rows == job.imported + job.updated + job.duplicates + job.rejected


@pytest.fixture
def pos(store):
    return SourceFactory(name="pos", kind="store")


GOOD = "e1,2024-05-01T10:00:00,Order Completed,store,C1,ann@example.com,06 12 34 56 78,Ann,Lee,PAR01,Bag,1,120.50,120.50,EUR,true"


def test_good_rows_become_touchpoints_of_one_customer_with_normalized_identifiers(tmp_path, pos, store):
    path = csv_file(
        tmp_path,
        GOOD,
        "e2,2024-05-02 18:30,Product Viewed,web,,ANN@Example.com,,,,,Scarf,,,,,",
    )
    job = import_file(source=pos, path=path)

    assert job.status == ImportStatus.DONE
    assert job.summary_line() == "rows=2 imported=2 updated=0 duplicates=0 rejected=0"
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.home_store_code) == ("Ann", "Lee", "PAR01")
    assert customer.consent_email and customer.consent_email_source == "pos"
    assert set(customer.identifiers.values_list("kind", "namespace", "value")) == {
        ("customer_id", "pos", "C1"),
        ("email", "", "ann@example.com"),
        ("phone", "", "+33612345678"),  # the Paris store's country is the phone's default region
    }
    purchase = Touchpoint.objects.get(external_id="e1")
    assert purchase.moment == "purchased" and purchase.revenue == 120.5 and purchase.customer == customer
    assert purchase.occurred_at.isoformat() == "2024-05-01T08:00:00+00:00"  # 10:00 in Paris


TIMES = [
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00.250Z",
    "2024-05-01T10:00:00+02:00",
    "2024-05-01T10:00:00.250-05:30",
    "2024-05-01T10:00:00.123456789Z",  # Python keeps 6 decimals of 9 (truncating), PostgreSQL would round
    "2024-W18-3T10:00:00Z",  # a week date, which PostgreSQL reads differently
    "20240501T100000Z",
    "2024-05-01 10:00:00+02:00",
    "2024-05-01T10:00:00",  # no offset: the Paris store's local time
]


def test_every_time_form_is_stored_as_the_instant_python_read(tmp_path, pos):
    lines = [f"t{i},{when},Product Viewed,web,C1,,,,,PAR01,,,,,," for i, when in enumerate(TIMES)]
    job = import_file(source=pos, path=csv_file(tmp_path, *lines))

    assert job.summary_line() == f"rows={len(TIMES)} imported={len(TIMES)} updated=0 duplicates=0 rejected=0"
    stored = dict(Touchpoint.objects.values_list("external_id", "occurred_at"))
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    for i, when in enumerate(TIMES):
        expected = datetime.fromisoformat(when)
        assert stored[f"t{i}"] == (expected if expected.tzinfo else expected.replace(tzinfo=paris)), when


@pytest.mark.parametrize(
    ("text", "copied"),
    [
        ("2024-05-01T10:00:00Z", True),
        ("2024-05-01T10:00:00.250Z", True),
        ("2024-05-01T10:00:00+02:00", True),
        ("2024-05-01T10:00:00.250-05:30", True),
        ("2024-05-01T10:00:00.123456789Z", False),
        ("2024-05-01T10:00:00.2500Z", False),
        ("2024-W18-3T10:00:00Z", False),
        ("20240501T100000Z", False),
        ("2024-05-01 10:00:00Z", False),
        ("2024-05-01T10:00:00+0200", False),
        ("2024-05-01T10:00:00+02:00:30", False),
        ("2024-05-01T10:00Z", False),
    ],
)
def test_only_times_postgresql_reads_the_same_way_are_copied_as_written(text, copied):
    assert copy_time(text) == (text if copied else "")


BAD_ROWS = [
    ("e9,2024-05-01,purchased,store,,,,Ann,,,,,,,,", "no identifier"),
    ("e9,2024-05-01,purchased,store,,noemail@example.com,0000000000,,,,,,,,,", "no identifier"),
    ("e9,yesterday,purchased,store,C9,,,,,,,,,,,", "bad date"),
    ("e9,,purchased,store,C9,,,,,,,,,,,", "bad date"),
    ("e9,2024-05-01,purchased,store,,ann@,,,,,,,,,,", "bad email"),
    ("e9,2024-05-01,purchased,store,,,12,,,,,,,,,", "bad phone"),
    ("e9,2024-05-01,Teleported,store,C9,,,,,,,,,,,", "unknown event"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,,,12 euros,EUR,", "revenue is not a number"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,,1O.00,,EUR,", "price is not a number"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,two,,,EUR,", "quantity is not a whole number"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,,,,EURO,", "currency must be"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,%s,,,,," % ("x" * 201), "oversized field: product_name"),
    ("e9,2024-05-01,purchased,store,C9,,,,,TOO-LONG-STORE-CODE-XX,,,,,,", "oversized field: store_code"),
    ("e9,2024-05-01,purchased,teleport,C9,,,,,,,,,,,", "unknown channel"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,,,,,maybe", "consent_email must be true, false or blank"),
    ("e9,2024-05-01,purchased,store,C9,,,,,,,,,,,,,surplus", "cells but the header has"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_each_kind_of_bad_row_is_kept_with_its_line_and_reason_while_good_rows_import(tmp_path, pos, line, reason):
    path = csv_file(tmp_path, GOOD, line, GOOD.replace("e1,", "e3,"))
    job = import_file(source=pos, path=path)

    assert job.status == ImportStatus.DONE
    assert (job.rows, job.imported, job.rejected) == (3, 2, 1)
    assert_rows_add_up(job)
    rejected = RejectedRow.objects.get(job=job)
    assert rejected.line == 3
    assert reason in rejected.reason
    assert rejected.raw.startswith("e9,")


def test_bad_properties_json_and_oversized_properties_are_rejected(tmp_path, pos):
    header = "event_id,occurred_at,event,email,properties"
    path = csv_file(
        tmp_path,
        'a,2024-05-01,purchased,a@example.com,"{""gift"": true}"',
        "b,2024-05-01,purchased,b@example.com,{not json",
        'c,2024-05-01,purchased,c@example.com,"{""x"": ""%s""}"' % ("y" * 40000),
        header=header,
    )
    job = import_file(source=pos, path=path)
    assert (job.imported, job.rejected) == (1, 2)
    reasons = list(RejectedRow.objects.filter(job=job).values_list("line", "reason"))
    assert reasons == [(3, "properties is not valid JSON"), (4, "oversized field: properties are larger than 32 KB")]
    assert Touchpoint.objects.get().properties == {"gift": True}


def test_unknown_columns_are_kept_in_properties_and_headers_match_in_any_case_and_order(tmp_path, pos):
    path = csv_file(
        tmp_path,
        "ann@example.com,purchased,2024-05-01,k1,VIP lounge",
        header="EMAIL, Event ,Occurred_At,EVENT_ID,Lounge",
    )
    job = import_file(source=pos, path=path)
    assert job.imported == 1
    assert Touchpoint.objects.get().properties == {"lounge": "VIP lounge"}


NAMES = "Zoë,Müller-Çelik"


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")],
    ids=["utf-8", "utf-8 with BOM", "cp1252", "latin-1"],
)
def test_each_encoding_is_read_correctly(tmp_path, pos, encoding, prefix):
    body = f"event_id,occurred_at,event,email,first_name,last_name,product_name\r\ne1,2024-05-01,purchased,zoe@example.com,{NAMES},Crème brûlée bag\r\n"
    path = tmp_path / "feed.csv"
    path.write_bytes(prefix + body.encode(encoding))
    job = import_file(source=pos, path=path)
    assert job.summary_line() == "rows=1 imported=1 updated=0 duplicates=0 rejected=0"
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name) == ("Zoë", "Müller-Çelik")
    assert Touchpoint.objects.get().product_name == "Crème brûlée bag"


def test_cp1252_only_characters_and_undefined_bytes_are_read(tmp_path, pos):
    body = "event_id,occurred_at,event,email,product_name\ne1,2024-05-01,purchased,a@example.com,“Summer” – #0 €\n"
    path = tmp_path / "feed.csv"
    path.write_bytes(body.encode("cp1252").replace(b"#", b"2\x81"))
    job = import_file(source=pos, path=path)
    assert job.imported == 1
    assert Touchpoint.objects.get().product_name == "“Summer” – 2\x810 €"


def test_quoted_newlines_crlf_and_semicolons_are_read_and_line_numbers_stay_true(tmp_path, pos):
    header = "event_id;occurred_at;event;email;product_name"
    path = csv_file(
        tmp_path,
        'e1;2024-05-01;purchased;a@example.com;"Two-line\r\nname"',
        "e2;2024-05-01;purchased;not-an-email;Hat",
        header=header,
        newline="\r\n",
    )
    job = import_file(source=pos, path=path)
    assert (job.imported, job.rejected) == (1, 1)
    assert Touchpoint.objects.get().product_name == "Two-line\r\nname"
    assert RejectedRow.objects.get().line == 4  # the header is line 1; the first record spans lines 2-3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf\r\n  \n", "the file is empty"),
        (b"event_id,occurred_at,event,email\n", "the file has no data rows"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        (b"hello world\nthis is a letter\n", "no header row"),
        (b"event_id,occurred_at,event,first_name\ne1,2024-05-01,purchased,Ann\n", "no identifier column"),
    ],
    ids=["empty", "blank lines", "header only", "spreadsheet", "binary", "no header", "no identifier column"],
)
def test_a_file_that_cannot_be_read_fails_with_one_clear_message_and_writes_nothing(tmp_path, pos, content, message):
    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    job = import_file(source=pos, path=path)
    assert job.status == ImportStatus.FAILED
    assert message in job.error
    assert not Customer.objects.exists() and not Touchpoint.objects.exists() and not RejectedRow.objects.exists()


def test_the_same_file_twice_is_skipped_by_checksum_and_counts_every_row_as_a_duplicate(tmp_path, pos):
    path = csv_file(tmp_path, GOOD, "e2,2024-05-01,purchased,store,C2,,,,,,,,,,,")
    first = import_file(source=pos, path=path)
    second = import_file(source=pos, path=path)
    assert first.status == ImportStatus.DONE
    assert second.status == ImportStatus.SKIPPED and second.pk != first.pk
    assert second.summary_line() == "rows=2 imported=0 updated=0 duplicates=2 rejected=0"
    assert Touchpoint.objects.count() == 2


def test_the_same_event_id_in_another_file_is_a_counted_duplicate(tmp_path, pos):
    import_file(source=pos, path=csv_file(tmp_path, GOOD, name="monday.csv"))
    job = import_file(
        source=pos,
        path=csv_file(tmp_path, GOOD, GOOD.replace("e1,", "e7,"), GOOD.replace("e1,", "e7,"), name="tuesday.csv"),
    )
    assert job.summary_line() == "rows=3 imported=1 updated=0 duplicates=2 rejected=0"
    assert Touchpoint.objects.count() == 2


def test_an_event_id_twice_in_a_first_import_is_one_touchpoint_and_one_counted_duplicate(tmp_path, pos):
    first = import_file(source=pos, path=csv_file(tmp_path, GOOD, GOOD.replace("Bag", "Hat"), name="a.csv"))
    assert first.summary_line() == "rows=2 imported=1 updated=0 duplicates=1 rejected=0"
    assert Touchpoint.objects.get(external_id="e1").product_name == "Bag"
    later = import_file(source=pos, path=csv_file(tmp_path, GOOD.replace("e1,", "e2,"), name="b.csv"))
    assert later.summary_line() == "rows=1 imported=1 updated=0 duplicates=0 rejected=0"
    assert Touchpoint.objects.count() == 2


def test_an_identifier_another_writer_added_meanwhile_keeps_its_owner_and_the_batch_goes_in(tmp_path, pos, monkeypatch):
    other = CustomerFactory()
    real = BatchResolver._create_customers

    def registered_on_the_floor_meanwhile(self, *args, **kwargs):
        Identifier.objects.create(customer=other, kind="email", value="ann@example.com")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BatchResolver, "_create_customers", registered_on_the_floor_meanwhile)
    job = import_file(source=pos, path=csv_file(tmp_path, GOOD))
    assert job.status == ImportStatus.DONE
    assert Identifier.objects.get(kind="email").customer == other
    assert Identifier.objects.get(kind="phone").value == "+33612345678"  # written by the fallback INSERT
    assert Touchpoint.objects.count() == 1


def test_rows_without_event_id_are_still_idempotent(tmp_path, pos):
    header = "occurred_at,event,email"
    import_file(source=pos, path=csv_file(tmp_path, "2024-05-01,purchased,a@example.com", header=header, name="a.csv"))
    job = import_file(
        source=pos,
        path=csv_file(
            tmp_path,
            "2024-05-01,purchased,a@example.com",
            "2024-05-02,purchased,a@example.com",
            header=header,
            name="b.csv",
        ),
    )
    assert (job.imported, job.duplicates) == (1, 1)


def test_a_profile_row_that_changes_a_known_customer_counts_as_updated_and_repeating_it_as_duplicate(tmp_path, pos):
    header = "customer_id,first_name,last_name,consent_sms"
    import_file(source=pos, path=csv_file(tmp_path, "C1,Ann,Lee,", header=header, name="a.csv"))
    changed = import_file(source=pos, path=csv_file(tmp_path, "C1,Anne,Lee,true", header=header, name="b.csv"))
    again = import_file(source=pos, path=csv_file(tmp_path, "C1,Anne,Lee,true", "", header=header, name="c.csv"))
    assert changed.summary_line() == "rows=1 imported=0 updated=1 duplicates=0 rejected=0"
    assert again.summary_line() == "rows=1 imported=0 updated=0 duplicates=1 rejected=0"
    customer = Customer.objects.get()
    assert customer.first_name == "Anne" and customer.consent_sms


def test_the_latest_row_of_a_batch_wins_even_when_it_repeats_what_the_job_already_wrote(tmp_path, pos, settings):
    header = "event_id,occurred_at,event,customer_id,first_name,consent_sms"
    import_file(source=pos, path=csv_file(tmp_path, "a,2024-05-01,signed_in,C1,Ann,true", header=header, name="a.csv"))
    settings.IMPORT_BATCH_SIZE = 2
    lines = [
        "b,2024-05-02,signed_in,C1,Annie,false",  # batch 1: the job writes Annie, no SMS
        "c,2024-05-03,signed_in,C1,Annie,false",
        "d,2024-05-04,signed_in,C1,Ann,true",  # batch 2: Ann and SMS again...
        "e,2024-05-05,signed_in,C1,Annie,false",  # ...then what the job wrote in batch 1, the latest
    ]
    job = import_file(source=pos, path=csv_file(tmp_path, *lines, header=header, name="b.csv"))

    customer = Customer.objects.get()
    assert (customer.first_name, customer.consent_sms) == ("Annie", False)
    assert job.summary_line() == "rows=4 imported=4 updated=0 duplicates=0 rejected=0"


def test_an_older_consent_answer_never_overwrites_a_newer_one(tmp_path, pos):
    header = "event_id,occurred_at,event,customer_id,consent_email"
    import_file(source=pos, path=csv_file(tmp_path, "a,2024-06-01,signed_in,C1,false", header=header, name="new.csv"))
    import_file(source=pos, path=csv_file(tmp_path, "b,2024-01-01,signed_in,C1,true", header=header, name="old.csv"))
    assert Customer.objects.get().consent_email is False


def test_a_crash_mid_file_keeps_whole_batches_and_running_again_finishes_without_duplicates(
    tmp_path, pos, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 2
    lines = [f"e{i},2024-05-01,purchased,store,C{i % 3},,,,,,,,,,," for i in range(7)] + ["bad,,purchased,,,,,,,,,,,,,"]
    path = csv_file(tmp_path, *lines)
    real_write = pipeline.batch_write
    calls = {"n": 0}

    def crash_on_third_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker lost")
        return real_write(**kwargs)

    monkeypatch.setattr("profiles.imports.batch_write", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        import_file(source=pos, path=path)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and "interrupted after line 5" in job.error
    assert (job.rows, job.lines_done) == (4, 5)  # two whole batches, nothing of the third
    assert Touchpoint.objects.count() == 4

    monkeypatch.setattr("profiles.imports.batch_write", real_write)
    resumed = import_file(source=pos, path=path)
    assert resumed.pk == job.pk and resumed.status == ImportStatus.DONE
    assert resumed.summary_line() == "rows=8 imported=7 updated=0 duplicates=0 rejected=1"
    assert Touchpoint.objects.count() == 7


def test_segment_jsonl_identify_track_and_alias_build_one_profile(tmp_path, pos):
    messages = [
        {"type": "track", "event": "Product Viewed", "anonymousId": "anon-1", "messageId": "m1",
         "timestamp": "2024-05-01T10:00:00Z", "properties": {"sku": "SKU-1", "name": "Bag", "category": "Bags"}},
        {"type": "identify", "userId": "u-1", "anonymousId": "anon-1", "messageId": "m2",
         "timestamp": "2024-05-01T10:05:00Z",
         "traits": {"email": "Zoe@Example.com", "firstName": "Zoé", "consent_email": True,
                    "birthday": "1990-04-12", "address": {"postal_code": "75003"}}},
        {"type": "track", "event": "Order Completed", "userId": "u-1", "messageId": "m3",
         "timestamp": "2024-05-01T10:20:00Z",
         "properties": {"order_id": "O-1", "revenue": 240, "currency": "eur",
                        "products": [{"sku": "SKU-1", "name": "Bag", "price": 240, "quantity": 1}]}},
        {"type": "alias", "previousId": "anon-2", "userId": "u-1", "messageId": "m4", "timestamp": "2024-05-01T11:00:00Z"},
        {"type": "group", "userId": "u-1", "messageId": "m5"},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in messages) + "\nnot json\n")
    job = import_file(source=pos, path=path)

    assert job.summary_line() == "rows=6 imported=3 updated=1 duplicates=0 rejected=2"
    customer = Customer.objects.get()
    assert (customer.first_name, customer.birthday_month, customer.postal_code) == ("Zoé", 4, "75003")
    assert customer.consent_email
    assert set(customer.identifiers.values_list("kind", "value")) == {
        ("customer_id", "u-1"),
        ("email", "zoe@example.com"),
        ("anonymous_id", "anon-1"),
        ("anonymous_id", "anon-2"),
    }
    order = Touchpoint.objects.get(external_id="m3")
    assert (order.moment, order.order_id, order.revenue, order.currency, order.product_sku) == (
        "purchased",
        "O-1",
        240,
        "EUR",
        "SKU-1",
    )
    assert list(RejectedRow.objects.values_list("line", flat=True)) == [5, 6]


def test_the_command_prints_one_summary_line_and_exits_zero_with_rejected_rows(tmp_path, pos, capsys):
    path = csv_file(tmp_path, GOOD, "e2,nope,purchased,store,C2,,,,,,,,,,,")
    call_command("import_channel_data", str(path), "--source", "pos")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "rows=2 imported=1 updated=0 duplicates=0 rejected=1"


def test_the_command_fails_when_a_file_cannot_be_read(tmp_path, pos, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError):
        call_command("import_channel_data", str(path), "--source", "pos")
    assert "the file is empty" in capsys.readouterr().err


def test_the_command_refuses_an_unknown_source(tmp_path):
    with pytest.raises(CommandError, match="no source named"):
        call_command("import_channel_data", str(csv_file(tmp_path, GOOD)), "--source", "nope")


def test_identifiers_are_namespaced_customer_ids_per_source_and_global_emails(tmp_path, pos):
    web = SourceFactory(name="web", kind="web")
    header = "event_id,occurred_at,event,customer_id"
    import_file(source=pos, path=csv_file(tmp_path, "a,2024-05-01,purchased,42", header=header, name="pos.csv"))
    import_file(source=web, path=csv_file(tmp_path, "a,2024-05-01,signed_in,42", header=header, name="web.csv"))
    assert Customer.objects.count() == 2  # the same CRM number in two systems is two people
    assert set(Identifier.objects.values_list("namespace", flat=True)) == {"pos", "web"}


def test_a_csv_sent_as_jsonl_fails_as_a_file_and_jsonl_with_bom_and_crlf_is_read(tmp_path, pos):
    path = csv_file(tmp_path, GOOD, name="feed.jsonl")
    job = import_file(source=pos, path=path)
    assert job.status == ImportStatus.FAILED and "not JSONL" in job.error

    message = {"type": "track", "event": "Signed In", "userId": "u1", "messageId": "m1", "timestamp": "2024-05-01"}
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(message) + "\r\n\r\n").encode())
    job = import_file(source=pos, path=path)
    assert job.summary_line() == "rows=1 imported=1 updated=0 duplicates=0 rejected=0"


def test_the_command_can_queue_the_import_for_the_worker(
    tmp_path, pos, monkeypatch, capsys, django_capture_on_commit_callbacks
):
    from profiles.tasks import import_job_run_task

    queued = []
    monkeypatch.setattr(import_job_run_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_channel_data", str(csv_file(tmp_path, GOOD)), "--source", "pos", "--async")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED and "queued as job" in capsys.readouterr().out
    assert queued == [job.pk]


def test_repeated_values_get_the_same_answer_each_time_and_a_bad_one_is_rejected_every_time(tmp_path, pos, other_store):
    # The CSV parser remembers its answer per distinct cell value: a value that failed must fail again (with
    # the same reason), a phone is read in each row's store region, and unusual dates take the slow path.
    path = csv_file(
        tmp_path,
        "e1,2024-05-01T10:00:00Z,purchased,store,,,06 12 34 56 78,,,PAR01,Bag,1,10,10,EUR,",
        "e2,2024-05-01T10:00:00Z,purchased,store,,,06 12 34 56 78,,,NYC01,Bag,1,10,10,EUR,",
        "e3,2024-05-01T10:00:00Z,purchased,store,,,(212) 555-0143,,,NYC01,Bag,1,10,10,EUR,",
        "e4,2024-05-01T10:00:00Z,purchased,store,,,(212) 555-0143,,,PAR01,Bag,1,10,10,EUR,",
        "e5,2024-05-01T10:00:00Z,purchased,store,C5,,,,,,%s,,,,," % ("x" * 201),
        "e6,2024-05-01T10:00:00Z,purchased,store,C6,,,,,,%s,,,,," % ("x" * 201),
        "e7,2024-05-01T10:00:00Z,purchased,store,C7,,,,,,Bag,two,,,,",
        "e8,2024-05-01T10:00:00Z,purchased,store,C8,,,,,,Bag,two,,,,",
        "e9, 2024-05-01T10:00:00Z ,Purchased ,web ,C9,,,,,PAR01,Bag ,1,10,10,eur,TRUE",
        "e10,2024-05-01 12:00,purchased,store,C10,,,,,PAR01,Bag,1,10,10,EUR,",
        "e11,1800-05-01T10:00:00Z,purchased,store,C11,,,,,,,,,,,",
        "e12,2024-05-01T10:00:00Z,purchased,store,C12,,,,,,,,1O.00,,EUR,",
        "e13,2024-05-01T10:00:00Z,purchased,store,C13,,,,,,,,,1O.00,EUR,",
        "e14,2024-05-01T10:00:00Z,purchased,store,C14,,,,,,,,,,EURO,",
        "e15,2024-05-01T10:00:00Z,purchased,store,C15,,,,,,,,,,EURO,",
    )
    job = import_file(source=pos, path=path)

    assert job.status == ImportStatus.DONE
    assert_rows_add_up(job)
    reasons = dict(RejectedRow.objects.filter(job=job).values_list("line", "reason"))
    assert reasons == {
        3: "bad phone: not a valid phone number for US: '06 12 34 56 78'",
        5: "bad phone: not a valid phone number for FR: '(212) 555-0143'",
        6: "oversized field: product_name is longer than 200 characters",
        7: "oversized field: product_name is longer than 200 characters",
        8: "quantity is not a whole number: 'two'",
        9: "quantity is not a whole number: 'two'",
        12: "bad date in occurred_at: '1800-05-01T10:00:00Z' is out of range",
        13: "price is not a number: '1O.00'",
        14: "revenue is not a number: '1O.00'",
        15: "currency must be a 3-letter code, not 'EURO'",
        16: "currency must be a 3-letter code, not 'EURO'",
    }
    assert set(Identifier.objects.filter(kind="phone").values_list("value", flat=True)) == {
        "+33612345678",
        "+12125550143",
    }
    spaced = Touchpoint.objects.get(external_id="e9")
    assert (spaced.channel, spaced.event, spaced.product_name, spaced.currency) == ("web", "Purchased", "Bag", "EUR")
    assert spaced.occurred_at.isoformat() == "2024-05-01T10:00:00+00:00"
    local = Touchpoint.objects.get(external_id="e10")
    assert local.occurred_at.isoformat() == "2024-05-01T10:00:00+00:00"  # noon in Paris


def test_a_row_the_writer_rejects_keeps_its_raw_text_read_again_from_the_file(tmp_path, pos, monkeypatch):
    # The importer keeps no copy of the cells of a checked row; a row rejected by the writer for any reason
    # but an erased customer has its text read again from the file, quoted newlines and all.
    real = imports.batch_write

    def rejects_the_second_row(**kwargs):
        result = real(**kwargs)
        for index, row in enumerate(kwargs["rows"]):
            if row.external_id == "e2":
                result.rejected.append((index, "rejected by the writer"))
        return result

    monkeypatch.setattr(imports, "batch_write", rejects_the_second_row)
    header = "event_id;occurred_at;event;email;product_name"
    path = csv_file(
        tmp_path,
        "e1;2024-05-01;purchased;a@example.com;Hat",
        'e2;2024-05-01;purchased;b@example.com;"Two-line\r\nname; ""quoted"""',
        "e3;2024-05-01;purchased;c@example.com;Hat",
        header=header,
        newline="\r\n",
    )
    job = import_file(source=pos, path=path)
    rejected = RejectedRow.objects.get(job=job)
    assert (rejected.line, rejected.reason) == (3, "rejected by the writer")
    assert rejected.raw == 'e2,2024-05-01,purchased,b@example.com,"Two-line\r\nname; ""quoted"""'
