"""Identity resolution: who is who across channels, explainable and undoable.

Matching is deterministic on normalized identifiers. A row whose identifiers belong to two customers merges
them (the older one survives) and the Merge row says why and what moved, so an admin can undo it. Two guards
keep bad data from gluing people together:

- placeholder values ("noemail@...", "0000000000", "null"...) are dropped by ``normalize`` and link nobody;
- ``IDENTITY_SHARED_VALUE_LIMIT``: one customer holds at most N values of each identifier kind (one
  loyalty id, one email...). A row that would go past it (the store's own phone typed for a second person,
  a family email used by two loyalty members) links nothing: the pair goes to the review list instead.

Fuzzy look-alikes (similar names + same phone tail / postal code / birthday) are only *suggested*
(``duplicate_suggestions_refresh``); nothing fuzzy is ever merged automatically.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiles import derived
from profiles.events import ChannelRow
from profiles.models import Customer, ErasedIdentifier, MatchReview, Merge, ReviewKind, Source
from profiles.search import search_tokens_literal

IDENTITY_LOCK = 0x1D3A7  # pg_advisory_xact_lock key: identity changes (batches, merges, undo) one at a time
DEFAULT_LIMITS = {"customer_id": 1, "loyalty_id": 1, "email": 1, "phone": 1, "anonymous_id": 25}
KEPT_APART = "kept_apart"
MERGED_FIELDS = ("first_name", "last_name", "preferred_name", "birthday_month", "birthday_day", "postal_code")

# A row naming an erased customer is rejected, and kept without its content: it would name her again.
ERASED_CUSTOMER = "erased customer"
ERASED_RAW = "[erased]"


def shared_value_limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **getattr(settings, "IDENTITY_SHARED_VALUE_LIMIT", {})}


def identifier_digest(kind: str, namespace: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\x1f{namespace}\x1f{value}".encode()).hexdigest()


# --- merges ---------------------------------------------------------------------------------------


def _lock_identity() -> None:
    """Serialize identity changes: an import batch caches who owns what and checks an epoch under this lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IDENTITY_LOCK])


def _move(table: str, *, to: int, frm: int, ids: list[int] | None = None) -> list[int]:
    # Table names are constants of this module, never user input.
    with connection.cursor() as cursor:
        if ids is None:
            cursor.execute(f"UPDATE {table} SET customer_id = %s WHERE customer_id = %s RETURNING id", [to, frm])  # noqa: S608
        else:
            cursor.execute(
                f"UPDATE {table} SET customer_id = %s WHERE customer_id = %s AND id = ANY(%s) RETURNING id",  # noqa: S608
                [to, frm, ids],
            )
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class MergeRequest:
    survivor_id: int
    absorbed_id: int
    reason: str
    identifier_kind: str
    identifier_value: str
    source_ref: str = ""


