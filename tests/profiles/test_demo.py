"""The demo / benchmark channel generator: deterministic, realistic, and valid for the real importer."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
import pytest
from django.core.management import call_command, get_commands
from django.core.validators import validate_email

from profiles import demo

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
STORES = [
    ("PAR01", "Paris Marais", "Paris", "Europe", "Europe/Paris", "FR"),
    ("NYC01", "New York SoHo", "New York", "Americas", "America/New_York", "US"),
    ("TYO01", "Tokyo Omotesando", "Tokyo", "Asia Pacific", "Asia/Tokyo", "JP"),
]
ASSOCIATES = {"PAR01": ["hugo", "lea"], "NYC01": ["maya", "devon"], "TYO01": ["yui", "ren"]}
COUNTRY_OF_STORE = {code: country for code, *_, country in STORES}
CURRENCY_OF_COUNTRY = {"FR": "EUR", "US": "USD", "JP": "JPY"}

# DESIGN.md, contract 4, typed out here so a drift in the generator cannot pass unnoticed.
CONTRACT_4 = [
    "event_id",
    "occurred_at",
    "event",
    "channel",
    "customer_id",
    "email",
    "phone",
    "loyalty_id",
    "anonymous_id",
    "first_name",
    "last_name",
    "store_code",
    "associate",
    "order_id",
    "product_sku",
    "product_name",
    "category",
    "brand",
    "size",
    "color",
    "quantity",
    "price",
    "revenue",
    "currency",
    "consent_recognition",
    "consent_email",
    "consent_sms",
    "consent_surveys",
    "properties",
]
MOMENTS = [
    "newsletter_signup", "account_created", "signed_in", "searched", "product_viewed", "wishlisted", "cart_added",
    "checkout_started", "appointment_booked", "store_visit", "associate_assisted", "event_attended", "purchased",
    "returned", "service_contact", "complaint", "feedback_given", "review_written", "shared", "referred",
]  # fmt: skip
CHANNELS = ["web", "app", "store", "kiosk", "call_center", "chat", "email", "sms", "social"]


def generate(tmp_path, name="demo", *, seed=42, customers=150, touchpoints=4000):
    return demo.generate_demo_files(
        tmp_path / name, customers=customers, touchpoints=touchpoints, seed=seed, stores=STORES,
        associates=ASSOCIATES, now=NOW,
    )  # fmt: skip


def read_rows(paths):
    """Every row of every file in contract-4 terms (the app's Segment messages mapped back)."""
    rows = []
    for source, path in paths.items():
        with open(path, encoding="utf-8", newline="") as handle:
            if path.suffix == ".jsonl":
                rows.extend(dict(from_segment(json.loads(line)), _source=source) for line in handle)
            else:
                rows.extend(dict(row, _source=source) for row in csv.DictReader(handle))
    return rows


def from_segment(message):
    assert message["type"] == "track"
    properties = dict(message["properties"])
    traits = message.get("context", {}).get("traits", {})
    row = dict.fromkeys(CONTRACT_4, "")
    row.update(
        event_id=message["messageId"], occurred_at=message["timestamp"], event=message["event"],
        channel=properties.pop("channel"), customer_id=message.get("userId", ""),
        anonymous_id=message.get("anonymousId", ""),
    )  # fmt: skip
    row.update({key: value for key, value in traits.items() if key in ("email", "phone", "first_name", "last_name")})
    for key, value in traits.items():
        if key.startswith("consent_"):
            row[key] = "true" if value else "false"
    for column, key in demo.SEGMENT_PROPERTIES:
        row[column] = properties.pop(key, "")
    for column in ("price", "revenue", "quantity"):
        value = properties.pop(column, "")
        row[column] = f"{value:.2f}" if isinstance(value, float) else str(value)
    row["properties"] = json.dumps(properties) if properties else ""
    return row


@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory):
    return read_rows(generate(tmp_path_factory.mktemp("demo")))


def test_the_same_seed_writes_byte_identical_files(tmp_path):
    first, second = generate(tmp_path, "a"), generate(tmp_path, "b")

    assert list(first) == list(second) == ["web", "app", "pos", "call-center", "crm"]
    for source in first:
        assert first[source].read_bytes() == second[source].read_bytes(), source


def test_a_different_seed_writes_different_files(tmp_path):
    first, other = generate(tmp_path, "a", seed=42), generate(tmp_path, "b", seed=43)

    assert any(first[source].read_bytes() != other[source].read_bytes() for source in first)


def test_every_csv_file_has_the_contract_4_header(tmp_path):
    paths = generate(tmp_path, customers=20, touchpoints=300)

    assert sorted(path.name for path in paths.values()) == [
        "app.jsonl", "call-center.csv", "crm.csv", "pos.csv", "web.csv",
    ]  # fmt: skip
    for path in paths.values():
        if path.suffix == ".csv":
            with open(path, encoding="utf-8") as handle:
                assert next(csv.reader(handle)) == CONTRACT_4


