"""Derived data: the per-customer summary, lifecycle and interests, refreshed for the customers a batch touched.

Everything is computed set-based from her touchpoints, in a handful of SQL statements per batch of up to
50,000 customers (measured in docs/benchmarks.md, "Derived data refresh"): the batch's touchpoints are
copied once into a temporary table, the summary is upserted with ``INSERT ... ON CONFLICT`` and the lifecycle
updated by the same statement, and interests are replaced (``DELETE`` + one ``INSERT ... SELECT`` that also
writes their reason sentences: ``interest_reason`` below is the readable reference of those rules).

Summary rules
    * visit: a ``store_visit``, ``associate_assisted`` or ``event_attended`` moment, or a purchase or return
      in the store or kiosk channel; ``visit_count`` counts distinct (store, day) pairs.
    * order: purchase touchpoints sharing an ``order_id`` are one order (no order id: one order each);
      ``lifetime_value`` = purchase revenue minus returned revenue (``revenue``, else price x quantity),
      in her most used ``currency``.
    * ``preferred_store``: the store with the most visits and purchases, the latest breaking ties.
    * ``open_cart`` / ``wishlist``: items (by SKU, else name) added to cart / wishlisted and not purchased
      since, newest first, at most 10.
    * ``sizes``: per category, the size of her latest purchase, else of her latest cart or wishlist item.
    * ``open_complaint``: her latest ``complaint`` unless a later touchpoint resolves it (its
      ``properties`` has ``"resolved": true`` or a non-empty ``"resolution"``, or its event is
      ``complaint_resolved``).
    * ``last_feedback_score``: kept as the feedback app writes it; a newer ``feedback_given`` touchpoint
      carrying ``properties.score`` replaces it, nothing ever blanks it.
    * ``persona`` fields belong to the nightly persona job and are left alone.

Lifecycle (also written to ``Customer.lifecycle``), first rule that applies:
    1. prospect: no purchase yet;
    2. lapsed: last purchase more than 12 months ago;
    3. loyal: 4 or more orders in the last 12 months, or any advocacy moment (review, share, referral);
    4. repeat: 2 or more orders;
    5. new: exactly 1 order.

Interests, per category, brand and product: score = sum over her touchpoints of
``moment weight x 0.5 ** (age in days / HALF_LIFE_DAYS)`` with the weights in ``MOMENT_WEIGHTS``
(purchase 5 > cart, wishlist, checkout 3 > review, share 2 > view, search 1; a return counts -3). The top
``INTERESTS_PER_KIND`` with a positive score are kept, each with a reason such as
"viewed Trail Runner 3 3x online this week; added size 9 to cart on Nov 20". Relative words ("today",
"this week": the calendar week) are as of the refresh that wrote them; a nightly task rewrites the
recent ones (``recent_interests_refresh``) so that yesterday's "today" does not greet anyone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

MOMENT_WEIGHTS = {
    "purchased": 5.0,
    "cart_added": 3.0,
    "wishlisted": 3.0,
    "checkout_started": 3.0,
    "review_written": 2.0,
    "shared": 2.0,
    "product_viewed": 1.0,
    "searched": 1.0,
    "returned": -3.0,
}
HALF_LIFE_DAYS = 30.0
INTERESTS_PER_KIND = 10
LIST_LIMIT = 10
BATCH_SIZE = 50_000

VISIT_MOMENTS = ("store_visit", "associate_assisted", "event_attended")
ADVOCACY_MOMENTS = ("review_written", "shared", "referred")
STORE_CHANNELS = ("store", "kiosk")
ONLINE_CHANNELS = ("web", "app")

# The batch's touchpoints, copied once (every later statement reads this small table, not the big one).
_DROP_TEMP = "DROP TABLE IF EXISTS pg_temp.refresh_ids, pg_temp.refresh_tp"
_COPY_IDS = """
CREATE TEMP TABLE refresh_ids AS
  SELECT id FROM profiles_customer
  WHERE id = ANY(%(ids)s) AND merged_into_id IS NULL AND erased_at IS NULL