def _move_many(table: str, mapping: dict[int, int]) -> dict[int, list[int]]:
    """Move every row of each absorbed customer to her survivor in one UPDATE; ids moved, per absorbed."""
    moved: dict[int, list[int]] = {absorbed: [] for absorbed in mapping}
    if not mapping:
        return moved
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} t SET customer_id = m.survivor
            FROM unnest(%s::bigint[], %s::bigint[]) AS m(absorbed, survivor)
            WHERE t.customer_id = m.absorbed
            RETURNING t.id, m.absorbed
            """,  # noqa: S608 - table names are constants of this module
            [list(mapping), list(mapping.values())],
        )
        for row_id, absorbed in cursor.fetchall():
            moved[absorbed].append(row_id)
    return moved


@transaction.atomic
def customers_merge(*, requests: list[MergeRequest], source: Source | None = None, refresh: bool = True) -> list[Merge]:
    """Several merges at once, set-based (an import batch may carry thousands).

    Chains are followed: if B is absorbed into A and A into C, both end up in C and each Merge row names C.
    Identifiers, touchpoints and notes move with one UPDATE ... RETURNING per table for the whole set; the
    survivor's blank name, birthday and postal code are filled from the absorbed profile; each consent
    purpose takes the most recently given answer. Every Merge row keeps what moved, for ``merge_undo``.
    """
    _lock_identity()
    final: dict[int, int] = {}

    def root(c: int) -> int:
        while c in final:
            c = final[c]
        return c

    ordered: list[MergeRequest] = []
    for request in requests:
        survivor, absorbed = root(request.survivor_id), root(request.absorbed_id)
        if survivor == absorbed:
            continue
        final[absorbed] = survivor
        ordered.append(request)
    if not ordered:
        return []
    mapping = {absorbed: root(absorbed) for absorbed in final}
    ids = set(mapping) | set(mapping.values())
    customers = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    for customer in customers.values():
        if customer.merged_into_id or customer.erased_at:
            raise ValueError(f"customer {customer.public_id} is merged or erased and cannot take part in a merge")
    if len(customers) != len(ids):
        raise ValueError("a customer to merge does not exist")

    moved_identifiers = _move_many("profiles_identifier", mapping)
    moved_touchpoints = _move_many("profiles_touchpoint", mapping)
    moved_notes = _move_many("profiles_note", mapping)

    changed_survivors: dict[int, set[str]] = {}
    merges = []
    now = timezone.now()
    for request in ordered:
        absorbed = customers[request.absorbed_id] if request.absorbed_id in mapping else None
        if absorbed is None:
            continue
        survivor = customers[mapping[absorbed.pk]]
        before: dict[str, object] = {}
        for name in MERGED_FIELDS:
            if getattr(survivor, name) in ("", None) and getattr(absorbed, name) not in ("", None):
                before[name] = getattr(survivor, name)
                setattr(survivor, name, getattr(absorbed, name))
        for purpose in ("recognition", "email", "sms", "surveys"):
            theirs = getattr(absorbed, f"consent_{purpose}_at")
            ours = getattr(survivor, f"consent_{purpose}_at")
            if theirs and (ours is None or theirs > ours):
                for suffix in ("", "_source", "_at"):
                    name = f"consent_{purpose}{suffix}"
                    before[name] = getattr(survivor, name)
                    setattr(survivor, name, getattr(absorbed, name))
        if before:
            changed_survivors.setdefault(survivor.pk, set()).update(before)
        absorbed.merged_into_id = survivor.pk
        merges.append(
            Merge(
                survivor_id=survivor.pk,
                absorbed_id=absorbed.pk,
                identifier_kind=request.identifier_kind,
                identifier_value=request.identifier_value[:320],
                reason=request.reason[:300],
                source=source,
                source_ref=request.source_ref[:300],
                moved={
                    "identifiers": moved_identifiers.get(absorbed.pk, []),
                    "touchpoints": moved_touchpoints.get(absorbed.pk, []),
                    "notes": moved_notes.get(absorbed.pk, []),
                    "survivor_before": {
                        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in before.items()
                    },
                },
            )
        )
    absorbed_ids, survivor_ids = list(mapping), list(mapping.values())
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE profiles_customer c SET merged_into_id = m.survivor, updated_at = %s
            FROM unnest(%s::bigint[], %s::bigint[]) AS m(absorbed, survivor) WHERE c.id = m.absorbed
            """,
            [now, absorbed_ids, survivor_ids],
        )
        cursor.execute(
            """
            UPDATE profiles_matchreview r SET resolved_at = %s, resolution = 'merged'
            FROM unnest(%s::bigint[], %s::bigint[]) AS p(a, b)
            WHERE r.customer_a_id = p.a AND r.customer_b_id = p.b AND r.resolved_at IS NULL
            """,
            [
                now,
                [min(a, s) for a, s in mapping.items()],
                [max(a, s) for a, s in mapping.items()],
            ],
        )
    for survivor_id, fields in changed_survivors.items():  # rare: only when the survivor lacked a name...
        customers[survivor_id].save(update_fields=[*sorted(fields), "updated_at"])
    Merge.objects.bulk_create(merges)
    if refresh:
        touched = sorted(ids)
        transaction.on_commit(lambda: derived.customers_refresh(touched))
    return merges


def customer_merge(
    *,
    survivor: Customer,
    absorbed: Customer,
    reason: str,
    identifier_kind: str,
    identifier_value: str,
    source: Source | None = None,
    source_ref: str = "",
) -> Merge:
    """Move everything of ``absorbed`` onto ``survivor`` and record why, so ``merge_undo`` can put it back.

    Identifiers, touchpoints and notes move (one UPDATE ... RETURNING each, however big she is); the
    survivor's blank name, birthday and postal code are filled from the absorbed profile; each consent
    purpose takes the most recently given answer.
    """
    if survivor.pk == absorbed.pk:
        raise ValueError("a customer cannot be merged into herself")
    (merge,) = customers_merge(
        requests=[
            MergeRequest(
                survivor_id=survivor.pk,
                absorbed_id=absorbed.pk,
                reason=reason,
                identifier_kind=identifier_kind,
                identifier_value=identifier_value,
                source_ref=source_ref,
            )
        ],
        source=source,
    )
    return merge