def test_the_app_source_is_segment_jsonl_with_one_track_call_per_line(tmp_path):
    path = generate(tmp_path, customers=30, touchpoints=600)["app"]

    messages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert messages
    assert all(m["type"] == "track" and m["messageId"] and m["timestamp"].endswith("Z") for m in messages)
    assert all(m.get("userId") or m.get("anonymousId") for m in messages)
    assert any(m["event"] == "Product Viewed" and m["properties"]["sku"] for m in messages)
    assert any("email" in m.get("context", {}).get("traits", {}) for m in messages)


def test_it_writes_exactly_the_requested_number_of_touchpoints_for_the_requested_customers(demo_rows):
    emails = {row["email"] for row in demo_rows if row["email"]}

    assert len(demo_rows) == 4000
    assert 125 <= len(emails) <= 150, "about 95% of the 150 customers have an email address"


def test_every_moment_and_every_channel_is_present(demo_rows):
    moments = Counter(row["event"] for row in demo_rows)
    segment_to_moment = {name: moment for moment, name in demo.SEGMENT_EVENTS.items()}

    seen = {segment_to_moment.get(event, event) for event in moments}
    assert seen == set(MOMENTS)
    assert {row["channel"] for row in demo_rows} == set(CHANNELS)
    assert any(name in moments for name in ("Order Completed", "Product Viewed")), "Segment v2 names are exercised"


def test_event_ids_are_unique_per_source_and_times_are_utc_in_the_past_18_months(demo_rows):
    per_source = Counter((row["_source"], row["event_id"]) for row in demo_rows)
    times = [datetime.fromisoformat(row["occurred_at"]) for row in demo_rows]

    assert max(per_source.values()) == 1
    assert all(row["occurred_at"].endswith("Z") for row in demo_rows)
    assert max(times) < NOW
    assert (NOW - min(times)).days <= 560  # 18 months, and an appointment booked before the first visit
    assert (NOW - min(times)).days >= 400, "history spreads over about 18 months"


def test_emails_validate_and_phones_parse_for_their_region(demo_rows):
    phones = emails = 0
    for row in demo_rows:
        if row["email"]:
            validate_email(row["email"])
            assert row["email"].rsplit("@", 1)[1] in {"example.com", "example.net", "example.org"}
            emails += 1
        if row["phone"]:
            # Phones written without a country code rely on the store's country, as the importer reads them.
            region = COUNTRY_OF_STORE.get(row["store_code"]) if not row["phone"].startswith("+") else None
            number = phonenumbers.parse(row["phone"], region)
            assert phonenumbers.is_valid_number(number), row["phone"]
            assert phonenumbers.region_code_for_number(number) in {"FR", "US", "JP"}
            phones += 1
    assert emails > 1000
    assert phones > 500
    assert any(not row["phone"].startswith("+") for row in demo_rows if row["phone"]), "national formats appear"


def test_every_row_identifies_someone_and_first_rows_carry_names_and_consents(demo_rows):
    consents = Counter()
    for row in demo_rows:
        assert row["email"] or row["phone"] or row["loyalty_id"] or row["customer_id"], row
        if row["consent_recognition"]:
            consents[row["consent_recognition"]] += 1
    assert all(value in {"true", "false"} for value in consents)
    assert 0.55 < consents["true"] / sum(consents.values()) < 0.85, "about 70% consent to recognition"


def test_names_match_the_store_country(demo_rows):
    # Online, she pays in her home store's currency.
    online = [row for row in demo_rows if not row["store_code"] and row["currency"] and row["last_name"]]
    japanese = [row["last_name"] for row in online if row["currency"] == "JPY"]
    western = [row["last_name"] for row in online if row["currency"] != "JPY"]

    assert japanese and western
    assert all(any("\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff" for ch in name) for name in japanese)
    assert not any(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in western)


def test_in_store_rows_name_a_store_and_one_of_its_associates(demo_rows):
    assisted = [row for row in demo_rows if row["event"] in ("associate_assisted", "purchased") and row["store_code"]]

    assert assisted
    for row in assisted:
        assert row["channel"] == "store"
        assert row["associate"] in ASSOCIATES[row["store_code"]]