"""
_COPY_TOUCHPOINTS = """
CREATE TEMP TABLE refresh_tp AS
  SELECT t.id, t.customer_id, t.occurred_at, t.channel, t.moment, t.event, t.store_code, t.associate_code,
         coalesce(nullif(t.order_id, ''), 'tp:' || t.id) AS order_key,
         coalesce(nullif(t.product_sku, ''), lower(t.product_name)) AS item_key,
         t.product_sku, t.product_name, t.category, t.brand, t.size, t.color, t.currency,
         coalesce(t.revenue, t.price * coalesce(t.quantity, 1)) AS amount,
         CASE WHEN t.moment IN ('feedback_given', 'complaint') OR t.event = 'complaint_resolved'
              OR t.properties ? 'resolved' OR t.properties ? 'resolution'
              THEN t.properties ELSE NULL END AS properties
  FROM profiles_touchpoint t JOIN refresh_ids r ON r.id = t.customer_id
  -- The batch's id range first: a cheap test on every touchpoint read, which spares the join the others
  -- (a big batch is one range of ids out of several; one customer's refresh reads her timeline's index).
  WHERE t.customer_id BETWEEN %(first_id)s AND %(last_id)s
"""

# Order statistics, for the summary and the lifecycle. The window names her latest purchase (purchases sort
# first, then the latest, the highest id breaking ties) on every row, so the last order's lines are a filter of
# this CTE rather than a second scan and sort of the batch.
_ORDERS_CTE = """
purchases AS (
  SELECT customer_id, id, moment, order_key, occurred_at, amount, currency, product_name, product_sku, size, color,
         first_value(order_key) OVER w AS last_key, first_value(store_code) OVER w AS last_store,
         first_value(channel) OVER w AS last_channel, first_value(associate_code) OVER w AS last_associate
  FROM refresh_tp WHERE moment IN ('purchased', 'returned', 'review_written', 'shared', 'referred')
  WINDOW w AS (PARTITION BY customer_id ORDER BY moment = 'purchased' DESC, occurred_at DESC, id DESC)
),
orders AS (
  SELECT customer_id,
         count(DISTINCT order_key) FILTER (WHERE moment = 'purchased') AS order_count,
         count(DISTINCT order_key) FILTER (WHERE moment = 'purchased' AND occurred_at > %(year_ago)s) AS orders_12m,
         max(occurred_at) FILTER (WHERE moment = 'purchased') AS last_purchase_at,
         coalesce(sum(amount) FILTER (WHERE moment = 'purchased'), 0)
           - coalesce(sum(abs(amount)) FILTER (WHERE moment = 'returned'), 0) AS lifetime_value,
         mode() WITHIN GROUP (ORDER BY currency) FILTER (WHERE currency <> '' AND moment = 'purchased') AS currency,
         bool_or(moment IN ('review_written', 'shared', 'referred')) AS advocate
  FROM purchases GROUP BY customer_id
)
"""

# Constant SQL fragments only (values are always parameters). Several CTEs pick "the first row" of a subquery's
# ORDER BY with array_agg()[1] or aggregate its rows in that order: the GroupAggregate above such a subquery keeps
# its order (the interest statement relies on the same; tests write rows out of time order to hold it), while
# an aggregate's own ORDER BY sorts every group again (PostgreSQL 15). Never beside a DISTINCT or ORDER BY
# aggregate in the same GROUP BY: PostgreSQL 16 may sort the input again for that one.
_UPSERT_SUMMARY_AND_LIFECYCLE = (
    "WITH "  # noqa: S608
    + _ORDERS_CTE
    + """,