@transaction.atomic
def merge_undo(*, merge: Merge, by) -> None:
    """Give the absorbed customer back her identifiers, touchpoints and notes, and keep the two apart.

    Touchpoints that arrived after the merge stay with the survivor. The pair is remembered as "kept apart"
    so the next import linking them sends it to the review list instead of merging again.
    """
    _lock_identity()
    merge = Merge.objects.select_for_update().select_related("survivor", "absorbed").get(pk=merge.pk)
    if merge.undone_at:
        raise ValueError("this merge was already undone")
    survivor, absorbed = merge.survivor, merge.absorbed
    if survivor.merged_into_id:
        raise ValueError("the surviving customer was merged again since: undo that merge first")
    moved = merge.moved or {}
    _move("profiles_identifier", to=absorbed.pk, frm=survivor.pk, ids=moved.get("identifiers", []))
    _move("profiles_touchpoint", to=absorbed.pk, frm=survivor.pk, ids=moved.get("touchpoints", []))
    _move("profiles_note", to=absorbed.pk, frm=survivor.pk, ids=moved.get("notes", []))
    restored = moved.get("survivor_before") or {}
    if restored:
        for name, value in restored.items():
            if name.endswith("_at") and value:
                value = timezone.datetime.fromisoformat(value)
            setattr(survivor, name, value)
        survivor.save(update_fields=[*restored, "updated_at"])
    absorbed.merged_into = None
    absorbed.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at = timezone.now()
    merge.undone_by = by if getattr(by, "is_authenticated", False) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    low, high = sorted([survivor.pk, absorbed.pk])
    MatchReview.objects.update_or_create(
        kind=ReviewKind.SHARED_VALUE,
        customer_a_id=low,
        customer_b_id=high,
        defaults={
            "reason": f"merge on {merge.identifier_kind} undone: kept apart"[:300],
            "resolved_at": timezone.now(),
            "resolution": KEPT_APART,
        },
    )
    ids = [survivor.pk, absorbed.pk]
    transaction.on_commit(lambda: derived.customers_refresh(ids))


@transaction.atomic
def identifiers_tombstone(*, customer_ids: Iterable[int]) -> int:
    """Keep hashed tombstones of these (erased) customers' identifiers: re-imports reject their rows."""
    _lock_identity()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, namespace, value FROM profiles_identifier WHERE customer_id = ANY(%s)", [list(customer_ids)]
        )
        digests = [identifier_digest(*row) for row in cursor.fetchall()]
    created = ErasedIdentifier.objects.bulk_create([ErasedIdentifier(digest=d) for d in digests], ignore_conflicts=True)
    return len(created)


# --- batch resolution -------------------------------------------------------------------------------


@dataclass
class Resolution:
    """What resolving one batch decided: a customer per row, and the writes that made it so."""

    customer_of: list[int | None]  # final customer id per row (None: rejected)
    rejected: dict[int, str] = field(default_factory=dict)  # row index -> reason
    new_customers: set[int] = field(default_factory=set)
    created_rows: set[int] = field(default_factory=set)  # rows whose first identifier was new
    changed_rows: set[int] = field(default_factory=set)  # rows that linked a new identifier or merged
    merges: list[Merge] = field(default_factory=list)
    reviews: int = 0


EPOCH_SQL = """
    SELECT (SELECT coalesce(max(id), 0) FROM profiles_merge),
           (SELECT count(*) FROM profiles_merge WHERE undone_at IS NOT NULL),
           (SELECT coalesce(max(id), 0) FROM profiles_erasedidentifier)
"""
CACHE_LIMIT = 1_000_000
LOOKUP_COPY_MIN = 5000  # identifiers looked up by COPY into a temporary table from this many on (else an array)


