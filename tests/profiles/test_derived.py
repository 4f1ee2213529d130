"""Derived data: summaries, lifecycles and interests computed from touchpoints, hand-checked."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles import derived
from profiles.derived import MomentTally, customers_refresh, interest_reason, recent_interests_refresh
from profiles.models import Customer, CustomerSummary, Identifier, Interest, Touchpoint
from profiles.services import touchpoint_record
from tests.factories import CustomerFactory, SourceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
_ids = itertools.count()


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def tp(customer, moment, when, channel="web", **fields):
    return Touchpoint.objects.create(
        source=SourceFactory(name="pos"),
        external_id=f"e{next(_ids)}",
        customer=customer,
        occurred_at=when,
        channel=channel,
        moment=moment,
        **fields,
    )


TRAIL = {"product_sku": "TR3", "product_name": "Trail Runner 3", "category": "Running shoes", "brand": "Stride"}


def summary_of(customer) -> CustomerSummary:
    return CustomerSummary.objects.get(customer=customer)


def interests_of(customer, kind):
    return list(Interest.objects.filter(customer=customer, kind=kind).order_by("-score").values_list("label", "reason"))


def test_a_browsing_prospect_gets_interests_with_a_reason_and_an_open_cart():
    her = CustomerFactory()
    tp(her, "cart_added", at("2026-11-20"), size="9", **TRAIL)
    for day in ("2026-11-23", "2026-11-23", "2026-11-24"):  # Monday and Tuesday: this week
        tp(her, "product_viewed", at(day, 9), **TRAIL)

    customers_refresh([her.pk])

    assert interests_of(her, "product") == [
        ("Trail Runner 3", "viewed Trail Runner 3 3x online this week; added size 9 to cart on Nov 20")
    ]
    assert interests_of(her, "brand") == [("Stride", "viewed Stride 3x online this week; added it to cart on Nov 20")]
    summary = summary_of(her)
    assert summary.open_cart == [
        {"name": "Trail Runner 3", "sku": "TR3", "size": "9", "at": "2026-11-20T12:00:00+00:00"}
    ]
    assert summary.order_count == 0
    assert summary.visit_count == 0
    assert summary.channels == ["web"]
    assert summary.sizes == {"Running shoes": "9"}
    her.refresh_from_db()
    assert her.lifecycle == "prospect"


def test_orders_visits_value_and_preferred_store_are_counted_by_hand():
    her = CustomerFactory()
    # Order O1 in Paris: two lines, and the same day a recorded visit (one visit, not two).
    tp(her, "store_visit", at("2026-03-10", 10), channel="store", store_code="PAR01")
    tp(
        her,
        "purchased",
        at("2026-03-10", 11),
        channel="store",
        store_code="PAR01",
        order_id="O1",
        revenue=Decimal("120.00"),
        currency="EUR",
        associate_code="hugo",
        **TRAIL,
        size="9",
    )
    tp(
        her,
        "purchased",
        at("2026-03-10", 11),
        channel="store",
        store_code="PAR01",
        order_id="O1",
        price=Decimal("40.00"),
        quantity=2,
        currency="EUR",
        product_sku="SOCK",
        product_name="Merino socks",
    )
    # A return in the Paris store ten days later: a second visit, and value comes off.
    tp(
        her,
        "returned",
        at("2026-03-20"),
        channel="store",
        store_code="PAR01",
        revenue=Decimal("80.00"),
        currency="EUR",
        product_sku="SOCK",
        product_name="Merino socks",
    )
    tp(her, "store_visit", at("2026-06-01"), channel="store", store_code="NYC01")
    # Order O2 online: her last purchase.
    tp(
        her,
        "purchased",
        at("2026-10-01"),
        order_id="O2",
        revenue=Decimal("60.00"),
        currency="EUR",
        product_sku="CAP",
        product_name="Running cap",
        size="M",
        color="navy",
        category="Hats",
    )

    customers_refresh([her.pk])

    summary = summary_of(her)
    assert summary.order_count == 2
    assert summary.lifetime_value == Decimal("180.00")  # 120 + 2x40 + 60 - 80
    assert summary.currency == "EUR"
    assert summary.visit_count == 3  # PAR01 Mar 10, PAR01 Mar 20, NYC01 Jun 1
    assert summary.last_visit_at == at("2026-06-01")
    assert summary.last_visit_store == "NYC01"
    assert summary.preferred_store == "PAR01"
    assert summary.first_seen_at == at("2026-03-10", 10)
    assert summary.last_seen_at == at("2026-10-01")
    assert summary.last_purchase_at == at("2026-10-01")
    assert summary.last_purchase == {
        "store": "",
        "channel": "web",
        "associate": "",
        "items": [{"name": "Running cap", "sku": "CAP", "size": "M", "color": "navy"}],
        "revenue": "60.00",
        "currency": "EUR",
    }
    assert summary.channels == ["store", "web"]
    assert summary.sizes == {"Running shoes": "9", "Hats": "M"}
    her.refresh_from_db()
    assert her.lifecycle == "repeat"


@pytest.mark.parametrize(
    ("purchases", "extra", "lifecycle"),
    [
        ([], None, "prospect"),
        (["2026-11-01"], None, "new"),
        (["2026-01-01", "2026-11-01"], None, "repeat"),
        (["2026-01-05", "2026-04-01", "2026-07-01", "2026-11-01"], None, "loyal"),
        (["2026-11-01"], "review_written", "loyal"),
        (["2024-06-01", "2025-11-01"], None, "lapsed"),  # last purchase over 12 months ago
        (["2025-06-01", "2026-11-01"], None, "repeat"),  # back again: no longer lapsed
        (["2025-10-01", "2025-12-01", "2026-02-01", "2026-11-01"], None, "repeat"),  # 3 in the last 12 months
    ],
)
def test_lifecycle_follows_the_documented_rules(purchases, extra, lifecycle):
    her = CustomerFactory()
    for day in purchases:
        tp(her, "purchased", at(day), revenue=Decimal("10"))
    if extra:
        tp(her, extra, at("2026-11-02"))
    customers_refresh([her.pk])
    her.refresh_from_db()
    assert her.lifecycle == lifecycle


def test_a_cart_item_bought_since_is_no_longer_open_and_the_wishlist_keeps_the_rest():
    her = CustomerFactory()
    tp(her, "cart_added", at("2026-11-01"), product_sku="A", product_name="Alpha", size="S")
    tp(her, "purchased", at("2026-11-02"), product_sku="A", product_name="Alpha", size="S")
    tp(her, "cart_added", at("2026-11-03"), product_sku="B", product_name="Beta")
    tp(her, "wishlisted", at("2026-11-04"), product_name="Gamma scarf")
    tp(her, "wishlisted", at("2026-11-05"), product_name="Gamma scarf")  # the same item twice: listed once
    customers_refresh([her.pk])
    summary = summary_of(her)
    assert [item["name"] for item in summary.open_cart] == ["Beta"]
    assert summary.wishlist == [{"name": "Gamma scarf", "sku": "", "size": "", "at": "2026-11-05T12:00:00+00:00"}]


def test_the_summary_takes_latest_and_ordered_values_from_rows_written_out_of_time_order():
    her = CustomerFactory()
    # Written with each kind's latest row in the middle, so that neither the ids nor the rows' order on disk
    # follow time either way (the summary statement relies on its sorts feeding the aggregates above them).
    tp(her, "complaint", at("2026-11-06"), channel="chat", properties={"text": "Late delivery"})
    tp(her, "feedback_given", at("2026-11-07"), channel="sms", properties={"score": 9})
    tp(her, "store_visit", at("2026-11-05"), channel="store", store_code="PAR01")
    tp(her, "cart_added", at("2026-11-08"), product_sku="C", product_name="Gamma")
    tp(her, "complaint", at("2026-11-12"), channel="chat", properties={"text": "Wrong size again"})
    tp(her, "feedback_given", at("2026-11-11"), channel="sms", properties={"score": 4})
    tp(her, "store_visit", at("2026-11-09"), channel="store", store_code="NYC01")
    tp(her, "cart_added", at("2026-11-10"), product_sku="B", product_name="Beta")
    tp(her, "cart_added", at("2026-11-10"), product_sku="A", product_name="Alpha")  # the same instant: by item
    tp(her, "complaint", at("2026-11-01"), channel="chat", properties={"text": "Missing button"})
    tp(her, "feedback_given", at("2026-11-01"), channel="sms", properties={"score": 7})
    tp(her, "store_visit", at("2026-11-01"), channel="store", store_code="LON01")
    tp(her, "cart_added", at("2026-11-01"), product_sku="D", product_name="Delta")
    for sku in ("SHIRT", "TIE"):  # one order's lines, listed as recorded
        tp(her, "purchased", at("2026-11-04"), order_id="O9", product_sku=sku, product_name=sku.title())
    tp(her, "product_viewed", at("2026-11-03"), channel="app")
    tp(her, "product_viewed", at("2026-11-02"), channel="app")

    with connection.cursor() as cursor:
        # A big batch's copy reads her touchpoints in the order they were written; a small one's, from the
        # timeline index, latest first, which would hide a missing sort.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        customers_refresh([her.pk])
        cursor.execute("SET LOCAL enable_indexscan TO DEFAULT")
        cursor.execute("SET LOCAL enable_bitmapscan TO DEFAULT")

    summary = summary_of(her)
    assert [item["name"] for item in summary.open_cart] == ["Alpha", "Beta", "Gamma", "Delta"]
    assert (summary.last_visit_store, summary.last_visit_at) == ("NYC01", at("2026-11-09"))
    assert [item["name"] for item in summary.last_purchase["items"]] == ["Shirt", "Tie"]
    # Web 6 times, the others 3 times each but the app twice: the latest used first.
    assert summary.channels == ["web", "chat", "sms", "store", "app"]
    assert (summary.last_feedback_score, summary.last_feedback_at) == (4, at("2026-11-11"))
    assert summary.open_complaint["text"] == "Wrong size again"


def test_an_open_complaint_shows_until_it_is_resolved():
    her = CustomerFactory()
    tp(her, "complaint", at("2026-11-10"), channel="call_center", properties={"text": "Sole came off after a week"})
    customers_refresh([her.pk])
    assert summary_of(her).open_complaint == {
        "at": "2026-11-10T12:00:00+00:00",
        "channel": "call_center",
        "text": "Sole came off after a week",
    }
    tp(her, "service_contact", at("2026-11-11"), channel="call_center", properties={"resolution": "replaced"})
    customers_refresh([her.pk])
    assert summary_of(her).open_complaint == {}


def test_the_feedback_score_written_by_the_feedback_app_survives_a_refresh():
    her = CustomerFactory()
    tp(her, "purchased", at("2026-11-01"))
    customers_refresh([her.pk])
    CustomerSummary.objects.filter(customer=her).update(last_feedback_score=9, last_feedback_at=at("2026-11-03"))
    customers_refresh([her.pk])
    assert summary_of(her).last_feedback_score == 9
    # A newer answer that arrives as a touchpoint replaces it.
    tp(her, "feedback_given", at("2026-11-05"), properties={"score": 3})
    customers_refresh([her.pk])
    assert (summary_of(her).last_feedback_score, summary_of(her).last_feedback_at) == (3, at("2026-11-05"))


def test_recent_intent_outranks_an_old_purchase_and_returns_count_against():
    her = CustomerFactory()
    tp(her, "purchased", at("2026-03-01"), brand="Oldbrand")  # ~268 days: 5 x 0.5^8.9 ~ 0.01
    tp(her, "product_viewed", at("2026-11-23"), brand="Newbrand")  # 1 x 0.5^(1.1/30) ~ 0.98
    tp(her, "wishlisted", at("2026-11-10"), brand="Midbrand")  # 3 x 0.5^(14.1/30) ~ 2.16
    tp(her, "purchased", at("2026-11-20"), product_name="Kept")
    tp(her, "purchased", at("2026-11-20"), product_name="Sent back")
    tp(her, "returned", at("2026-11-22"), product_name="Sent back")
    customers_refresh([her.pk])
    assert [label for label, _ in interests_of(her, "brand")] == ["Midbrand", "Newbrand", "Oldbrand"]
    assert [label for label, _ in interests_of(her, "product")] == ["Kept", "Sent back"]
    kept, sent_back = Interest.objects.filter(customer=her, kind="product").order_by("-score")
    assert sent_back.score < kept.score / 2
    assert sent_back.reason == "returned Sent back online on Nov 22; bought it online on Nov 20"


def test_merged_and_erased_customers_lose_their_derived_rows():
    survivor, absorbed = CustomerFactory(), CustomerFactory()
    tp(absorbed, "product_viewed", at("2026-11-20"), **TRAIL)
    customers_refresh([absorbed.pk])
    assert Interest.objects.filter(customer=absorbed).exists()
    Customer.objects.filter(pk=absorbed.pk).update(merged_into=survivor)
    customers_refresh([absorbed.pk, survivor.pk])
    assert not CustomerSummary.objects.filter(customer=absorbed).exists()
    assert not Interest.objects.filter(customer=absorbed).exists()
    assert CustomerSummary.objects.filter(customer=survivor).exists()


def test_a_live_touchpoint_refreshes_her_summary_after_commit(django_capture_on_commit_callbacks):
    her = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_record(customer=her, moment="store_visit", channel="store", store_code="PAR01")
    assert summary_of(her).visit_count == 1
    assert summary_of(her).last_visit_store == "PAR01"


def test_the_refresh_runs_the_same_statements_for_one_customer_or_many():
    def statements(customers):
        with CaptureQueriesContext(connection) as ctx:
            customers_refresh([c.pk for c in customers])
        return len(ctx.captured_queries)

    one = [CustomerFactory()]
    many = CustomerFactory.create_batch(30)
    for customer in one + many:
        tp(customer, "purchased", at("2026-11-01"), **TRAIL)
        tp(customer, "product_viewed", at("2026-11-02"), **TRAIL)
    assert statements(one) == statements(many)


def test_reasons_say_when_where_and_how_often_as_interest_reason_documents():
    her = CustomerFactory()
    tp(her, "product_viewed", at("2026-11-24", 9), channel="store", product_name="Kite")
    tp(her, "product_viewed", at("2026-11-23"), product_name="Lamp")
    tp(her, "purchased", at("2025-12-20"), product_name="Mug")
    tp(her, "purchased", at("2025-12-28"), product_name="Mug")
    tp(her, "cart_added", at("2026-11-20"), channel="app", size="9", product_name="Boot")
    tp(her, "wishlisted", at("2026-11-22"), channel="app", product_name="Boot")
    tp(her, "product_viewed", at("2026-11-10"), product_name="Cap")
    tp(her, "product_viewed", at("2026-11-12"), channel="store", product_name="Cap")

    customers_refresh([her.pk])

    assert dict(interests_of(her, "product")) == {
        "Kite": "viewed Kite in store today",
        "Lamp": "viewed Lamp online yesterday",
        "Mug": "bought Mug 2x online since Dec 20, 2025",
        "Boot": "wishlisted Boot on Nov 22; added size 9 to cart on Nov 20",
        "Cap": "viewed Cap 2x since Nov 10",
    }
    # The SQL that writes them and the readable reference agree.
    for label, reason in interests_of(her, "product"):
        rows = Touchpoint.objects.filter(customer=her, product_name=label)
        tallies = []
        for moment in {t.moment for t in rows}:
            mine = sorted((t for t in rows if t.moment == moment), key=lambda t: t.occurred_at)
            tallies.append(
                MomentTally(
                    moment,
                    len(mine),
                    mine[0].occurred_at,
                    mine[-1].occurred_at,
                    next((t.size for t in reversed(mine) if t.size), None),
                    all(t.channel in ("web", "app") for t in mine),
                    all(t.channel in ("store", "kiosk") for t in mine),
                )
            )
        assert interest_reason("product", label, tallies, now=NOW, tz=UTC) == reason


def test_an_interest_is_named_and_sized_as_its_latest_touchpoint_says():
    her = CustomerFactory()
    # Written newest first, so that neither the ids nor the rows' order on disk follow time.
    sku = {"product_sku": "TR3", "brand": "Stride"}
    tp(her, "cart_added", at("2026-11-23"), product_name="Trail Runner 3 GTX", category="Running Shoes", **sku)
    tp(her, "cart_added", at("2026-11-21"), size="10", product_name="Trail Runner 3", category="running shoes", **sku)
    tp(her, "cart_added", at("2026-11-02"), size="9", product_name="Trail Runner 3", category="running shoes", **sku)
    tp(her, "product_viewed", at("2026-10-30"), product_name="Trail Runner", category="RUNNING", **sku)

    customers_refresh([her.pk])

    assert interests_of(her, "product") == [
        ("Trail Runner 3 GTX", "added Trail Runner 3 GTX (size 10) to cart 3x since Nov 2; viewed it online on Oct 30")
    ]
    assert interests_of(her, "category")[0][0] == "Running Shoes"
    assert interests_of(her, "brand") == [("Stride", "added Stride to cart 3x since Nov 2; viewed it online on Oct 30")]


def test_reasons_said_this_week_are_rewritten_by_the_nightly_task_and_old_ones_left_alone():
    recent, old = CustomerFactory(), CustomerFactory()
    for day in ("2026-11-23", "2026-11-24"):
        tp(recent, "product_viewed", at(day, 9), **TRAIL)
    tp(old, "product_viewed", at("2026-09-01"), **TRAIL)
    customers_refresh([recent.pk, old.pk])
    assert interests_of(recent, "product") == [("Trail Runner 3", "viewed Trail Runner 3 2x online this week")]

    with time_machine.travel(datetime(2026, 12, 2, 0, 20, tzinfo=UTC), tick=False):  # next Wednesday, 00:20
        assert recent_interests_refresh() == 1  # only she can have relative words
    assert interests_of(recent, "product") == [("Trail Runner 3", "viewed Trail Runner 3 2x online since Nov 23")]
    assert interests_of(old, "product") == [("Trail Runner 3", "viewed Trail Runner 3 online on Sep 1")]


def _derived_rows(ids):
    summaries = list(CustomerSummary.objects.filter(customer_id__in=ids).order_by("customer_id").values())
    for row in summaries:
        row.pop("updated_at")
    interests = list(
        Interest.objects.filter(customer_id__in=ids)
        .order_by("customer_id", "kind", "key")
        .values_list("customer_id", "kind", "key", "label", "score", "reason", "last_at")
    )
    lifecycles = list(Customer.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "lifecycle"))
    return summaries, interests, lifecycles


@pytest.mark.django_db(transaction=True)
def test_a_refresh_split_over_two_connections_writes_what_one_connection_writes(monkeypatch):
    customers = [CustomerFactory() for _ in range(6)]
    for n, her in enumerate(customers):
        tp(her, "purchased", at(f"2026-11-0{n + 1}"), channel="store", store_code="PAR01", order_id=f"o{n}",
           revenue=Decimal("120.00"), currency="EUR", size="9", **TRAIL)  # fmt: skip
        tp(her, "cart_added", at("2026-11-20"), size="10", **TRAIL)
        tp(her, "product_viewed", at("2026-11-23"), product_name=f"Shoe {n}", category="Sneakers")
    ids = [c.pk for c in customers]
    customers_refresh(ids)
    serial = _derived_rows(ids)
    CustomerSummary.objects.all().delete()
    Interest.objects.all().delete()
    Customer.objects.update(lifecycle="prospect")

    threads = []
    one_chunk = derived._refresh_on_own_connection

    def recorded(chunk):
        threads.append(threading.current_thread().name)
        one_chunk(chunk)

    monkeypatch.setattr(derived, "PARALLEL_MIN", 2)
    monkeypatch.setattr(derived, "_refresh_on_own_connection", recorded)
    customers_refresh(ids, workers=2)
    assert len(threads) == 2 and all(name.startswith("refresh") for name in threads)
    assert _derived_rows(ids) == serial
    assert serial[0] and serial[1] and {lifecycle for _, lifecycle in serial[2]} == {"new"}


def test_deleting_a_customer_still_removes_her_identifiers_summary_and_interests():
    # These tables carry no database foreign key (the import's commit checked ~1.7M rows): the ORM cascades.
    her, other = CustomerFactory(), CustomerFactory()
    for customer in (her, other):
        customer.identifiers.create(kind="email", value=f"c{customer.pk}@example.com")
        tp(customer, "cart_added", at("2026-11-20"), **TRAIL)
    customers_refresh([her.pk, other.pk])
    assert Interest.objects.filter(customer=her).exists() and CustomerSummary.objects.filter(customer=her).exists()

    her.delete()

    for model in (Interest, CustomerSummary, Identifier):
        assert not model.objects.filter(customer_id=her.pk).exists(), model.__name__
        assert model.objects.filter(customer=other).exists(), model.__name__


def test_deleting_a_source_still_clears_it_from_the_identifiers_it_wrote():
    # No database foreign key either (its check at commit was ~1.8 s of a 1M-row import): the ORM sets null.
    feed, other = SourceFactory(), SourceFactory()
    her = CustomerFactory()
    mine = her.identifiers.create(kind="email", value="her@example.com", source=feed)
    kept = her.identifiers.create(kind="phone", value="+12125550134", source=other)

    feed.delete()

    mine.refresh_from_db()
    kept.refresh_from_db()
    assert (mine.source_id, kept.source_id) == (None, other.pk)


@pytest.mark.django_db(transaction=True)  # outside a transaction: a refresh inside one stays on its connection
def test_a_parallel_refresh_splits_into_equal_chunks_a_multiple_of_the_workers(monkeypatch):
    chunks = []
    monkeypatch.setattr(derived, "PARALLEL_MIN", 2)
    monkeypatch.setattr(derived, "BATCH_SIZE", 4)
    monkeypatch.setattr(derived, "_refresh_on_own_connection", chunks.append)
    customers_refresh(range(1, 11), workers=2)  # 10 customers, at most 4 a chunk: 3 chunks would idle a worker
    assert sorted(chunks) == [[1, 2], [3, 4, 5], [6, 7], [8, 9, 10]]


def test_a_new_lifecycle_leaves_the_customer_indexes_alone():
    """The customers table keeps room on its pages (migration ``customer_fillfactor``): a lifecycle change is an
    in-page (HOT) update, not a new entry in each of her indexes, ~27 search tokens among them."""
    source = SourceFactory(name="pos")
    people = Customer.objects.bulk_create(Customer(first_name=f"Ann{n}", last_name="Example") for n in range(600))
    buyers = people[::3]  # a third buy, as in the import benchmark's file
    Touchpoint.objects.bulk_create(
        Touchpoint(source=source, external_id=f"buy{p.pk}", customer=p, occurred_at=at("2026-11-20"),
                   channel="store", moment="purchased")
        for p in buyers
    )  # fmt: skip
    stats = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'profiles_customer'"
    with connection.cursor() as cursor:
        cursor.execute(stats)
        updates_before, hot_before = cursor.fetchone()

        customers_refresh([p.pk for p in people])

        cursor.execute(stats)
        updates, hot = cursor.fetchone()
    assert Customer.objects.filter(lifecycle="new").count() == len(buyers)
    assert updates - updates_before == len(buyers)
    assert hot - hot_before >= 0.9 * len(buyers)
