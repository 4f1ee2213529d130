"""Identity resolution: merges that say why and can be undone, and the guards against gluing people together."""

from __future__ import annotations

import pytest

from profiles import imports
from profiles.identity import customer_merge, identifiers_tombstone, merge_undo
from profiles.imports import import_file
from profiles.models import Customer, Identifier, MatchReview, Merge, Note, RejectedRow, Touchpoint
from tests.factories import CustomerFactory, IdentifierFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "event_id,occurred_at,event,customer_id,email,phone,loyalty_id,store_code"


@pytest.fixture
def pos(store):
    return SourceFactory(name="pos", kind="store")


@pytest.fixture(params=["array", "copy"])
def lookup(request, monkeypatch):
    """Known identifiers are looked up by an array in the query (a few) or by COPY (a big file's window)."""
    if request.param == "copy":
        monkeypatch.setattr("profiles.identity.LOOKUP_COPY_MIN", 0)
    return request.param


def feed(tmp_path, name: str, *lines: str):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_a_row_linking_two_customers_merges_them_and_records_which_identifier_and_row(tmp_path, pos, lookup):
    import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,,ann@example.com,,,PAR01"))
    import_file(source=pos, path=feed(tmp_path, "b.csv", "b,2024-05-02,purchased,,,,L-77,PAR01"))
    older, newer = Customer.objects.order_by("pk")

    job = import_file(source=pos, path=feed(tmp_path, "c.csv", "c,2024-05-03,store_visit,,ann@example.com,,L-77,PAR01"))

    assert job.summary_line() == "rows=1 imported=1 updated=0 duplicates=0 rejected=0"
    merge = Merge.objects.get()
    assert (merge.survivor, merge.absorbed) == (older, newer)  # the older profile survives
    assert merge.identifier_kind == "email" and merge.identifier_value == "ann@example.com"
    assert merge.source == pos and merge.source_ref == "c.csv:2"
    assert merge.reason == "line 2 has loyalty_id L-77 of one customer and email ann@example.com of the other"
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {older.pk}
    assert Identifier.objects.filter(customer=older).count() == 2
    assert len(merge.moved["touchpoints"]) == 1 and len(merge.moved["identifiers"]) == 1


def test_undoing_a_merge_restores_identifiers_touchpoints_notes_and_fields(db):
    survivor = CustomerFactory(first_name="Ann", last_name="")
    absorbed = CustomerFactory(first_name="Annie", last_name="Lee")
    kept = IdentifierFactory(customer=survivor, value="ann@example.com")
    moved = IdentifierFactory(customer=absorbed, kind="phone", value="+33612345678")
    source = SourceFactory(name="crm")
    touchpoint = Touchpoint.objects.create(
        source=source,
        external_id="t1",
        customer=absorbed,
        occurred_at="2024-05-01T10:00Z",
        channel="web",
        moment="signed_in",
    )
    note = Note.objects.create(customer=absorbed, text="Prefers the fitting room by the window")
    admin = UserFactory()

    merge = customer_merge(
        survivor=survivor,
        absorbed=absorbed,
        reason="same person",
        identifier_kind="phone",
        identifier_value="+33612345678",
    )
    survivor.refresh_from_db()
    assert survivor.last_name == "Lee"  # blank fields are filled from the absorbed profile
    assert Touchpoint.objects.get().customer_id == survivor.pk and Note.objects.get().customer_id == survivor.pk

    merge_undo(merge=merge, by=admin)

    survivor.refresh_from_db()
    absorbed.refresh_from_db()
    assert absorbed.merged_into is None and survivor.last_name == ""
    assert Identifier.objects.get(pk=moved.pk).customer_id == absorbed.pk
    assert Identifier.objects.get(pk=kept.pk).customer_id == survivor.pk
    assert Touchpoint.objects.get(pk=touchpoint.pk).customer_id == absorbed.pk
    assert Note.objects.get(pk=note.pk).customer_id == absorbed.pk
    merge.refresh_from_db()
    assert merge.undone_at and merge.undone_by == admin
    with pytest.raises(ValueError, match="already undone"):
        merge_undo(merge=merge, by=admin)