activity AS (
  -- One sort of the batch by (customer, channel) groups the channels for less than hashing them costs; first and
  -- last seen come with it, and the channels are then listed by use, the latest breaking ties.
  SELECT customer_id, jsonb_agg(channel) AS channels, min(first_at) AS first_seen_at, max(last_at) AS last_seen_at
  FROM (SELECT customer_id, channel, count(*) AS n, max(occurred_at) AS last_at, min(occurred_at) AS first_at
        FROM (SELECT customer_id, channel, occurred_at FROM refresh_tp ORDER BY customer_id, channel) t
        GROUP BY customer_id, channel ORDER BY customer_id, n DESC, last_at DESC) c
  GROUP BY customer_id
),
last_purchase AS (
  -- Her latest purchase's lines, in the order they were recorded. The store, channel and associate are the
  -- latest line's, the same on every row of the group (min() only picks it).
  SELECT customer_id, jsonb_build_object(
           'store', min(last_store), 'channel', min(last_channel), 'associate', min(last_associate),
           'items', jsonb_agg(jsonb_build_object('name', product_name, 'sku', product_sku, 'size', size,
                                                 'color', color))
                    FILTER (WHERE product_name <> '' OR product_sku <> ''),
           'revenue', sum(amount)::text,
           'currency', max(currency)) AS last_purchase
  FROM (SELECT * FROM purchases WHERE moment = 'purchased' AND order_key = last_key ORDER BY customer_id, id) p
  GROUP BY customer_id
),
visit_rows AS (
  SELECT customer_id, store_code, occurred_at FROM refresh_tp
  WHERE moment IN ('store_visit', 'associate_assisted', 'event_attended')
     OR (moment IN ('purchased', 'returned') AND channel IN ('store', 'kiosk'))
),
visit_counts AS (
  SELECT customer_id, count(DISTINCT (store_code, (occurred_at AT TIME ZONE 'UTC')::date)) AS n
  FROM visit_rows GROUP BY customer_id
),
visits AS (
  -- Not the first of an array_agg() over rows sorted latest first, as elsewhere here: beside the DISTINCT
  -- count, PostgreSQL 16 sorts the aggregate's input again by what that count needs (the store first).
  SELECT DISTINCT ON (v.customer_id) v.customer_id, v.occurred_at AS last_visit_at,
         v.store_code AS last_visit_store, c.n
  FROM visit_rows v JOIN visit_counts c USING (customer_id) ORDER BY v.customer_id, v.occurred_at DESC
),
store_counts AS (
  SELECT customer_id, store_code, count(*) AS n, max(occurred_at) AS last_at FROM refresh_tp
  WHERE store_code <> ''
    AND moment IN ('store_visit', 'associate_assisted', 'event_attended', 'purchased', 'appointment_booked')
  GROUP BY 1, 2
),
preferred AS (
  SELECT DISTINCT ON (customer_id) customer_id, store_code FROM store_counts
  ORDER BY customer_id, n DESC, last_at DESC
),
pending_latest AS (
  -- Her latest add of each item: if a purchase since makes it no longer open, it does so for every earlier add.
  SELECT DISTINCT ON (customer_id, moment, item_key)
         customer_id, moment, item_key, occurred_at, product_name, product_sku, size
  FROM refresh_tp WHERE moment IN ('cart_added', 'wishlisted') AND item_key <> ''
  ORDER BY customer_id, moment, item_key, occurred_at DESC
),
pending_ranked AS (
  -- The objects are built for the listed items only.
  SELECT customer_id, moment,
         jsonb_build_object('name', product_name, 'sku', product_sku, 'size', size, 'at', occurred_at) AS item
  FROM (
    SELECT *, row_number() OVER (PARTITION BY customer_id, moment ORDER BY occurred_at DESC, item_key) AS rn
    FROM pending_latest a
    WHERE NOT EXISTS (
      SELECT 1 FROM refresh_tp p
      WHERE p.customer_id = a.customer_id AND p.moment = 'purchased' AND p.item_key = a.item_key
        AND p.occurred_at >= a.occurred_at)
  ) r WHERE rn <= %(list_limit)s
  ORDER BY customer_id, moment, occurred_at DESC, item_key
),
pending AS (
  SELECT customer_id,
         coalesce(jsonb_agg(item) FILTER (WHERE moment = 'cart_added'), '[]') AS open_cart,
         coalesce(jsonb_agg(item) FILTER (WHERE moment = 'wishlisted'), '[]') AS wishlist
  FROM pending_ranked GROUP BY customer_id
),
size_rows AS (
  SELECT DISTINCT ON (customer_id, lower(category)) customer_id, category, size FROM refresh_tp
  WHERE size <> '' AND category <> '' AND moment IN ('purchased', 'cart_added', 'wishlisted', 'checkout_started')
  ORDER BY customer_id, lower(category), (moment = 'purchased') DESC, occurred_at DESC
),
sizes AS (SELECT customer_id, jsonb_object_agg(category, size) AS sizes FROM size_rows GROUP BY customer_id),
noted AS (
  -- Feedback, complaints and what resolves them in one pass: only they carry properties in refresh_tp (the copy
  -- keeps no others). A complaint is open unless a resolution came at or after it.
  SELECT customer_id,
         (array_agg(jsonb_build_object('at', occurred_at, 'channel', channel, 'text',
            left(coalesce(nullif(properties ->> 'text', ''), nullif(properties ->> 'comment', ''),
                          nullif(properties ->> 'message', ''), product_name), 300)))
          FILTER (WHERE moment = 'complaint'))[1] AS complaint,
         max(occurred_at) FILTER (WHERE moment = 'complaint') AS complaint_at,
         max(occurred_at) FILTER (WHERE moment <> 'complaint' AND (event = 'complaint_resolved'
             OR properties ->> 'resolved' = 'true' OR coalesce(properties ->> 'resolution', '') <> '')) AS resolved_at,
         (array_agg((properties ->> 'score')::smallint)
          FILTER (WHERE moment = 'feedback_given' AND properties ->> 'score' ~ '^-?[0-9]{1,2}$'))[1] AS score,
         max(occurred_at) FILTER (WHERE moment = 'feedback_given' AND properties ->> 'score' ~ '^-?[0-9]{1,2}$')
           AS feedback_at
  FROM (SELECT * FROM refresh_tp WHERE properties IS NOT NULL ORDER BY customer_id, occurred_at DESC) t
  GROUP BY customer_id
),
upsert AS (
INSERT INTO profiles_customersummary (
  customer_id, first_seen_at, last_seen_at, last_visit_at, last_visit_store, last_purchase_at, last_purchase,
  visit_count, order_count, lifetime_value, currency, preferred_store, channels, open_cart, wishlist, sizes,
  last_feedback_score, last_feedback_at, open_complaint, updated_at)
SELECT r.id, activity.first_seen_at, activity.last_seen_at, visits.last_visit_at,
       coalesce(visits.last_visit_store, ''), orders.last_purchase_at, coalesce(last_purchase.last_purchase, '{}'),
       coalesce(visits.n, 0), coalesce(orders.order_count, 0), coalesce(orders.lifetime_value, 0),
       coalesce(orders.currency, ''), coalesce(preferred.store_code, ''), coalesce(activity.channels, '[]'),
       coalesce(pending.open_cart, '[]'), coalesce(pending.wishlist, '[]'), coalesce(sizes.sizes, '{}'),
       noted.score, noted.feedback_at,
       CASE WHEN noted.resolved_at >= noted.complaint_at THEN '{}' ELSE coalesce(noted.complaint, '{}') END, %(now)s
FROM refresh_ids r
LEFT JOIN activity ON activity.customer_id = r.id
LEFT JOIN orders ON orders.customer_id = r.id
LEFT JOIN visits ON visits.customer_id = r.id
LEFT JOIN preferred ON preferred.customer_id = r.id
LEFT JOIN last_purchase ON last_purchase.customer_id = r.id
LEFT JOIN pending ON pending.customer_id = r.id
LEFT JOIN sizes ON sizes.customer_id = r.id
LEFT JOIN noted ON noted.customer_id = r.id
ON CONFLICT (customer_id) DO UPDATE SET
  first_seen_at = EXCLUDED.first_seen_at, last_seen_at = EXCLUDED.last_seen_at,
  last_visit_at = EXCLUDED.last_visit_at, last_visit_store = EXCLUDED.last_visit_store,
  last_purchase_at = EXCLUDED.last_purchase_at, last_purchase = EXCLUDED.last_purchase,
  visit_count = EXCLUDED.visit_count, order_count = EXCLUDED.order_count,
  lifetime_value = EXCLUDED.lifetime_value, currency = EXCLUDED.currency,
  preferred_store = EXCLUDED.preferred_store, channels = EXCLUDED.channels, open_cart = EXCLUDED.open_cart,
  wishlist = EXCLUDED.wishlist, sizes = EXCLUDED.sizes, open_complaint = EXCLUDED.open_complaint,
  -- The feedback app writes the score when a response lands: only a newer one replaces it, never a NULL.
  last_feedback_score = CASE
    WHEN EXCLUDED.last_feedback_at IS NOT NULL AND (profiles_customersummary.last_feedback_at IS NULL
         OR EXCLUDED.last_feedback_at > profiles_customersummary.last_feedback_at)
    THEN EXCLUDED.last_feedback_score ELSE profiles_customersummary.last_feedback_score END,
  last_feedback_at = greatest(EXCLUDED.last_feedback_at, profiles_customersummary.last_feedback_at),
  updated_at = EXCLUDED.updated_at
),
-- The lifecycle, in the same statement so that the order statistics are computed once for both.
stage AS (
  SELECT r.id, CASE
      WHEN coalesce(o.order_count, 0) = 0 THEN 'prospect'
      WHEN o.last_purchase_at < %(year_ago)s THEN 'lapsed'
      WHEN o.orders_12m >= 4 OR o.advocate THEN 'loyal'
      WHEN o.order_count >= 2 THEN 'repeat'
      ELSE 'new' END AS lifecycle
  FROM refresh_ids r LEFT JOIN orders o ON o.customer_id = r.id
)
UPDATE profiles_customer c SET lifecycle = stage.lifecycle, updated_at = %(now)s
FROM stage WHERE c.id = stage.id AND c.lifecycle IS DISTINCT FROM stage.lifecycle
"""
)

# Interests with their reason sentences, written in one statement (the rules are ``interest_reason``'s,
# which stays the readable reference; tests hold the two to the same sentences). The date words compare with
# constants: the planner folds these expressions of the parameters once, rather than a row's join to a CTE.
_TODAY = "(%(now)s::timestamptz AT TIME ZONE %(tz)s)::date"
_MONDAY = f"({_TODAY} - (date_part('isodow', {_TODAY})::int - 1))"
_YEAR = f"date_part('year', {_TODAY})::int"


def _day_sql(day: str) -> str:
    # 'Mon' (not 'TMMon') is the English abbreviation whatever the server's locale, as Python's %b in C; FM drops
    # the day's leading zero. Comparing with this year's bounds spares a date_part() per row.
    return (
        f"to_char({day}, 'Mon FMDD') || CASE WHEN {day} >= make_date({_YEAR}, 1, 1) "
        f"AND {day} < make_date({_YEAR} + 1, 1, 1) THEN '' ELSE ', ' || date_part('year', {day})::int END"
    )


def _clause_sql(*, first: bool, first_day: str, last_day: str) -> str:
    """One moment's clause, from a row of ``tallies``: the first names the interest, the next two say "it"."""
    if first:
        what = "label || coalesce(' (size ' || nullif(size, '') || ')', '')"
        thing = "label"
    else:
        what = "coalesce('size ' || nullif(size, ''), 'it')"
        thing = "'it'"
    # The ISO week, Monday first (the calendar week): a day within seven days of this week's Monday.
    this_week = f"({first_day} >= {_MONDAY} AND {first_day} < {_MONDAY} + 7)"
    return f"""(%(verbs)s::text[])[idx] || ' '
         || CASE WHEN moment = 'cart_added' THEN {what} || ' to cart' ELSE {thing} END
         || CASE WHEN n > 1 THEN ' ' || n || 'x' ELSE '' END
         || CASE WHEN flags & 1 = 1 AND moment NOT IN ('cart_added', 'wishlisted', 'checkout_started') THEN ' online'
                 WHEN flags & 2 = 2 THEN ' in store' ELSE '' END
         || ' ' || CASE
              WHEN n > 1 AND NOT {this_week} THEN 'since ' || {_day_sql(first_day)}
              WHEN {first_day} = {last_day} AND {last_day} = {_TODAY} THEN 'today'
              WHEN {first_day} = {last_day} AND {last_day} = {_TODAY} - 1 THEN 'yesterday'
              WHEN {this_week} THEN 'this week'
              ELSE 'on ' || {_day_sql(last_day)} END"""