class IdentityCache:
    """Who owns which identifier, remembered across the batches of one job.

    Only keys with a known owner are kept; any merge, undo or erasure anywhere changes the "epoch" read at
    the start of each batch (under the identity lock) and empties the cache, so it is never stale.
    """

    def __init__(self):
        self.owner: dict[tuple[str, str, str], int] = {}
        self.epoch: tuple | None = None

    def sync(self, cursor) -> None:
        cursor.execute(EPOCH_SQL)
        epoch = cursor.fetchone()
        if epoch != self.epoch or len(self.owner) > CACHE_LIMIT:
            self.owner.clear()
            self.epoch = epoch


class BatchResolver:
    """Resolve a whole batch with a handful of set-based queries and an in-memory union-find.

    Customers are ids (existing) or negative placeholders (new in this batch). The caller holds the
    identity lock (one advisory lock per transaction) so two batches never create the same person twice.
    """

    def __init__(self, *, source: Source, source_ref: str, cache: IdentityCache | None = None):
        self.cache = cache or IdentityCache()
        self.source = source
        self.source_ref = source_ref
        self.limits = shared_value_limits()
        self.parent: dict[int, int] = {}
        self.counts: dict[int, dict[tuple[str, str], int]] = {}
        self.owner: dict[tuple[str, str, str], int] = {}
        self.assigned: dict[tuple[str, str, str], int] = {}
        self.kept_apart: set[tuple[int, int]] = set()
        self.pending_merges: list[tuple[int, int, tuple[str, str, str], int, str]] = []
        self.reviews: list[tuple[int, int, str]] = []
        self._next_placeholder = -1

    # union-find ---------------------------------------------------------------------------------
    def find(self, c: int) -> int:
        parent = self.parent
        root = c
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(c, c) != root:
            parent[c], c = root, parent[c]
        return root

    def placeholder(self) -> int:
        c = self._next_placeholder
        self._next_placeholder -= 1
        self.counts[c] = {}
        return c

    def fits(self, c: int, kind: str, namespace: str, extra: int = 1) -> bool:
        return self.counts.get(c, {}).get((kind, namespace), 0) + extra <= self.limits.get(kind, 1)

    def assign(self, key: tuple[str, str, str], c: int) -> None:
        self.owner[key] = c
        self.assigned[key] = c
        bucket = self.counts.setdefault(c, {})
        bucket[key[:2]] = bucket.get(key[:2], 0) + 1

    def merge_blocker(self, a: int, b: int) -> str:
        if a > 0 and b > 0 and (min(a, b), max(a, b)) in self.kept_apart:
            return "an admin undid a merge of these two customers"
        ours = self.counts.get(a, {})
        for (kind, namespace), n in self.counts.get(b, {}).items():
            if ours.get((kind, namespace), 0) + n > self.limits.get(kind, 1):
                return f"together they would hold {ours.get((kind, namespace), 0) + n} {kind} values (limit {self.limits.get(kind, 1)})"
        return ""

    def union(self, a: int, b: int, key: tuple[str, str, str], line: int, anchor_key: tuple[str, str, str]) -> int:
        if a > 0 and b > 0:
            survivor, absorbed = min(a, b), max(a, b)  # the older profile survives
            reason = (
                f"line {line} has {anchor_key[0]} {anchor_key[2]} of one customer and {key[0]} {key[2]} of the other"
            )
            self.pending_merges.append((survivor, absorbed, key, line, reason))
        elif b > 0:
            survivor, absorbed = b, a
        else:
            survivor, absorbed = a, b
        self.parent[absorbed] = survivor
        bucket = self.counts.setdefault(survivor, {})
        for k, n in self.counts.pop(absorbed, {}).items():
            bucket[k] = bucket.get(k, 0) + n
        return survivor

    # the batch ---------------------------------------------------------------------------------
    def resolve(self, rows: list[ChannelRow]) -> Resolution:
        resolution = Resolution(customer_of=[None] * len(rows))
        keys = {key for row in rows for key in row.keys}
        erased_keys = self._load(rows, keys)

        for index, row in enumerate(rows):
            if erased_keys and any(key in erased_keys for key in row.keys):
                resolution.rejected[index] = ERASED_CUSTOMER
                continue
            resolution.customer_of[index] = self._resolve_row(index, row, resolution)
        return resolution

    def _resolve_row(self, index: int, row: ChannelRow, resolution: Resolution) -> int:
        keys = row.keys
        top = keys[0]
        found = self.owner.get(top)
        if found is None:
            anchor = self.placeholder()
            self.assign(top, anchor)
            resolution.created_rows.add(index)
        else:
            anchor = self.find(found)
        overflow = None
        for key in keys[1:]:
            found = self.owner.get(key)
            if found is None:
                if self.fits(anchor, key[0], key[1]):
                    self.assign(key, anchor)
                    resolution.changed_rows.add(index)
                else:
                    if overflow is None:
                        overflow = self.placeholder()
                    self.assign(key, overflow)
                    self.reviews.append(
                        (anchor, overflow, f"{key[0]} {key[2]} on line {row.line} would go past the {key[0]} limit")
                    )
                continue
            other = self.find(found)
            if other == anchor:
                continue
            blocker = self.merge_blocker(anchor, other)
            if blocker:
                self.reviews.append((anchor, other, f"{key[0]} {key[2]} on line {row.line} links them, but {blocker}"))
                continue
            resolution.changed_rows.add(index)
            anchor = self.union(anchor, other, key, row.line, top)
        return anchor

    def _load(self, rows: list[ChannelRow], keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Who owns these identifiers today; returns the keys that belong to erased people."""
        erased: set[tuple[str, str, str]] = set()
        if not keys:
            return erased
        lookup: set[tuple[str, str, str]] = set()
        with connection.cursor() as cursor:
            self.cache.sync(cursor)
            cached = self.cache.owner
            for key in keys:
                owner = cached.get(key)
                if owner is None:
                    lookup.add(key)
                else:
                    self.owner[key] = owner
            owners = self._owners(cursor, lookup)
            merged: dict[tuple, int] = {}
            for kind, namespace, value, customer_id, merged_into, is_erased in owners:
                key = (kind, namespace, value)
                if is_erased:
                    erased.add(key)
                elif merged_into:
                    merged[key] = merged_into  # normally moved by the merge; follow it anyway
                else:
                    self.owner[key] = customer_id
            if merged:
                self._follow_merges(cursor, merged, erased)
            if lookup and self.cache.epoch[2]:  # some tombstones exist: check the keys not seen before
                digests = {identifier_digest(*key): key for key in lookup}
                cursor.execute("SELECT digest FROM profiles_erasedidentifier WHERE digest = ANY(%s)", [list(digests)])
                erased.update(digests[d] for (d,) in cursor.fetchall())

            # Customers that may gain an identifier or merge in this batch: load their counts per kind.
            needed = self._customers_needing_counts(rows)
            if needed:
                cursor.execute(
                    """
                    SELECT customer_id, kind, namespace, count(*) FROM profiles_identifier
                    WHERE customer_id = ANY(%s) GROUP BY 1, 2, 3
                    """,
                    [list(needed)],
                )
                for customer_id, kind, namespace, n in cursor.fetchall():
                    self.counts.setdefault(customer_id, {})[(kind, namespace)] = n
                cursor.execute(
                    """
                    SELECT customer_a_id, customer_b_id FROM profiles_matchreview
                    WHERE resolution = %s AND (customer_a_id = ANY(%s) OR customer_b_id = ANY(%s))
                    """,
                    [KEPT_APART, list(needed), list(needed)],
                )
                self.kept_apart = {tuple(pair) for pair in cursor.fetchall()}
        return erased

    @staticmethod
    def _owners(cursor, keys: set[tuple[str, str, str]]) -> list[tuple]:
        """(kind, namespace, value, customer, merged into, erased?) of the identifiers among these keys."""
        columns = "i.kind, i.namespace, i.value, i.customer_id, c.merged_into_id, c.erased_at IS NOT NULL"
        if len(keys) < LOOKUP_COPY_MIN:
            kinds, namespaces, values = (list(column) for column in zip(*keys, strict=True)) if keys else ([], [], [])
            cursor.execute(
                f"""
                SELECT {columns} FROM profiles_identifier i JOIN profiles_customer c ON c.id = i.customer_id
                WHERE (i.kind, i.namespace, i.value) IN (
                    SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[])
                )
                """,  # noqa: S608 - constant column list
                [kinds, namespaces, values],
            )
            return cursor.fetchall()
        # A file's window has ~430k keys: as array literals in the query text they took ~1.4 s to write out,
        # by COPY ~0.3 s.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS identity_lookup"
            " (kind varchar(20), namespace varchar(100), value varchar(320)) ON COMMIT DELETE ROWS"
        )
        with cursor.copy("COPY identity_lookup (kind, namespace, value) FROM STDIN") as copy:
            for key in keys:
                copy.write_row(key)
        cursor.execute("ANALYZE identity_lookup")
        cursor.execute(
            f"""
            SELECT {columns} FROM identity_lookup k
            JOIN profiles_identifier i ON (i.kind, i.namespace, i.value) = (k.kind, k.namespace, k.value)
            JOIN profiles_customer c ON c.id = i.customer_id
            """  # noqa: S608 - constant column list
        )
        found = cursor.fetchall()
        cursor.execute("TRUNCATE identity_lookup")
        return found

    def _follow_merges(self, cursor, merged: dict, erased: set) -> None:
        pending = dict(merged)
        for _ in range(10):
            if not pending:
                return
            cursor.execute(
                "SELECT id, merged_into_id, erased_at IS NOT NULL FROM profiles_customer WHERE id = ANY(%s)",
                [list(set(pending.values()))],
            )
            state = {cid: (into, is_erased) for cid, into, is_erased in cursor.fetchall()}
            nxt = {}
            for key, cid in pending.items():
                into, is_erased = state.get(cid, (None, True))
                if is_erased:
                    erased.add(key)
                elif into:
                    nxt[key] = into
                else:
                    self.owner[key] = cid
            pending = nxt

    def _customers_needing_counts(self, rows: list[ChannelRow]) -> set[int]:
        owner = self.owner
        needed: set[int] = set()
        if not owner:
            return needed  # nobody known (a first import): no row names a customer whose counts matter
        get = owner.get
        for row in rows:
            keys = row.keys
            if len(keys) == 1:
                continue  # one identifier names one customer or nobody: no one gains an identifier or merges
            owners = {get(key) for key in keys}  # None: a new identifier
            if len(owners) > 1 or None in owners:
                owners.discard(None)
                needed.update(owners)
        return needed

    # writes ------------------------------------------------------------------------------------
    def apply(self, rows: list[ChannelRow], resolution: Resolution, ready=None) -> None:
        """Create the new customers and identifiers, run the merges, file the reviews.

        ``ready(resolution, merges)``, if given, is called once every row's customer id is final and before
        anything is written; ``merges`` says whether the writes will merge customers.
        """
        source = self.source
        roots = sorted({p for p in self.counts if p < 0 and self.find(p) == p}, reverse=True)  # row order
        real: dict[int, int] = {}
        if roots:
            with connection.cursor() as cursor:
                # The sequence's name is looked up once: as nextval's argument, pg_get_serial_sequence() would
                # run for every row (211k ids: 0.52 s instead of 0.09 s, before any touchpoint can be written).
                cursor.execute("SELECT pg_get_serial_sequence('profiles_customer', 'id')")
                (sequence,) = cursor.fetchone()
                cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(roots)])
                real = dict(zip(roots, (r[0] for r in cursor.fetchall()), strict=True))
        resolution.new_customers = set(real.values())

        finals: dict[int, int] = {}  # a window's 1M rows name ~250k customers: find each root once

        def final(c: int) -> int:
            found = finals.get(c)
            if found is None:
                root = self.find(c)
                found = finals[c] = real[root] if root < 0 else root
            return found

        resolution.customer_of = [final(c) if c is not None else None for c in resolution.customer_of]
        if ready is not None:
            ready(resolution, bool(self.pending_merges))
        if real:
            self._create_customers(rows, resolution, set(real.values()))

        if self.pending_merges:
            resolution.merges = customers_merge(
                requests=[
                    MergeRequest(
                        survivor_id=survivor,
                        absorbed_id=absorbed,
                        reason=reason,
                        identifier_kind=key[0],
                        identifier_value=key[2],
                        source_ref=f"{self.source_ref}:{line}",
                    )
                    for survivor, absorbed, key, line, reason in self.pending_merges
                ],
                source=source,
                refresh=False,  # the batch refreshes everyone it touched
            )

        if self.assigned:
            self._identifiers_insert(final)

        remembered = self.cache.owner
        if self.pending_merges:
            # Our own merges change the epoch: remap what we remember and take the new epoch as ours, so the
            # next batch keeps its cache unless someone else merged, undid or erased in between.
            for key, c in remembered.items():
                remembered[key] = final(c) if c in self.parent else c
            with connection.cursor() as cursor:
                cursor.execute(EPOCH_SQL)
                self.cache.epoch = cursor.fetchone()
        for key, c in self.owner.items():
            remembered[key] = final(c)

        reviews = {}
        for a, b, reason in self.reviews:
            a, b = final(a), final(b)
            if a != b:
                reviews.setdefault((min(a, b), max(a, b)), reason)
        if reviews:
            created = MatchReview.objects.bulk_create(
                [
                    MatchReview(kind=ReviewKind.SHARED_VALUE, customer_a_id=a, customer_b_id=b, reason=r[:300], score=1)
                    for (a, b), r in reviews.items()
                ],
                ignore_conflicts=True,
            )
            resolution.reviews = len(created)

    def _identifiers_insert(self, final) -> None:
        """The batch's new identifiers, COPYed in. Every importer batch holds the identity lock, so only a
        writer that does not (a customer registered on the floor meanwhile) can have added one of them: then
        the COPY rolls back to its savepoint and ``INSERT ... ON CONFLICT DO NOTHING`` writes the rest."""
        now = timezone.now().isoformat()  # formatted once, not by a dumper for every row
        source_id = self.source.pk
        rows = [
            (final(c), kind, namespace, value, source_id, now) for (kind, namespace, value), c in self.assigned.items()
        ]
        columns = "customer_id, kind, namespace, value, source_id, created_at"
        with connection.cursor() as cursor:
            try:
                with transaction.atomic(), cursor.copy(f"COPY profiles_identifier ({columns}) FROM STDIN") as copy:
                    copy.set_types(["int8", "text", "text", "text", "int8", "text"])  # no dumper per value
                    for row in rows:
                        copy.write_row(row)
                return
            except psycopg.errors.UniqueViolation:
                pass
            cursor.execute(
                f"""
                INSERT INTO profiles_identifier ({columns})
                SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[],
                                     %s::timestamptz[])
                ON CONFLICT (kind, namespace, value) DO NOTHING
                """,  # noqa: S608 - constant column list
                [list(column) for column in zip(*rows, strict=True)],
            )

    def _create_customers(self, rows: list[ChannelRow], resolution: Resolution, new_ids: set[int]) -> None:
        # One pass over every row of the window (1M for a 1M-row file), so no dict is built for a row that
        # only repeats its customer and nothing is updated with nothing.
        profile: dict[int, dict] = {}
        for row, c in zip(rows, resolution.customer_of, strict=True):
            if c not in new_ids:
                continue
            data = profile.get(c)
            if data is None:
                data = profile[c] = {"store": row.store_code}
            if row.traits:
                data.update(row.traits)
            if row.consents:
                for purpose, granted in row.consents.items():
                    data[purpose] = (granted, row.occurred_at)
        now = timezone.now().isoformat()  # times are COPYed as text: psycopg's dumper costs ~1 us a value
        source_name = self.source.name[:100]
        with (
            connection.cursor() as cursor,
            cursor.copy(
                """
                COPY profiles_customer (
                    id, first_name, last_name, preferred_name, pronunciation, birthday_month,
                    birthday_day, postal_code, home_store_code, tier, lifecycle,
                    consent_recognition, consent_recognition_source, consent_recognition_at,
                    consent_email, consent_email_source, consent_email_at,
                    consent_sms, consent_sms_source, consent_sms_at,
                    consent_surveys, consent_surveys_source, consent_surveys_at,
                    created_at, updated_at, search_tokens
                ) FROM STDIN
                """
            ) as copy,
        ):
            copy.set_types(
                ["int8", *["text"] * 4, "int2", "int2", *["text"] * 4, *["bool", "text", "text"] * 4, *["text"] * 3]
            )
            for c in sorted(new_ids):
                data = profile.get(c, {})
                consent = []
                for purpose in ("recognition", "email", "sms", "surveys"):
                    granted, at = data.get(purpose, (None, None))
                    if granted is None:
                        consent += [False, "", None]
                    else:
                        consent += [granted, source_name, at.isoformat() if at else now]
                first_name, last_name = data.get("first_name", ""), data.get("last_name", "")
                copy.write_row(
                    (
                        c,
                        first_name,
                        last_name,
                        "",
                        "",
                        data.get("birthday_month"),
                        data.get("birthday_day"),
                        data.get("postal_code", ""),
                        data.get("store", ""),
                        "",
                        "prospect",
                        *consent,
                        now,
                        now,
                        # What the database would compute, computed here: the insert trigger then skips it.
                        search_tokens_literal(first_name, last_name),
                    )
                )


# --- fuzzy duplicate suggestions ---------------------------------------------------------------------

FUZZY_MIN_SCORE = 0.75

_FUZZY_CANDIDATES = """
    WITH recent AS (
        SELECT id, lower(last_name) AS last, lower(first_name) AS first, postal_code, birthday_month, birthday_day
        FROM profiles_customer
        WHERE merged_into_id IS NULL AND erased_at IS NULL AND updated_at >= %(since)s
          AND last_name <> '' AND first_name <> ''
    ),
    pairs AS (
        -- each recently created or changed customer against everyone with her last name and initial
        SELECT least(r.id, c.id) AS a, greatest(r.id, c.id) AS b,
               r.first AS first_r, lower(c.first_name) AS first_c, r.id AS rid,
               (r.postal_code <> '' AND r.postal_code = c.postal_code) AS same_postal,
               (r.birthday_month IS NOT NULL AND r.birthday_month = c.birthday_month
                AND r.birthday_day = c.birthday_day) AS same_birthday
        FROM recent r
        JOIN profiles_customer c
          ON lower(c.last_name) = r.last AND c.id <> r.id AND lower(left(c.first_name, 1)) = left(r.first, 1)
         AND c.merged_into_id IS NULL AND c.erased_at IS NULL
    )
    SELECT DISTINCT ON (p.a, p.b) p.a, p.b,
        CASE WHEN p.rid = p.a THEN p.first_r ELSE p.first_c END,
        CASE WHEN p.rid = p.a THEN p.first_c ELSE p.first_r END,
        p.same_postal, p.same_birthday,
        EXISTS (
            SELECT 1 FROM profiles_identifier pa JOIN profiles_identifier pb ON right(pa.value, 4) = right(pb.value, 4)
            WHERE pa.customer_id = p.a AND pa.kind = 'phone' AND pb.customer_id = p.b AND pb.kind = 'phone'
        ) AS same_phone_tail
    FROM pairs p
    WHERE NOT EXISTS (SELECT 1 FROM profiles_matchreview m WHERE m.customer_a_id = p.a AND m.customer_b_id = p.b)
    ORDER BY p.a, p.b
    LIMIT %(limit)s