def test_after_an_undo_the_next_import_linking_the_two_sends_them_to_review_instead(tmp_path, pos):
    import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,,ann@example.com,,,PAR01"))
    import_file(source=pos, path=feed(tmp_path, "b.csv", "b,2024-05-02,purchased,,,,L-77,PAR01"))
    import_file(source=pos, path=feed(tmp_path, "c.csv", "c,2024-05-03,purchased,,ann@example.com,,L-77,PAR01"))
    merge_undo(merge=Merge.objects.get(), by=None)

    import_file(source=pos, path=feed(tmp_path, "d.csv", "d,2024-05-04,purchased,,ann@example.com,,L-77,PAR01"))

    assert Merge.objects.count() == 1
    assert Customer.objects.live().count() == 2


def test_placeholder_values_never_link_anyone(tmp_path, pos):
    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,noemail@store.com,0000000000,L-1,PAR01",
            "b,2024-05-01,purchased,,noemail@store.com,0000000000,L-2,PAR01",
            "c,2024-05-01,purchased,,test@test.com,,L-3,PAR01",
            "d,2024-05-01,purchased,,null,,L-4,PAR01",
            "e,2024-05-01,purchased,,anonymous,,,PAR01",
        ),
    )
    assert Customer.objects.count() == 4 and not Merge.objects.exists()
    assert not Identifier.objects.exclude(kind="loyalty_id").exists()
    assert job.rejected == 1 and RejectedRow.objects.get().reason.startswith("no identifier")


def test_the_blocked_placeholder_list_is_configurable(tmp_path, pos, settings):
    settings.IDENTIFIER_PLACEHOLDERS = {"email": ["frontdesk@maison.fr"], "phone": [], "any": []}
    import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,frontdesk@maison.fr,,L-1,PAR01",
            "b,2024-05-01,purchased,,frontdesk@maison.fr,,L-2,PAR01",
        ),
    )
    assert Customer.objects.count() == 2 and not Identifier.objects.filter(kind="email").exists()


def test_the_stores_own_phone_does_not_chain_customers_together_and_goes_to_review(tmp_path, pos):
    store_phone = "01 42 00 00 01"
    lines = [f"e{i},2024-05-0{i + 1},purchased,,client{i}@example.com,{store_phone},,PAR01" for i in range(4)]
    job = import_file(source=pos, path=feed(tmp_path, "a.csv", *lines))

    assert job.imported == 4 and not Merge.objects.exists()
    assert Customer.objects.count() == 4
    assert Identifier.objects.get(kind="phone").customer.identifiers.filter(kind="email").count() == 1
    reviews = MatchReview.objects.filter(kind="shared_value")
    assert reviews.count() == 3
    assert all("+33142000001" in review.reason and "email" in review.reason for review in reviews)
    # each purchase stays with the person whose email was on the row
    for touchpoint in Touchpoint.objects.all():
        email = Identifier.objects.get(customer=touchpoint.customer, kind="email").value
        assert email == f"client{touchpoint.external_id[1:]}@example.com"


def test_a_family_email_shared_by_two_loyalty_members_does_not_merge_them(tmp_path, pos, settings):
    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,family@example.com,,L-1,PAR01",
            "b,2024-05-02,purchased,,family@example.com,,L-2,PAR01",
        ),
    )
    assert job.imported == 2 and Customer.objects.count() == 2
    assert "loyalty_id" in MatchReview.objects.get().reason


def test_the_shared_value_limit_is_per_kind_and_configurable(tmp_path, pos, settings):
    settings.IDENTITY_SHARED_VALUE_LIMIT = {"email": 2}
    import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,C1,ann@example.com,,,PAR01",
            "b,2024-05-02,purchased,C1,ann.lee@work.example,,,PAR01",
            "c,2024-05-03,purchased,C1,third@example.com,,,PAR01",
        ),
    )
    first = Identifier.objects.get(kind="customer_id").customer
    assert first.identifiers.filter(kind="email").count() == 2
    assert Customer.objects.count() == 2 and MatchReview.objects.count() == 1


def test_the_shared_value_limit_counts_what_a_known_customer_already_holds(tmp_path, pos, lookup):
    import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,C1,ann@example.com,,,PAR01"))
    known = Customer.objects.get()

    job = import_file(source=pos, path=feed(tmp_path, "b.csv", "b,2024-05-02,purchased,C1,second@example.com,,,PAR01"))

    # She holds one email already (the limit): the second goes to a profile of its own, for review.
    assert job.rejected == 0 and Customer.objects.count() == 2
    assert list(known.identifiers.filter(kind="email").values_list("value", flat=True)) == ["ann@example.com"]
    review = MatchReview.objects.get()
    assert known.pk in (review.customer_a_id, review.customer_b_id) and "email limit" in review.reason