_FIRST_DAY = "(first_at AT TIME ZONE %(tz)s)::date"
_LAST_DAY = "(latest_at AT TIME ZONE %(tz)s)::date"
_LATER_CLAUSE = _clause_sql(first=False, first_day=_FIRST_DAY, last_day=_LAST_DAY)

# Constant SQL fragments only (values are always parameters).
_INSERT_INTERESTS = (
    "WITH "  # noqa: S608
    + """weights(moment, weight, idx) AS (
  SELECT * FROM unnest(%(moments)s::text[], %(weights)s::float8[]) WITH ORDINALITY
),
scored AS (
  SELECT t.customer_id, w.idx, t.moment, t.occurred_at, t.size, t.category, t.brand, t.item_key, t.product_name,
         t.product_sku,
         -- One number for "all online" (1) and "all in store" (2), folded by a single bit_and() (channel is NOT NULL).
         CASE WHEN t.channel IN ('web', 'app') THEN 1 WHEN t.channel IN ('store', 'kiosk') THEN 2 ELSE 0 END AS flag,
         -- date_part, not extract: extract() returns numeric, and numeric power() is ~20x slower.
         w.weight * power(0.5::float8, greatest(date_part('epoch', %(now)s - t.occurred_at), 0) / 86400.0
                                       / %(half_life)s) AS score
  FROM refresh_tp t
  JOIN weights w ON w.moment = t.moment
  -- OFFSET 0 keeps this subquery: pulled up, its score would be computed once per kind, three times a touchpoint.
  OFFSET 0
),
weighted AS (
  -- Sorted once for the tallies, latest first within each (interest, moment). Kind and moment are numbers here
  -- and the key is compared bytewise (COLLATE "C"): the sort and the grouping only need them equal or not,
  -- which is the same under any deterministic collation, and numbers and bytes compare faster than the locale.
  SELECT t.customer_id, k.kind, k.key COLLATE "C" AS key, k.label, t.idx, t.flag, t.occurred_at, t.score,
         -- Only "added size 9 to cart" says a size, and never of a brand.
         CASE WHEN t.moment = 'cart_added' AND k.kind <> 2 THEN t.size ELSE '' END AS size
  FROM scored t
  CROSS JOIN LATERAL (VALUES
    (1, lower(t.category), t.category),
    (2, lower(t.brand), t.brand),
    (3, t.item_key, coalesce(nullif(t.product_name, ''), t.product_sku))
  ) AS k(kind, key, label)
  WHERE k.key <> ''
  ORDER BY t.customer_id, k.kind, 3, t.idx, t.occurred_at DESC
),
tallies AS (
  -- One row per interest and moment. Its rows arrive latest first (the ORDER BY above, which this GroupAggregate
  -- keeps), so the first of array_agg() is the latest label and size: array_agg(... ORDER BY) would sort every
  -- group again in PostgreSQL 15. (A key is never empty, so neither is its label: 'category' and 'brand' are
  -- lower(label), 'product' is the SKU, else the lowercased name, and the label the name, else the SKU.)
  SELECT customer_id, kind, key, idx, (%(moments)s::text[])[idx] AS moment, (array_agg(label))[1] AS label,
         max(occurred_at) AS latest_at, count(*) AS n, min(occurred_at) AS first_at, sum(score) AS score,
         (array_agg(size) FILTER (WHERE size <> ''))[1] AS size, bit_and(flag) AS flags
  FROM weighted
  GROUP BY customer_id, kind, key, idx
),
interests AS (
  -- One window per interest, its moments most recent first: the first one's label and latest touchpoint are the
  -- interest's, the score is summed in that order (as before: float addition depends on the order, and the
  -- score is rounded), and lead() writes the second and third clauses. With pos = 1 as its run condition the
  -- window returns each interest's first row only, and lead() evaluates its clause only on rows that exist.
  SELECT * FROM (
    SELECT t.*, row_number() OVER i AS pos, sum(score) OVER i AS total,
           lead("""
    + _LATER_CLAUSE
    + """, 1) OVER i AS second,
           lead("""
    + _LATER_CLAUSE
    + """, 2) OVER i AS third
    FROM tallies t
    WINDOW i AS (PARTITION BY customer_id, kind, key ORDER BY latest_at DESC, moment
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ) ranked WHERE pos = 1 AND total > 0.001
),
kept AS (
  -- The days are columns here so that the first clause converts each once (a lateral subquery's columns would
  -- be substituted into each of their uses). Ties in score and date go to the key in the default collation.
  SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY customer_id, kind ORDER BY total DESC, latest_at DESC,
                                 key COLLATE "default") AS rank,
           """
    + _FIRST_DAY
    + " AS first_day, "
    + _LAST_DAY
    + """ AS last_day
    FROM interests
  ) ranked WHERE rank <= %(per_kind)s
)
INSERT INTO profiles_interest (customer_id, kind, key, label, score, reason, last_at)
SELECT customer_id, (ARRAY['category', 'brand', 'product'])[kind], left(key, 200), left(label, 200),
       -- round(total::numeric, 4), without numeric for all but a few: total::numeric keeps 15 significant
       -- digits, which move total * 10000 by less than 1e-5 below a million, so both round to the same
       -- integer unless it lies within 0.001 of a half (those, and the rare larger totals, take numeric); and
       -- dividing that integer by 10000 gives the double nearest the decimal, as numeric's conversion does.
       CASE WHEN total < 1e6 AND abs(abs(total * 10000 - trunc(total * 10000)) - 0.5) > 0.001
            THEN round(total * 10000) / 10000 ELSE round(total::numeric, 4)::float8 END,
       left("""
    + _clause_sql(first=True, first_day="first_day", last_day="last_day")
    + """
            || coalesce('; ' || second, '') || coalesce('; ' || third, ''), 300),
       latest_at
FROM kept
"""
)


