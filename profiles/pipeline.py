"""The one batch pipeline every channel goes through: files (CSV, JSONL) and HTTP events alike.

Per batch, in one transaction: resolve identities for the whole batch (a few set-based queries), create
the new customers and identifiers, apply traits and consent to the known ones, and COPY the touchpoints
straight into their table. A file import first resolves and writes the identities of the whole file in one
transaction (``identity_write``) and then hands each batch its share of that plan: the person who shows
up by email in one batch, by phone in the next and by both in a third is created once instead of three
times and merged twice. Once a batch meets an event id already there (that COPY then rolls back to a
savepoint), the job COPYs into a temporary staging table and moves the rows with one ``INSERT ... SELECT
... ON CONFLICT DO NOTHING``: the (source, external_id) key makes every re-import a no-op and its row count
tells imported from duplicates.

Counting (README "Imports"): a row with an event is *imported* when its touchpoint is new, a *duplicate*
when that event id was already there. A profile-only row (identify, alias, page, or a CSV row without an
``event``) is *imported* when it created the customer, *updated* when it changed a known customer (a new
identifier, a merge, a new name or consent; also a row adding to a customer created earlier in the same
batch), and a *duplicate* when it told us nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from profiles.events import ChannelRow
from profiles.identity import EPOCH_SQL, IDENTITY_LOCK, BatchResolver, IdentityCache, Resolution
from profiles.models import Source

STAGE_COLUMNS = (
    "external_id, customer_id, occurred_at, channel, moment, event, store_code, associate_code, order_id, "
    "product_sku, product_name, category, brand, size, color, quantity, price, revenue, currency, properties"
)
# The Python types of ``_touchpoint_values``'s columns (source_id and created_at first), told to the COPY once:
# psycopg then skips choosing a dumper for every value (~0.7 of ~3 us per row of Python, measured). Amounts
# and properties are already checked text, which PostgreSQL parses into numeric and jsonb itself, and so are
# the times: psycopg's timestamptz dumper costs ~1.1 us per value, the file's own text nothing
# (``python -m bench.copy_types_probe``).
STAGE_TYPES = ["int8", "text", "text", "int8", "text", *["text"] * 12, "int4", *["text"] * 4]


@dataclass
class ImportSession:
    """What one job remembers between its batches: owners of identifiers, traits already applied."""

    identity: IdentityCache = field(default_factory=IdentityCache)
    traits: dict[int, dict] = field(default_factory=dict)
    # Until a batch meets an event id that is already in, touchpoints are COPYed straight into their table.
    all_new_so_far: bool = True
    # The identity epoch the file's plan was written under (``identity_write``); None once another writer
    # merged, undid a merge or erased someone since: the remaining batches then resolve themselves.
    planned_epoch: tuple | None = None
    # A window created enough customers to make the planner's statistics stale (``imports._plan_commit``).
    tables_grown: bool = False


def identity_write(
    *, source: Source, rows: list[ChannelRow], source_ref: str, session: ImportSession, ready=None
) -> Resolution:
    """Resolve and write the identities of all these rows at once (call inside a transaction).

    The same resolution a batch makes (owners looked up in a few set-based queries, then an in-memory
    union-find in row order, with the placeholder blocklist, the shared-value limits and the review list),
    over the whole file: a person first seen by email, then by phone, then by both is one new customer, and
    a merge is made only when the file links two customers who were already in the database. New customers
    are created with the latest traits and consent of all their rows. Returns the plan that ``plan_split``
    cuts into the batches' shares. ``ready`` is ``BatchResolver.apply``'s: told the plan before its writes.
    """
    assert connection.in_atomic_block, "identity_write must run inside transaction.atomic()"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IDENTITY_LOCK])
    resolver = BatchResolver(source=source, source_ref=source_ref, cache=session.identity)
    resolution = resolver.resolve(rows)
    if rows:
        resolver.apply(rows, resolution, ready)
    session.planned_epoch = session.identity.epoch
    return resolution


def plan_split(plan: Resolution, sizes: list[int]) -> list[Resolution]:
    """The share of each batch (``sizes`` rows each, in order) of a whole-file plan, with batch-local row
    indexes. Every share names all the file's new customers: they were created with the file's traits."""
    starts, total = [], 0
    for size in sizes:
        starts.append(total)
        total += size
    shares = [
        Resolution(customer_of=plan.customer_of[start : start + size], new_customers=plan.new_customers)
        for start, size in zip(starts, sizes, strict=True)
    ]
    share_of = [n for n, size in enumerate(sizes) for _ in range(size)]
    for index, reason in plan.rejected.items():
        shares[share_of[index]].rejected[index - starts[share_of[index]]] = reason
    for index in plan.created_rows:
        shares[share_of[index]].created_rows.add(index - starts[share_of[index]])
    for index in plan.changed_rows:
        shares[share_of[index]].changed_rows.add(index - starts[share_of[index]])
    return shares


@dataclass
class BatchResult:
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row index, reason)
    customers: set[int] = field(default_factory=set)
    merges: int = 0
    reviews: int = 0


def batch_write(
    *,
    source: Source,
    rows: list[ChannelRow],
    source_ref: str,
    session: ImportSession | None = None,
    planned: Resolution | None = None,
    plan_held: bool = False,
) -> BatchResult:
    """Write one batch of checked rows. Call inside a transaction (the caller commits counts with it).

    ``planned`` is this batch's share of the file's identity plan (already written by ``identity_write``);
    it is used only while nobody else has merged, undone a merge or erased anyone since, otherwise the batch
    resolves its rows itself, as a batch without a plan does. ``plan_held``: the plan's own transaction is
    still open on another connection of this job and holds the identity lock, so nobody can have changed
    anything since; the caller commits this batch only after that transaction has committed.
    """
    session = session or ImportSession()
    assert connection.in_atomic_block, "batch_write must run inside transaction.atomic()"
    assert planned is not None or not plan_held, "plan_held needs the plan's share"
    result = BatchResult()
    if not rows:
        return result
    if not plan_held:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IDENTITY_LOCK])
            if planned is not None and session.planned_epoch is not None:
                cursor.execute(EPOCH_SQL)
                if cursor.fetchone() != session.planned_epoch:
                    session.planned_epoch = None  # for the rest of the file too: its plan may be stale

    if planned is not None and (plan_held or session.planned_epoch is not None):
        resolution = planned
    else:
        planned = None
        resolver = BatchResolver(source=source, source_ref=source_ref, cache=session.identity)
        resolution = resolver.resolve(rows)
        resolver.apply(rows, resolution)
    result.rejected = sorted(resolution.rejected.items())
    result.merges = len(resolution.merges)
    result.reviews = resolution.reviews
    customer_of = resolution.customer_of

    for merge in resolution.merges:
        # A merge may fill the survivor's blanks and take the absorbed profile's newer consent: forget what
        # this job wrote for the two of them (clearing everyone emptied the memo in nearly every batch).
        session.traits.pop(merge.survivor_id, None)
        session.traits.pop(merge.absorbed_id, None)
    changed_customers = _traits_apply(source, rows, customer_of, resolution.new_customers, session.traits)

    events = [i for i, row in enumerate(rows) if row.moment and customer_of[i] is not None]
    if events:
        inserted, with_new_touchpoints = _touchpoints_insert(source, rows, customer_of, events, session)
        result.imported += inserted
        result.duplicates += len(events) - inserted
        result.customers |= with_new_touchpoints
    for index, row in enumerate(rows):
        if row.moment or customer_of[index] is None:
            continue
        customer = customer_of[index]
        if customer in resolution.new_customers:
            if index in resolution.created_rows:
                result.imported += 1
            elif index in resolution.changed_rows or row.traits or row.consents:
                result.updated += 1
            else:
                result.duplicates += 1
        elif index in resolution.changed_rows or customer in changed_customers:
            result.updated += 1
        else:
            result.duplicates += 1

    # Derived data is refreshed only for customers something happened to (a re-sent file touches nobody).
    # A plan's new customers and merges are the caller's to count (``identity_write`` made them).
    result.customers |= changed_customers if planned is not None else resolution.new_customers | changed_customers
    result.customers.update(customer_of[i] for i in resolution.changed_rows if customer_of[i] is not None)
    for merge in resolution.merges:
        result.customers.update((merge.survivor_id, merge.absorbed_id))
    return result


def _traits_apply(
    source: Source, rows: list[ChannelRow], customer_of: list, new_customers: set[int], applied: dict[int, dict]
) -> set[int]:
    """Names, birthday, postal code and consent from the rows onto known customers; returns who changed.

    Non-blank values overwrite (the latest row of the batch wins); a consent answer applies only if it is
    at least as recent as the one on file, so replaying an old file never undoes a newer choice.
    """
    latest: dict[int, dict] = {}
    for row, customer in zip(rows, customer_of, strict=True):
        traits, consents = row.traits, row.consents
        if not (traits or consents):
            continue
        # New customers were created with these values (a fresh file is nearly all of them): nothing to
        # gather. A later batch's rows of theirs go through the UPDATE's own unchanged-row check.
        if customer is None or customer in new_customers:
            continue
        data = latest.get(customer)
        if data is None:
            # A row that only repeats what this job already wrote for her is skipped here, before anything is
            # gathered: a file sent again repeats every name and consent. (Not once the batch has gathered a
            # row of hers: then this one, the latest, must still win.)
            # (Items views compare in C, with no generator per row: 1M re-sent rows, 4.3-4.4 -> 4.0-4.1 s.)
            known = applied.get(customer)
            if known is not None and traits.items() <= known.items() and consents.items() <= known.items():
                continue
            data = latest[customer] = {}
        data.update(traits)
        for purpose, granted in consents.items():
            data[purpose] = (granted, row.occurred_at)
    for customer, data in list(latest.items()):
        # What this job already wrote for her needs no UPDATE (most rows repeat the same name and consent).
        values = {k: (v[0] if isinstance(v, tuple) else v) for k, v in data.items()}
        known = applied.get(customer)
        if known is not None and values.items() <= known.items():
            del latest[customer]
        else:
            applied[customer] = {**known, **values} if known else values
    if len(applied) > 1_000_000:
        applied.clear()
    if not latest:
        return set()
    columns: dict[str, list] = {
        name: []
        for name in (
            "id",
            "first_name",
            "last_name",
            "postal_code",
            "birthday_month",
            "birthday_day",
            *(f"c_{p}" for p in ("recognition", "email", "sms", "surveys")),
            *(f"c_{p}_at" for p in ("recognition", "email", "sms", "surveys")),
        )
    }
    for customer, data in latest.items():
        columns["id"].append(customer)
        for name in ("first_name", "last_name", "postal_code", "birthday_month", "birthday_day"):
            columns[name].append(data.get(name))
        for purpose in ("recognition", "email", "sms", "surveys"):
            granted, at = data.get(purpose, (None, None))
            columns[f"c_{purpose}"].append(granted)
            columns[f"c_{purpose}_at"].append(at)

    consent_sets, consent_changed = [], []
    for p in ("recognition", "email", "sms", "surveys"):
        applies = f"(t.c_{p} IS NOT NULL AND t.c_{p} IS DISTINCT FROM c.consent_{p} AND (c.consent_{p}_at IS NULL OR t.c_{p}_at IS NULL OR t.c_{p}_at >= c.consent_{p}_at))"
        consent_changed.append(applies)
        consent_sets.append(
            f"consent_{p} = CASE WHEN {applies} THEN t.c_{p} ELSE c.consent_{p} END, "
            f"consent_{p}_source = CASE WHEN {applies} THEN %(source)s ELSE c.consent_{p}_source END, "
            f"consent_{p}_at = CASE WHEN {applies} THEN coalesce(t.c_{p}_at, now()) ELSE c.consent_{p}_at END"
        )
    text_changed = [
        f"(t.{name} IS NOT NULL AND t.{name} <> '' AND t.{name} IS DISTINCT FROM c.{name})"
        for name in ("first_name", "last_name", "postal_code")
    ] + [
        f"(t.{name} IS NOT NULL AND t.{name} IS DISTINCT FROM c.{name})" for name in ("birthday_month", "birthday_day")
    ]
    sql = f"""
        UPDATE profiles_customer c SET
            first_name = coalesce(nullif(t.first_name, ''), c.first_name),
            last_name = coalesce(nullif(t.last_name, ''), c.last_name),
            postal_code = coalesce(nullif(t.postal_code, ''), c.postal_code),
            birthday_month = coalesce(t.birthday_month, c.birthday_month),
            birthday_day = coalesce(t.birthday_day, c.birthday_day),
            {", ".join(consent_sets)},
            updated_at = now()
        FROM unnest(
            %(id)s::bigint[], %(first_name)s::varchar[], %(last_name)s::varchar[], %(postal_code)s::varchar[],
            %(birthday_month)s::int[], %(birthday_day)s::int[],
            %(c_recognition)s::bool[], %(c_email)s::bool[], %(c_sms)s::bool[], %(c_surveys)s::bool[],
            %(c_recognition_at)s::timestamptz[], %(c_email_at)s::timestamptz[], %(c_sms_at)s::timestamptz[],
            %(c_surveys_at)s::timestamptz[]
        ) AS t(id, first_name, last_name, postal_code, birthday_month, birthday_day,
               c_recognition, c_email, c_sms, c_surveys, c_recognition_at, c_email_at, c_sms_at, c_surveys_at)
        WHERE c.id = t.id AND ({" OR ".join(text_changed + consent_changed)})
        RETURNING c.id
    """  # noqa: S608 - only constant column names are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, {**columns, "source": source.name[:100]})
        return {row[0] for row in cursor.fetchall()}


def _touchpoint_values(source: Source, rows: list[ChannelRow], customer_of: list, events: list[int], now):
    created_at = now.isoformat()
    for i in events:
        r = rows[i]
        yield (
            source.pk,
            created_at,
            r.external_id,
            customer_of[i],
            r.occurred_text or r.occurred_at.isoformat(),
            r.channel,
            r.moment,
            r.event,
            r.store_code,
            r.associate,
            r.order_id,
            r.product_sku,
            r.product_name,
            r.category,
            r.brand,
            r.size,
            r.color,
            r.quantity,
            r.price,
            r.revenue,
            r.currency,
            r.properties,
        )


def _touchpoints_copy(cursor, table: str, source: Source, rows, customer_of: list, events: list[int], now) -> None:
    with cursor.copy(f"COPY {table} (source_id, created_at, {STAGE_COLUMNS}) FROM STDIN") as copy:
        copy.set_types(STAGE_TYPES)
        for values in _touchpoint_values(source, rows, customer_of, events, now):
            copy.write_row(values)


def _touchpoints_insert(
    source: Source, rows: list[ChannelRow], customer_of: list, events: list[int], session: ImportSession
) -> tuple[int, set[int]]:
    """Insert the batch's touchpoints; returns how many were new and whose they are.

    A first import of a file is all new events: they are COPYed straight into the table (the unique
    (source, external_id) key still guards it). The first batch that meets a known event id rolls that COPY
    back to a savepoint, and from then on the job goes through a staging table and
    ``INSERT ... ON CONFLICT DO NOTHING``, which counts the duplicates.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        if session.all_new_so_far:
            try:
                with transaction.atomic():
                    _touchpoints_copy(cursor, "profiles_touchpoint", source, rows, customer_of, events, now)
                return len(events), {customer_of[i] for i in events}
            except psycopg.errors.UniqueViolation:
                session.all_new_so_far = False
        cursor.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS touchpoint_stage (
                source_id bigint, created_at timestamptz,
                external_id varchar(200), customer_id bigint, occurred_at timestamptz, channel varchar(20),
                moment varchar(30), event varchar(100), store_code varchar(20), associate_code varchar(100),
                order_id varchar(100), product_sku varchar(100), product_name varchar(200), category varchar(100),
                brand varchar(100), size varchar(30), color varchar(50), quantity integer, price numeric(12, 2),
                revenue numeric(12, 2), currency varchar(3), properties jsonb
            ) ON COMMIT DELETE ROWS
            """
        )
        _touchpoints_copy(cursor, "touchpoint_stage", source, rows, customer_of, events, now)
        cursor.execute(
            f"""
            INSERT INTO profiles_touchpoint (source_id, created_at, {STAGE_COLUMNS})
            SELECT source_id, created_at, {STAGE_COLUMNS} FROM touchpoint_stage
            ON CONFLICT (source_id, external_id) DO NOTHING
            RETURNING customer_id
            """  # noqa: S608 - constant column list
        )
        returned = cursor.fetchall()
        customers = {row[0] for row in returned}
        inserted = len(returned)
        cursor.execute("TRUNCATE touchpoint_stage")
        return inserted, customers


def rows_write(*, source: Source, rows: list[ChannelRow], source_ref: str) -> BatchResult:
    """``batch_write`` in its own transaction, for callers without job bookkeeping (tests, live events)."""
    with transaction.atomic():
        return batch_write(source=source, rows=rows, source_ref=source_ref)