def test_rows_of_an_erased_customer_are_rejected_and_never_recreate_her(tmp_path, pos, lookup):
    import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,C9,gone@example.com,,,PAR01"))
    customer = Customer.objects.get()
    identifiers_tombstone(customer_ids=[customer.pk])
    Touchpoint.objects.all().delete()
    customer.delete()

    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "b.csv",
            "a,2024-05-01,purchased,,gone@example.com,,,PAR01",
            "b,2024-05-01,purchased,,someone@example.com,,,PAR01",
        ),
    )
    assert (job.imported, job.rejected) == (1, 1)
    rejected = RejectedRow.objects.get()
    assert (rejected.reason, rejected.raw) == ("erased customer", "[erased]")  # the row would name her again
    assert not Identifier.objects.filter(value="gone@example.com").exists()


def test_rows_pointing_at_a_customer_marked_erased_are_rejected(tmp_path, pos, lookup):
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, value="gone@example.com")
    Customer.objects.filter(pk=customer.pk).update(erased_at="2024-01-01T00:00Z")
    job = import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,,GONE@example.com,,,PAR01"))
    assert job.rejected == 1 and not Touchpoint.objects.exists()


def test_look_alike_customers_are_suggested_for_review_and_never_merged(db):
    from profiles.identity import duplicate_suggestions_refresh

    kate = CustomerFactory(first_name="Kate", last_name="Morel", postal_code="75003")
    katherine = CustomerFactory(first_name="Katherine", last_name="morel", postal_code="75003")
    ana = CustomerFactory(first_name="Ana", last_name="Silva", birthday_month=4, birthday_day=12)
    anna = CustomerFactory(first_name="Anna", last_name="Silva", birthday_month=4, birthday_day=12)
    IdentifierFactory(customer=CustomerFactory(first_name="Leo", last_name="Blanc"), kind="phone", value="+33612341234")
    IdentifierFactory(customer=CustomerFactory(first_name="Léo", last_name="Blanc"), kind="phone", value="+33698761234")
    CustomerFactory(first_name="Kate", last_name="Morel", postal_code="69001")  # same name, nothing else shared
    CustomerFactory(first_name="Paul", last_name="Silva", birthday_month=4, birthday_day=12)  # another first name

    assert duplicate_suggestions_refresh() == 3
    reviews = MatchReview.objects.filter(kind="fuzzy").order_by("pk")
    pairs = {(r.customer_a_id, r.customer_b_id) for r in reviews}
    assert (kate.pk, katherine.pk) in pairs and (ana.pk, anna.pk) in pairs
    assert {r.reason.split(" and ")[-1] for r in reviews} == {"same postal code", "same birthday", "same phone ending"}
    assert not Merge.objects.exists() and Customer.objects.filter(merged_into__isnull=False).count() == 0
    assert duplicate_suggestions_refresh() == 0  # never suggested twice


def test_a_chain_of_merges_in_one_batch_ends_in_the_oldest_profile_and_each_step_can_be_undone(tmp_path, pos, lookup):
    import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,ann@example.com,,,PAR01",
            "b,2024-05-01,purchased,,,,L-1,PAR01",
            "c,2024-05-01,purchased,C-1,,,,PAR01",
        ),
    )
    ann, loyal, crm = Customer.objects.order_by("pk")
    import_file(
        source=pos,
        path=feed(
            tmp_path,
            "b.csv",
            "d,2024-05-02,purchased,,ann@example.com,,L-1,PAR01",
            "e,2024-05-02,purchased,C-1,,,L-1,PAR01",
        ),
    )
    merges = list(Merge.objects.order_by("absorbed_id"))
    assert [(m.survivor_id, m.absorbed_id) for m in merges] == [(ann.pk, loyal.pk), (ann.pk, crm.pk)]
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {ann.pk}
    assert Customer.objects.live().get() == ann

    merge_undo(merge=merges[1], by=None)
    assert set(Touchpoint.objects.filter(customer=crm).values_list("external_id", flat=True)) == {"c"}
    assert Identifier.objects.get(kind="customer_id").customer == crm