PARALLEL_MIN = 10_000  # fewer customers than this are refreshed on the caller's connection alone


def customers_refresh(customer_ids: Iterable[int], *, workers: int = 1) -> None:
    """Recompute CustomerSummary, Interest rows and lifecycle for these customers (set-based).

    Merged and erased customers in the list lose their derived rows. Safe to call inside the caller's
    transaction and idempotent. ``workers`` > 1 splits a big refresh over that many database connections
    (one thread each, waiting on PostgreSQL): the work is all in SQL, and one connection keeps only one core
    busy. The chunks hold disjoint customers, so they never wait on each other. Inside a transaction the
    refresh stays on the caller's connection (other connections would not see its uncommitted rows).
    """
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if workers > 1 and len(ids) >= PARALLEL_MIN and not connection.in_atomic_block:
        # Chunks of equal size, as many as a multiple of the workers: 210,000 customers in 5 chunks of 50,000
        # and one of 10,000 would leave one worker alone with the last one; 6 chunks of 35,000 keep both busy.
        count = math.ceil(math.ceil(len(ids) / BATCH_SIZE) / workers) * workers
        bounds = [len(ids) * index // count for index in range(count + 1)]
        chunks = [ids[start:end] for start, end in itertools.pairwise(bounds) if end > start]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            for _ in pool.map(_refresh_on_own_connection, chunks):
                pass  # re-raises a chunk's error here
        return
    for start in range(0, len(ids), BATCH_SIZE):
        _refresh_batch(ids[start : start + BATCH_SIZE])


def _refresh_on_own_connection(ids: list[int]) -> None:
    try:
        _refresh_batch(ids)
    finally:
        connections.close_all()  # this thread's connections only


RELATIVE_WORDS_DAYS = 8  # "today", "yesterday" and "this week" can only describe the last eight days


def recent_interests_refresh(*, now: datetime | None = None) -> int:
    """Nightly: rewrite the reasons that say "today", "yesterday" or "this week", which go stale overnight.

    Only customers with an interest touched in the last eight days can have such words; the rest of the
    reasons use dates ("since Nov 17") and stay true. Returns how many customers were refreshed.
    """
    since = (now or timezone.now()) - timedelta(days=RELATIVE_WORDS_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT customer_id FROM profiles_interest WHERE last_at >= %s", [since])
        ids = [row[0] for row in cursor.fetchall()]
    customers_refresh(ids)
    return len(ids)


@transaction.atomic
def _refresh_batch(ids: list[int]) -> None:
    now = timezone.now()
    params = {
        "ids": ids,
        "first_id": min(ids, default=0),
        "last_id": max(ids, default=0),
        "now": now,
        "year_ago": now - timedelta(days=365),
        "list_limit": LIST_LIMIT,
        "moments": list(MOMENT_WEIGHTS),
        "weights": list(MOMENT_WEIGHTS.values()),
        "half_life": HALF_LIFE_DAYS,
        "per_kind": INTERESTS_PER_KIND,
        "verbs": [_VERBS.get(moment, moment.replace("_", " ")) for moment in MOMENT_WEIGHTS],
        "tz": settings.TIME_ZONE,
    }
    with connection.cursor() as cursor:
        # The aggregates sort and hash the whole batch: with the 4 MB default they spill to disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # Compiling these statements' expressions costs more (~0.1 s per 50,000 customers) than it saves.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_DROP_TEMP)
        cursor.execute(_COPY_IDS, params)
        # Statistics first: without them the planner guesses a big id list and scans every touchpoint,
        # which turns a one-customer refresh (the live path) from milliseconds into a third of a second.
        cursor.execute("ANALYZE refresh_ids")
        cursor.execute(_COPY_TOUCHPOINTS, params)
        # A sample of 6,000 rows rather than the default 30,000: the same plans for a 35,000-customer batch
        # of 257k touchpoints, and its ANALYZE 0.06 s instead of 0.26-0.31 s (docs/benchmarks.md, "Session 8").
        cursor.execute("SET LOCAL default_statistics_target = 20")
        cursor.execute("ANALYZE refresh_tp")
        cursor.execute(
            "DELETE FROM profiles_customersummary WHERE customer_id = ANY(%(ids)s) "
            "AND customer_id NOT IN (SELECT id FROM refresh_ids)",
            params,
        )
        # Its CTEs come out sorted by customer: merge joins chain them to the batch for half what hash joins
        # cost (~0.1 s per 35,000 customers), but the planner, blind to their row counts, picks hash joins.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute(_UPSERT_SUMMARY_AND_LIFECYCLE, params)
        cursor.execute("SET LOCAL enable_hashjoin TO DEFAULT")
        cursor.execute("DELETE FROM profiles_interest WHERE customer_id = ANY(%(ids)s)", params)
        cursor.execute(_INSERT_INTERESTS, params)
        cursor.execute(_DROP_TEMP)


class MomentTally(tuple):
    """How often and when one moment happened for one interest (a row of the aggregate query)."""

    __slots__ = ()

    def __new__(cls, moment, count, first_at, last_at, size, online, in_store):
        return super().__new__(cls, (moment, count, first_at, last_at, size, online, in_store))

    moment = property(lambda self: self[0])
    count = property(lambda self: self[1])
    first_at = property(lambda self: self[2])
    last_at = property(lambda self: self[3])
    size = property(lambda self: self[4])
    online = property(lambda self: self[5])
    in_store = property(lambda self: self[6])


_VERBS = {
    "purchased": "bought",
    "returned": "returned",
    "cart_added": "added",
    "wishlisted": "wishlisted",
    "checkout_started": "started checkout with",
    "product_viewed": "viewed",
    "searched": "searched for",
    "review_written": "reviewed",
    "shared": "shared",
}


def interest_reason(kind: str, label: str, moments: Sequence[MomentTally], *, now: datetime, tz) -> str:
    """A sentence an associate can say out loud: "viewed Trail Runner 3x online this week; added size 9 to
    cart on Nov 20". Most recent moment first; the label is named once, then "it"."""
    clauses = []
    for index, tally in enumerate(sorted(moments, key=lambda m: m.last_at, reverse=True)[:3]):
        thing = label if index == 0 else "it"
        verb = _VERBS.get(tally.moment, tally.moment.replace("_", " "))
        if tally.moment == "cart_added":
            sized = f"size {tally.size}" if tally.size and kind != "brand" else ""
            # First clause: "added Trail Runner 3 (size 9) to cart"; later: "added size 9 to cart".
            what = (f"{label} ({sized})" if sized else label) if index == 0 else (sized or "it")
            clause = f"{verb} {what} to cart"
        else:
            clause = f"{verb} {thing}"
        if tally.count > 1:
            clause += f" {tally.count}x"
        if tally.online and tally.moment not in ("cart_added", "wishlisted", "checkout_started"):
            clause += " online"
        elif tally.in_store:
            clause += " in store"
        clause += " " + _when(tally, now=now, tz=tz)
        clauses.append(clause)
    return "; ".join(clauses)


def _when(tally: MomentTally, *, now: datetime, tz) -> str:
    today = now.astimezone(tz).date()
    first, last = tally.first_at.astimezone(tz).date(), tally.last_at.astimezone(tz).date()
    this_week = first.isocalendar()[:2] == today.isocalendar()[:2]  # the calendar week, Monday first
    if tally.count > 1 and not this_week:
        return f"since {_day(first, today)}"
    if first == last == today:
        return "today"
    if first == last == today - timedelta(days=1):
        return "yesterday"
    if this_week:
        return "this week"
    return f"on {_day(last, today)}"


def _day(day, today) -> str:
    text = f"{day:%b} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def decay(age_days: float) -> float:
    """The time-decay factor of a moment ``age_days`` old (documentation and tests)."""
    return math.pow(0.5, max(age_days, 0) / HALF_LIFE_DAYS)