"""


def _plain(name: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))


def _name_similarity(a: str, b: str) -> float:
    a, b = _plain(a), _plain(b)
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    shared = len(os.path.commonprefix([a, b]))
    return max(ratio, 0.8) if shared >= 3 else ratio  # "Kate" / "Katherine", "Alex" / "Alexandra"


def duplicate_suggestions_refresh(*, since=None, limit: int = 50_000) -> int:
    """Put look-alike pairs on the review list: same last name, a similar first name, and the same phone
    tail, postal code or birthday. Only customers created or changed since ``since`` are compared (the
    nightly run passes a day); pairs already reviewed, merged or kept apart are never suggested again.
    Nothing here merges anyone."""
    since = since or timezone.now() - timezone.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(_FUZZY_CANDIDATES, {"since": since, "limit": limit})
        candidates = cursor.fetchall()
    reviews = []
    for a, b, first_a, first_b, same_postal, same_birthday, same_tail in candidates:
        signals = [
            label
            for label, on in (
                ("same phone ending", same_tail),
                ("same postal code", same_postal),
                ("same birthday", same_birthday),
            )
            if on
        ]
        name = _name_similarity(first_a, first_b)
        if not signals or name < FUZZY_MIN_SCORE:
            continue
        score = round(min(1.0, 0.5 * name + 0.25 * len(signals)), 2)
        reason = f"similar names ({first_a.title()} / {first_b.title()}) and {', '.join(signals)}"
        reviews.append(MatchReview(kind=ReviewKind.FUZZY, customer_a_id=a, customer_b_id=b, reason=reason, score=score))
    created = MatchReview.objects.bulk_create(reviews, ignore_conflicts=True)
    return len(created)