def test_one_person_seen_by_email_then_loyalty_id_then_both_across_batches_is_created_once(tmp_path, pos, settings):
    settings.IMPORT_BATCH_SIZE = 1  # one row per batch: identity is resolved over the whole file first
    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,ann@example.com,,,PAR01",
            "b,2024-05-01,purchased,,,,L-1,PAR01",
            "c,2024-05-02,purchased,,ann@example.com,,L-1,PAR01",
            "d,2024-05-03,purchased,,,,L-1,PAR01",
            "e,2024-05-03,purchased,,ann@example.com,,,PAR01",
        ),
    )
    assert job.imported == 5 and Merge.objects.count() == 0  # nobody to merge: she is new to the database
    customer = Customer.objects.get()
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {customer.pk}
    assert set(customer.identifiers.values_list("kind", flat=True)) == {"email", "loyalty_id"}


def test_a_person_who_spans_two_planning_windows_of_a_big_file_is_merged_once_and_ends_whole(tmp_path, pos, settings):
    settings.IMPORT_BATCH_SIZE = 1
    settings.IMPORT_PLAN_BATCHES = 2  # identities are resolved two rows at a time: memory stays bounded
    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,ann@example.com,,,PAR01",
            "b,2024-05-02,purchased,,,,L-1,PAR01",
            "c,2024-05-03,purchased,,ann@example.com,,L-1,PAR01",
            "d,2024-05-04,purchased,,,,L-1,PAR01",
            "e,2024-05-05,purchased,,ann@example.com,,,PAR01",
        ),
    )
    # Windows (a, b), (c, d), (e): the first creates Ann by email and a loyalty-id profile it cannot link
    # to her; the second links them (one merge, as between any two customers already in the database).
    assert job.imported == 5 and job.rows == 5
    assert Merge.objects.count() == 1
    survivor = Customer.objects.live().get()
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert set(survivor.identifiers.values_list("kind", flat=True)) == {"email", "loyalty_id"}


def test_rows_after_a_merge_in_an_earlier_batch_of_the_same_file_go_to_the_survivor(tmp_path, pos, settings):
    import_file(source=pos, path=feed(tmp_path, "a.csv", "a,2024-05-01,purchased,,ann@example.com,,,PAR01"))
    import_file(source=pos, path=feed(tmp_path, "b.csv", "b,2024-05-01,purchased,,,,L-1,PAR01"))
    settings.IMPORT_BATCH_SIZE = 1
    job = import_file(
        source=pos,
        path=feed(
            tmp_path,
            "c.csv",
            "c,2024-05-02,purchased,,ann@example.com,,L-1,PAR01",
            "d,2024-05-03,purchased,,,,L-1,PAR01",
            "e,2024-05-03,purchased,,ann@example.com,,,PAR01",
        ),
    )
    assert job.imported == 3 and Merge.objects.count() == 1  # the two customers already in are merged
    survivor = Customer.objects.live().get()
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {survivor.pk}


def test_a_merge_made_by_someone_else_mid_file_sends_the_remaining_rows_to_the_survivor(
    tmp_path, pos, settings, monkeypatch
):
    older = CustomerFactory()
    IdentifierFactory(customer=older, kind="loyalty_id", value="L-9")
    settings.IMPORT_BATCH_SIZE = 1
    real_commit = imports._commit_batch
    calls = {"n": 0}

    def admin_merges_after_the_first_batch(job, *args, **kwargs):
        real_commit(job, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            ann = Identifier.objects.get(kind="email").customer
            customer_merge(survivor=older, absorbed=ann, reason="same person", identifier_kind="email",
                           identifier_value="ann@example.com")  # fmt: skip

    monkeypatch.setattr(imports, "_commit_batch", admin_merges_after_the_first_batch)
    import_file(
        source=pos,
        path=feed(
            tmp_path,
            "a.csv",
            "a,2024-05-01,purchased,,ann@example.com,,,PAR01",
            "b,2024-05-02,purchased,,ann@example.com,,,PAR01",
            "c,2024-05-03,purchased,,ann@example.com,+33612345678,,PAR01",
        ),
    )
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {older.pk}
    assert Identifier.objects.get(kind="phone").customer == older