def test_products_have_sizes_for_their_category_and_prices_in_the_customer_currency(demo_rows):
    purchases = [row for row in demo_rows if row["event"] in ("purchased", "Order Completed")]

    assert len({row["category"] for row in purchases}) == len(demo.CATEGORIES)
    for row in purchases:
        assert row["order_id"] and row["product_sku"] and row["product_name"] and row["brand"]
        assert Decimal(row["revenue"]) == Decimal(row["price"]) * int(row["quantity"])
        if row["store_code"]:
            assert row["currency"] == CURRENCY_OF_COUNTRY[COUNTRY_OF_STORE[row["store_code"]]]
        if row["category"] in ("bags", "accessories"):
            assert row["size"] == ""
        elif row["category"] in ("tops", "knitwear", "outerwear"):
            assert row["size"] in {"XS", "S", "M", "L", "XL"}
        elif row["category"] == "shoes":
            assert row["size"].startswith(("EU ", "US ")) or row["size"].endswith(" cm")
        if row["currency"] == "JPY":
            assert "." not in row["price"]
    assert {"Trail Runner 2", "Trail Runner 3", "Trail Runner 4"} & {row["product_name"] for row in demo_rows}


def test_properties_are_json_objects_with_preferred_names_sometimes(demo_rows):
    properties = [json.loads(row["properties"]) for row in demo_rows if row["properties"]]

    assert all(isinstance(value, dict) for value in properties)
    assert any("preferred_name" in value for value in properties)
    assert any(value.get("tier") in {"silver", "gold", "platinum"} for value in properties)


def test_the_benchmark_file_streams_rows_that_reuse_emails_and_phones(tmp_path):
    path = tmp_path / "bench.csv"

    demo.write_channel_csv(path, rows=30_000, customers=5_000, seed=7, now=NOW)

    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == CONTRACT_4
        rows = [dict(zip(CONTRACT_4, cells, strict=True)) for cells in reader]
    assert len(rows) == 30_000
    assert len({row["event_id"] for row in rows}) == 30_000
    both = {row["email"]: row["phone"] for row in rows if row["email"] and row["phone"]}
    email_only = {row["email"] for row in rows if row["email"] and not row["phone"]}
    phone_only = {row["phone"] for row in rows if row["phone"] and not row["email"]}
    linked = [email for email, phone in both.items() if email in email_only and phone in phone_only]
    assert len(linked) > 500, "the same person appears by email, by phone, and by both"
    assert 2_000 < len(set(both) | email_only) <= 5_000
    for row in rows[:3000]:
        if row["email"]:
            validate_email(row["email"])
        if row["phone"]:
            assert phonenumbers.is_valid_number(phonenumbers.parse(row["phone"], None)), row["phone"]
    assert {row["event"] for row in rows} == set(MOMENTS)
    times = [row["occurred_at"] for row in rows]
    assert times == sorted(times)


def test_the_benchmark_file_is_deterministic(tmp_path):
    demo.write_channel_csv(tmp_path / "a.csv", rows=2_000, customers=300, seed=7, now=NOW)
    demo.write_channel_csv(tmp_path / "b.csv", rows=2_000, customers=300, seed=7, now=NOW)
    demo.write_channel_csv(tmp_path / "c.csv", rows=2_000, customers=300, seed=8, now=NOW)

    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_without_reuse_every_benchmark_row_carries_both_email_and_phone(tmp_path):
    path = tmp_path / "plain.csv"
    demo.write_channel_csv(path, rows=500, customers=100, seed=7, reuse_identifiers=False, now=NOW)

    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["email"] and row["phone"] for row in rows)


def test_seed_names_each_store_associate_and_no_store_gets_a_stranger(tmp_path):
    rows = read_rows(generate(tmp_path, customers=40, touchpoints=800))
    by_store = defaultdict(set)
    for row in rows:
        if row["associate"]:
            by_store[row["store_code"]].add(row["associate"])

    assert by_store
    assert all(names <= set(ASSOCIATES[code]) for code, names in by_store.items())


requires_importer = pytest.mark.skipif(
    "import_channel_data" not in get_commands(), reason="the import_channel_data command has not landed yet"
)


@requires_importer
@pytest.mark.django_db(transaction=True)
def test_seed_demo_imports_everything_it_generates_with_no_rejected_row(tmp_path, monkeypatch):
    from profiles.models import Customer, ImportJob, Touchpoint

    monkeypatch.setattr(demo, "DEMO_DIRECTORY", tmp_path)

    call_command("seed_demo", "--customers", "50", "--touchpoints", "1000", "--seed", "3", stdout=io.StringIO())

    jobs = list(ImportJob.objects.all())
    assert len(jobs) == len(demo.SOURCES)
    assert sum(job.rejected for job in jobs) == 0, [(job.filename, job.rejected_rows.first()) for job in jobs]
    assert sum(job.rows for job in jobs) == 1000
    assert Touchpoint.objects.exclude(source__name="clienteling").count() == 1000
    assert Customer.objects.live().count() == 50
    customers = Customer.objects.live()
    assert customers.exclude(preferred_name="").exists()  # seed 3 has one person who goes by a nickname
    assert customers.exclude(tier="").exists()
    assert not customers.filter(home_store_code="").exists()
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(demo.SOURCES)
