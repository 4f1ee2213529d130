# SQL here is assembled only from constant fragments defined in this module; values are always parameters.
# ruff: noqa: S608
"""Keeping the dashboard rollups up to date: incremental refreshes (Celery) and full rebuilds (backfills).

Everything here is set-based SQL: one statement per step, whatever the number of rows. Definitions of
the metrics these tables feed: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from clienteling.models import Store
from insights.models import RepeatFigureSet, Watermark
from insights.personas import PERSONAS
from insights.scope import WINDOWS, preset_periods

log = logging.getLogger(__name__)

LOOKBACK_DAYS = 30  # linear multi-touch attribution window
ASSIST_DAYS = 14  # associate-influenced: a purchase within this many days after an assisted visit
VIP_TIERS = ("gold", "platinum")
# Late comments (added after the score) are picked up if they come within this long of the answer.
COMMENT_GRACE = dt.timedelta(days=2)
# Re-read this much before the last time-based watermark: rows written by transactions that were still
# running at the last refresh carry earlier timestamps. Buckets are recomputed whole, so overlap is free.
TIME_OVERLAP = dt.timedelta(minutes=15)

# The local calendar day of a timestamp column at the store it belongs to (UTC when online / unknown).
_LOCAL_DAY = "(({col}) AT TIME ZONE COALESCE(s.timezone, 'UTC'))::date"
_STORE_JOIN = "LEFT JOIN clienteling_store s ON s.code = {alias}.store_code"

BATCH = 200_000  # touchpoints folded in per refresh transaction
# Repeat figures a dashboard asked for: kept this long after the last time someone opened them, at most
# this many sets (each adds a little to every touchpoint refresh).
REQUESTED_KEPT = dt.timedelta(days=7)
REQUESTED_MAX = 200
NON_TOUCH_MOMENTS = ("purchased", "returned")  # not credited by attribution: outcomes, not influences


@dataclass
class RefreshResult:
    touchpoints: int = 0
    customers: int = 0
    purchases: int = 0

    def __str__(self) -> str:
        return f"touchpoints={self.touchpoints} customers={self.customers} purchases={self.purchases}"


def _watermark(name: str) -> Watermark:
    Watermark.objects.get_or_create(name=name)
    return Watermark.objects.select_for_update().get(name=name)


def _stable_id_range(wm: Watermark, table: str) -> tuple[int, int]:
    """The id range (lo, hi] that is safe to fold in now.

    Ids are allocated when a row is inserted, not when it commits: a slow import may still commit ids
    below ones already visible. A high id becomes safe once every transaction of this database that was
    running when it was first seen has ended (our own excepted). Transaction ids are compared in their
    32-bit form, as pg_stat_activity shows them.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(max(id), 0), pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296,"
            " ARRAY(SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()) FROM " + table
        )
        max_id, xmax, running = cursor.fetchone()
    lo = wm.last_id
    earlier_finished = all(xid >= wm.pending_xmax for xid in running)
    safe = wm.pending_id if wm.pending_id > lo and earlier_finished else lo
    if not running:
        # Nobody else is writing: everything visible now is final.
        wm.pending_id, wm.pending_xmax = max_id, xmax
        return lo, max_id
    if max_id > safe:
        wm.pending_id, wm.pending_xmax = max_id, xmax
    return lo, safe


# --- Touchpoints, purchases, attribution -------------------------------------------------------------


@transaction.atomic
def touchpoint_rollups_refresh(*, batch: int = BATCH) -> RefreshResult:
    """Fold new touchpoints into the daily counts and recompute the purchase facts of the customers they
    belong to (a late web visit changes the attribution of a purchase after it). Safe to run twice."""
    wm = _watermark("touchpoints")
    lo, hi = _stable_id_range(wm, "profiles_touchpoint")
    hi = min(hi, lo + batch)
    result = RefreshResult()
    since = wm.last_at
    now = timezone.now()
    with connection.cursor() as cursor:
        if hi > lo:
            cursor.execute("DROP TABLE IF EXISTS insights_touch_delta")
            cursor.execute(
                f"""
                CREATE TEMP TABLE insights_touch_delta ON COMMIT DROP AS
                SELECT t.store_code, {_LOCAL_DAY.format(col="t.occurred_at")} AS day, t.moment, t.channel,
                       count(*) AS touchpoints
                FROM profiles_touchpoint t {_STORE_JOIN.format(alias="t")}
                WHERE t.id > %s AND t.id <= %s
                GROUP BY 1, 2, 3, 4
                """,
                [lo, hi],
            )
            _sums_add(cursor, "insights_touchpointdaily", ("moment", "channel"), "insights_touch_delta")
            cursor.execute("SELECT COALESCE(sum(touchpoints), 0) FROM insights_touch_delta")
            result.touchpoints = cursor.fetchone()[0]
        cursor.execute("DROP TABLE IF EXISTS insights_affected")
        cursor.execute(
            "CREATE TEMP TABLE insights_affected (customer_id bigint PRIMARY KEY) ON COMMIT DROP",
        )
        cursor.execute(
            "INSERT INTO insights_affected SELECT DISTINCT customer_id FROM profiles_touchpoint"
            " WHERE id > %s AND id <= %s ON CONFLICT DO NOTHING",
            [lo, hi],
        )
        if since is not None:
            # Merges move touchpoints without new ids, erasure deletes them: both change purchase facts.
            cursor.execute(
                """
                INSERT INTO insights_affected
                SELECT survivor_id FROM profiles_merge WHERE created_at >= %(s)s OR undone_at >= %(s)s
                UNION SELECT absorbed_id FROM profiles_merge WHERE created_at >= %(s)s OR undone_at >= %(s)s
                UNION SELECT id FROM profiles_customer WHERE erased_at >= %(s)s
                ON CONFLICT DO NOTHING
                """,
                {"s": since - TIME_OVERLAP},
            )
        result.customers, result.purchases = _purchases_recompute(cursor)
        if hi > wm.last_id:
            # The stored repeat figures were kept exact above: they now include everything up to hi.
            cursor.execute("UPDATE insights_repeatfigureset SET as_of_id = %s", [hi])
    wm.last_id = max(wm.last_id, hi)
    wm.last_at = now
    wm.save()
    return result


def _purchases_recompute(cursor) -> tuple[int, int]:
    """Recompute PurchaseFact / PurchaseCredit for the customers in ``insights_affected``, move their
    attribution in AttributionDaily from the old credits to the new ones, and their contributions to the
    stored repeat figures from the old facts to the new ones."""
    cursor.execute("SELECT count(*) FROM insights_affected")
    customers = cursor.fetchone()[0]
    if not customers:
        return 0, 0
    cursor.execute("SELECT EXISTS (SELECT 1 FROM insights_repeatfigureset)")
    (repeat_sets,) = cursor.fetchone()
    if repeat_sets:
        # Stored repeat figures: these customers' old facts are kept as they are deleted and their new
        # ones as they are inserted, to move the figures from the old contributions to the new ones.
        _repeat_delta_start(cursor)
    # 1. Their old credits, to take out of the attribution (with the new ones in step 4).
    cursor.execute("DROP TABLE IF EXISTS insights_credit_delta")
    cursor.execute(
        f"""
        CREATE TEMP TABLE insights_credit_delta ON COMMIT DROP AS
        {_CREDITS_BY_BUCKET.format(sign="-")}
        """
    )
    cursor.execute(
        """
        WITH old AS (
            SELECT assisted_store_code AS store_code, day, assisted_associate_code AS associate_code,
                   count(*) AS purchases, sum(revenue) AS revenue
            FROM insights_purchasefact
            WHERE customer_id IN (SELECT customer_id FROM insights_affected) AND assisted_store_code <> ''
            GROUP BY 1, 2, 3
        )
        UPDATE insights_assisteddaily x
        SET purchases = x.purchases - old.purchases, revenue = x.revenue - old.revenue
        FROM old
        WHERE x.store_code = old.store_code AND x.day = old.day AND x.associate_code = old.associate_code
        """
    )
    cursor.execute(
        "DELETE FROM insights_purchasecredit WHERE customer_id IN (SELECT customer_id FROM insights_affected)"
    )
    delete_facts = "DELETE FROM insights_purchasefact WHERE customer_id IN (SELECT customer_id FROM insights_affected)"
    if repeat_sets:
        delete_facts = f"WITH gone AS ({delete_facts} {_REPEAT_RETURNING}) INSERT INTO insights_repeat_facts SELECT -1, * FROM gone"
    cursor.execute(delete_facts)
    # 2. Her purchases: one per order (POS files write one line per item with the same order id).
    cursor.execute(
        f"""
        WITH orders AS (
            SELECT min(t.id) AS id, t.customer_id, min(t.occurred_at) AS occurred_at,
                   min(t.store_code) AS store_code, min(t.channel) AS channel,
                   sum(COALESCE(t.revenue, 0)) AS revenue
            FROM profiles_touchpoint t
            JOIN profiles_customer c ON c.id = t.customer_id AND c.erased_at IS NULL AND c.merged_into_id IS NULL
            WHERE t.customer_id IN (SELECT customer_id FROM insights_affected) AND t.moment = 'purchased'
            GROUP BY t.customer_id, CASE WHEN t.order_id <> '' THEN t.order_id ELSE t.id::text END
        ), seq AS (
            SELECT o.*, row_number() OVER w AS ordinal,
                   floor(extract(epoch FROM lead(o.occurred_at) OVER w - o.occurred_at) / 86400)::int AS next_gap
            FROM orders o
            WINDOW w AS (PARTITION BY o.customer_id ORDER BY o.occurred_at, o.id)
        )
        {", inserted AS (" if repeat_sets else ""}
        INSERT INTO insights_purchasefact (touchpoint_id, customer_id, store_code, day, occurred_at, channel, revenue,
                                           ordinal, next_gap_days, touches, assisted_store_code, assisted_associate_code)
        SELECT seq.id, seq.customer_id, seq.store_code, {_LOCAL_DAY.format(col="seq.occurred_at")},
               seq.occurred_at, seq.channel, seq.revenue, seq.ordinal, seq.next_gap,
               (SELECT count(*) FROM profiles_touchpoint b
                 WHERE b.customer_id = seq.customer_id
                   AND b.occurred_at >= seq.occurred_at - make_interval(days => %(lookback)s)
                   AND b.occurred_at < seq.occurred_at AND b.moment <> ALL(%(outcomes)s)),
               COALESCE(a.store_code, ''), COALESCE(a.associate_code, '')
        FROM seq {_STORE_JOIN.format(alias="seq")}
        LEFT JOIN LATERAL (
            SELECT b.store_code, b.associate_code FROM profiles_touchpoint b
            WHERE b.customer_id = seq.customer_id
              AND b.occurred_at >= seq.occurred_at - make_interval(days => %(assist)s)
              AND b.occurred_at <= seq.occurred_at
              AND b.channel = 'store'
              AND (b.moment = 'associate_assisted' OR (b.moment = 'store_visit' AND b.associate_code <> ''))
            ORDER BY b.occurred_at DESC LIMIT 1
        ) a ON true
        {f"{_REPEAT_RETURNING}) INSERT INTO insights_repeat_facts SELECT 1, * FROM inserted" if repeat_sets else ""}
        """,
        {"lookback": LOOKBACK_DAYS, "assist": ASSIST_DAYS, "outcomes": list(NON_TOUCH_MOMENTS)},
    )
    purchases = cursor.rowcount
    if repeat_sets:
        _repeat_facts_apply(cursor)
    cursor.execute(
        """
        INSERT INTO insights_assisteddaily (store_code, day, associate_code, purchases, revenue)
        SELECT assisted_store_code, day, assisted_associate_code, count(*), sum(revenue)
        FROM insights_purchasefact
        WHERE customer_id IN (SELECT customer_id FROM insights_affected) AND assisted_store_code <> ''
        GROUP BY 1, 2, 3
        ON CONFLICT (store_code, day, associate_code) DO UPDATE SET
            purchases = insights_assisteddaily.purchases + EXCLUDED.purchases,
            revenue = insights_assisteddaily.revenue + EXCLUDED.revenue
        """
    )
    cursor.execute("DELETE FROM insights_assisteddaily WHERE purchases <= 0")
    # 3. Linear credit: each touch in the lookback gets an equal share; no touch = direct.
    cursor.execute(
        """
        INSERT INTO insights_purchasecredit (purchase_id, customer_id, moment, channel, credit, revenue)
        SELECT f.touchpoint_id, f.customer_id, x.moment, x.channel,
               x.n::float / f.touches, round(f.revenue * x.n / f.touches, 4)
        FROM insights_purchasefact f
        CROSS JOIN LATERAL (
            SELECT b.moment, b.channel, count(*) AS n FROM profiles_touchpoint b
            WHERE b.customer_id = f.customer_id
              AND b.occurred_at >= f.occurred_at - make_interval(days => %(lookback)s)
              AND b.occurred_at < f.occurred_at AND b.moment <> ALL(%(outcomes)s)
            GROUP BY 1, 2
        ) x
        WHERE f.customer_id IN (SELECT customer_id FROM insights_affected) AND f.touches > 0
        UNION ALL
        SELECT f.touchpoint_id, f.customer_id, 'purchased', f.channel, 1.0, f.revenue
        FROM insights_purchasefact f
        WHERE f.customer_id IN (SELECT customer_id FROM insights_affected) AND f.touches = 0
        """,
        {"lookback": LOOKBACK_DAYS, "outcomes": list(NON_TOUCH_MOMENTS)},
    )
    # 4. Move the attribution from the old credits to the new ones.
    cursor.execute(f"INSERT INTO insights_credit_delta {_CREDITS_BY_BUCKET.format(sign='')}")
    _sums_add(cursor, "insights_attributiondaily", ("moment", "channel"), "insights_credit_delta")
    for table, day in (("insights_attributiondaily", "day"), ("insights_attributionweekly", _WEEK.format(col="day"))):
        cursor.execute(
            f"""
            DELETE FROM {table} a USING (SELECT DISTINCT store_code, {day} AS day FROM insights_credit_delta) b
            WHERE a.store_code = b.store_code AND a.day = b.day AND a.purchases <= 0 AND abs(a.revenue) < 0.01
            """
        )
    return customers, purchases


# The affected customers' credits per attribution bucket, signed (old ones out, new ones in).
_CREDITS_BY_BUCKET = """
    SELECT f.store_code, f.day, c.moment, c.channel,
           {sign}sum(c.revenue) AS revenue, {sign}sum(c.credit) AS credit, {sign}count(*) AS purchases
    FROM insights_purchasecredit c JOIN insights_purchasefact f ON f.touchpoint_id = c.purchase_id
    WHERE c.customer_id IN (SELECT customer_id FROM insights_affected)
    GROUP BY 1, 2, 3, 4
"""


# --- Weekly rollups --------------------------------------------------------------------------------------
#
# A year of daily rows is 300k-700k rows at 50 stores, too many to sum per request; the dashboards read
# whole weeks from weekly tables and only the partial weeks at a period's ends from the days
# (insights.selectors.rollup_rows). A weekly row holds the sums of its daily rows for the same store and
# local week (Monday to Sunday, ``day`` = the Monday), over the bucket columns its page needs, and changes
# in the same transaction as they do: additive rollups add the same delta to both, recomputed ones
# recompute the weeks they touched.

_WEEK = "date_trunc('week', {col})::date"


@dataclass(frozen=True)
class _Weekly:
    table: str
    daily: str
    keys: tuple[str, ...]  # bucket columns besides store_code and day (a subset of the daily table's)
    sums: tuple[str, ...]


_RESPONSE_SUMS = ("responses", "promoters", "passives", "detractors", "score_sum", "commented")
WEEKLY = (
    _Weekly("insights_touchpointweekly", "insights_touchpointdaily", ("moment",), ("touchpoints",)),
    _Weekly(
        "insights_attributionweekly",
        "insights_attributiondaily",
        ("moment", "channel"),
        ("revenue", "credit", "purchases"),
    ),
    _Weekly("insights_responseweekly", "insights_responsedaily", ("kind", "moment"), _RESPONSE_SUMS),
    _Weekly("insights_associateweekly", "insights_responsedaily", ("kind", "associate_code"), _RESPONSE_SUMS),
    _Weekly("insights_themeweekly", "insights_themedaily", ("theme",), ("mentions", "detractor_mentions")),
)


def _weekly_of(daily: str) -> list[_Weekly]:
    return [weekly for weekly in WEEKLY if weekly.daily == daily]


def _weekly_insert(weekly: _Weekly, source: str, join: str = "") -> str:
    """INSERT the rows of ``source`` (shaped like the daily table) summed per week into ``weekly``."""
    keys = ", ".join(f"d.{k}" for k in weekly.keys)
    return f"""
        INSERT INTO {weekly.table} (store_code, day, {", ".join(weekly.keys)}, {", ".join(weekly.sums)})
        SELECT d.store_code, {_WEEK.format(col="d.day")}, {keys}, {", ".join(f"sum(d.{c})" for c in weekly.sums)}
        FROM {source} d {join}
        GROUP BY d.store_code, 2, {keys}
    """


def _sums_add(cursor, daily: str, bucket: tuple[str, ...], delta: str) -> None:
    """Add the rows of the table ``delta`` (shaped like ``daily``, whose bucket columns besides store_code
    and day are ``bucket``; several rows per bucket allowed) to the daily table and its weekly tables."""
    weeklies = _weekly_of(daily)
    sums = weeklies[0].sums
    columns = ", ".join(("store_code", "day", *bucket))
    targets = [
        (
            daily,
            bucket,
            f"INSERT INTO {daily} ({columns}, {', '.join(sums)}) SELECT {columns},"
            f" {', '.join(f'sum({c})' for c in sums)} FROM {delta} GROUP BY {columns}",
        ),
    ] + [(weekly.table, weekly.keys, _weekly_insert(weekly, delta)) for weekly in weeklies]
    for table, keys, insert in targets:
        cursor.execute(
            f"""{insert}
            ON CONFLICT (store_code, day, {", ".join(keys)})
            DO UPDATE SET {", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)}
            """
        )


def _weeks_recompute(cursor, daily: str, buckets: str | None = None) -> None:
    """Rewrite the weekly tables of ``daily`` from its rows: for the (store_code, week) pairs of the table
    ``buckets``, or every week when None."""
    for weekly in _weekly_of(daily):
        if buckets is None:
            cursor.execute(f"DELETE FROM {weekly.table}")
            join = ""
        else:
            cursor.execute(
                f"DELETE FROM {weekly.table} w USING {buckets} b WHERE w.store_code = b.store_code AND w.day = b.week"
            )
            join = f"JOIN {buckets} b ON b.store_code = d.store_code AND d.day >= b.week AND d.day < b.week + 7"
        cursor.execute(_weekly_insert(weekly, daily, join))


def weekly_rollups_rebuild() -> None:
    """Recompute every weekly rollup from its daily table (after a backfill that wrote the days)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for daily in dict.fromkeys(weekly.daily for weekly in WEEKLY):
            _weeks_recompute(cursor, daily)


# --- Repeat-customer figures for the fixed scopes and preset periods -----------------------------------
#
# Distinct purchasers do not add up across days, but they do add up across customers: every figure is a
# sum over customers of what her own purchase facts contribute. So a stored figure is kept exact by
# taking out the old contribution of the customers whose facts are recomputed and putting in the new one,
# in the same transaction as the facts themselves (``_purchases_recompute``). The set of stored figures
# (RepeatFigureSet) is computed once, from the facts, by ``repeat_figures_refresh``.

# What the stored figures need of a purchase fact, as the refresh deletes and inserts them.
_REPEAT_RETURNING = "RETURNING customer_id, store_code, day, next_gap_days, ordinal"

# The recomputed customers' old (-1) and new (+1) facts, once per stored set whose scope and period hold
# them. Sets for everything (no store codes) join on dates only; the others are unnested to one row per
# store so the join is on the store code.
_CHANGED_HITS = """
    SELECT f.sign, s.id AS set_id, f.customer_id, f.day, f.next_gap_days, f.ordinal
    FROM insights_repeat_facts f
    JOIN insights_repeatfigureset s ON s.store_codes IS NULL AND f.day >= s.start AND f.day <= s."end"
    UNION ALL
    SELECT f.sign, m.id, f.customer_id, f.day, f.next_gap_days, f.ordinal
    FROM insights_repeat_facts f
    JOIN (SELECT id, start, "end", unnest(store_codes) AS store_code FROM insights_repeatfigureset
          WHERE store_codes IS NOT NULL) m ON m.store_code = f.store_code AND f.day >= m.start AND f.day <= m."end"
"""


def _repeat_delta_start(cursor) -> None:
    cursor.execute("DROP TABLE IF EXISTS insights_repeat_facts")
    cursor.execute(
        "CREATE TEMP TABLE insights_repeat_facts (sign int, customer_id bigint, store_code varchar(20), day date,"
        " next_gap_days int, ordinal int) ON COMMIT DROP"
    )
    cursor.execute("DROP TABLE IF EXISTS insights_repeat_delta")
    cursor.execute(
        "CREATE TEMP TABLE insights_repeat_delta (set_id bigint, within_days int, month date, purchasers int,"
        " repeaters int, new int, orders int) ON COMMIT DROP"
    )


def _repeat_facts_apply(cursor) -> None:
    """Move the stored figures from the old contributions of the customers in ``insights_repeat_facts``
    to their new ones. A customer whose facts are the same as before (what the figures read of them: a
    new page view does not change them) contributes the same: she is left out."""
    cursor.execute(
        """
        DELETE FROM insights_repeat_facts WHERE customer_id NOT IN (
            SELECT customer_id FROM insights_repeat_facts
            GROUP BY customer_id, store_code, day, next_gap_days, ordinal HAVING sum(sign) <> 0
        )
        """
    )
    _repeat_counts_add(cursor, _CHANGED_HITS, {})
    _repeat_delta_apply(cursor)


def _repeat_counts_add(cursor, hits_sql: str, params: dict) -> None:
    """Add to ``insights_repeat_delta`` the repeat-customer counts of ``hits_sql`` (rows of sign, set_id,
    customer_id, day, next_gap_days, ordinal), times their sign, for every window the dashboard offers.

    The same grouping as the live query (``selectors.repeat_summary``): per customer and month and per
    customer over the period; she repeated within w days when her smallest gap to a next purchase is <= w.
    """
    windows = [days for days, _label in WINDOWS]
    repeaters = ", ".join(f"count(*) FILTER (WHERE gap <= %(w{i})s)" for i in range(len(windows)))
    params = params | {f"w{i}": days for i, days in enumerate(windows)} | {"windows": windows}
    cursor.execute(
        f"""
        INSERT INTO insights_repeat_delta (set_id, within_days, month, purchasers, repeaters, new, orders)
        WITH per_customer AS (
            SELECT sign, set_id, customer_id, date_trunc('month', day)::date AS month,
                   min(next_gap_days) AS gap, bool_or(ordinal = 1) AS first_ever, count(*) AS orders
            FROM ({hits_sql}) hits
            GROUP BY GROUPING SETS ((sign, set_id, customer_id, date_trunc('month', day)::date),
                                    (sign, set_id, customer_id))
        ), counts AS (
            SELECT sign, set_id, month, count(*) AS purchasers, count(*) FILTER (WHERE first_ever) AS new,
                   sum(orders) AS orders, ARRAY[{repeaters}] AS repeaters
            FROM per_customer GROUP BY sign, set_id, month
        )
        SELECT set_id, w.days, month, sign * purchasers, sign * w.repeaters, sign * new, sign * orders
        FROM counts CROSS JOIN LATERAL unnest(%(windows)s::int[], repeaters) AS w(days, repeaters)
        """,
        params,
    )


def _repeat_delta_apply(cursor) -> None:
    cursor.execute(
        """
        INSERT INTO insights_repeatfigure (figure_set_id, within_days, month, purchasers, repeaters, new, orders)
        SELECT set_id, within_days, month, sum(purchasers), sum(repeaters), sum(new), sum(orders)
        FROM insights_repeat_delta GROUP BY 1, 2, 3
        -- Most recomputed customers' facts did not change (a page view, a late visit): nothing to write.
        HAVING sum(purchasers) <> 0 OR sum(repeaters) <> 0 OR sum(new) <> 0 OR sum(orders) <> 0
        ON CONFLICT (figure_set_id, within_days, month) DO UPDATE SET
            purchasers = insights_repeatfigure.purchasers + EXCLUDED.purchasers,
            repeaters = insights_repeatfigure.repeaters + EXCLUDED.repeaters,
            new = insights_repeatfigure.new + EXCLUDED.new,
            orders = insights_repeatfigure.orders + EXCLUDED.orders
        """
    )
    # A month nobody bought in any more is not listed (the live query has no row for it); totals stay.
    cursor.execute(
        "DELETE FROM insights_repeatfigure WHERE month IS NOT NULL AND purchasers = 0"
        " AND figure_set_id IN (SELECT set_id FROM insights_repeat_delta)"
    )
    cursor.execute("TRUNCATE insights_repeat_delta")


def repeat_fixed_scopes() -> list[tuple[str, ...] | None]:
    """The scopes whose repeat figures are stored: everything (None), each active store, and the active
    stores of each region (what an admin's region picker and a regional manager's own stores give)."""
    stores = list(Store.objects.active().values_list("code", "region_id"))
    regions: dict[int, list[str]] = {}
    for code, region_id in stores:
        if region_id is not None:
            regions.setdefault(region_id, []).append(code)
    scopes: list[tuple[str, ...] | None] = [None]
    scopes += [(code,) for code, _region in stores]
    scopes += [tuple(sorted(set(codes))) for codes in regions.values()]
    return list(dict.fromkeys(scopes))


def repeat_figures_refresh(*, today: dt.date | None = None) -> int:
    """Store the repeat-customer figures of every fixed scope for the preset periods ending today and
    tomorrow (so they are ready when the day turns), and drop the sets no longer wanted: other presets,
    and sets a dashboard asked for (``repeat_figures_count``) that nobody has opened for a week.

    Sets already stored are kept as they are: the touchpoint refresh keeps them exact. Each new set is
    computed in its own transaction under the touchpoint watermark's lock, so no refresh can change the
    purchase facts between the set's computation and its first update, and a refresh waits for one set
    at most. Hourly (beat): a few small queries when nothing is missing. Returns the number of sets computed.
    """
    today = today or timezone.localdate()
    wanted = {
        (codes, period.start, period.end)
        for codes in repeat_fixed_scopes()
        for end in (today, today + dt.timedelta(days=1))
        for period in preset_periods(end)
    }
    asked_since = timezone.now() - REQUESTED_KEPT
    with transaction.atomic():
        wm = _watermark("touchpoints")
        stored = {
            (tuple(s.store_codes) if s.store_codes is not None else None, s.start, s.end): s
            for s in RepeatFigureSet.objects.all()
        }
        # A set behind the watermark was not kept up to date (it cannot happen through the services):
        # it is recomputed rather than trusted (a requested one when it is asked for again).
        gone = [
            s.pk
            for key, s in stored.items()
            if (key not in wanted and (s.requested_at is None or s.requested_at < asked_since))
            or s.as_of_id != wm.last_id
        ]
        RepeatFigureSet.objects.filter(pk__in=gone).delete()
        missing = sorted(
            (key for key in wanted if key not in stored or stored[key].pk in gone),
            key=lambda key: (key[2], key[1], key[0] or ()),
        )
    return sum(_repeat_figure_set_compute(codes, start, end) for codes, start, end in missing)


def repeat_figures_count(codes: tuple[str, ...] | None, start: dt.date, end: dt.date) -> bool:
    """Count and store the figures of a scope and period a dashboard asked for (too large to count live),
    keeping the ``REQUESTED_MAX`` most recently asked-for sets. Returns False when they were there already."""
    codes = tuple(sorted(set(codes))) if codes is not None else None
    computed = _repeat_figure_set_compute(codes, start, end, requested=True)
    if computed:
        keep = RepeatFigureSet.objects.filter(requested_at__isnull=False).order_by("-requested_at")[:REQUESTED_MAX]
        RepeatFigureSet.objects.filter(requested_at__isnull=False).exclude(pk__in=keep.values("pk")).delete()
    return computed


@transaction.atomic
def _repeat_figure_set_compute(
    codes: tuple[str, ...] | None, start: dt.date, end: dt.date, *, requested: bool = False
) -> bool:
    wm = _watermark("touchpoints")
    same = RepeatFigureSet.objects.filter(start=start, end=end)
    same = same.filter(store_codes__isnull=True) if codes is None else same.filter(store_codes=list(codes))
    if same.exists():
        return False  # another run got there first (we waited for its lock)
    now = timezone.now()
    figure_set = RepeatFigureSet.objects.create(
        store_codes=list(codes) if codes is not None else None,
        start=start,
        end=end,
        as_of_id=wm.last_id,
        computed_at=now,
        requested_at=now if requested else None,
    )
    params = {"set_id": figure_set.pk, "start": start, "end": end, "codes": list(codes or ())}
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO insights_repeatfigure (figure_set_id, within_days, month, purchasers, repeaters, new, orders)"
            " SELECT %s, days, NULL, 0, 0, 0, 0 FROM unnest(%s::int[]) days",
            [figure_set.pk, [days for days, _label in WINDOWS]],
        )
        _repeat_delta_start(cursor)
        # The same index-only scan of the period's facts as the live query.
        _repeat_counts_add(
            cursor,
            "SELECT 1 AS sign, %(set_id)s::bigint AS set_id, customer_id, day, next_gap_days, ordinal"
            " FROM insights_purchasefact WHERE day >= %(start)s AND day <= %(end)s"
            + ("" if codes is None else " AND store_code = ANY(%(codes)s)"),
            params,
        )
        _repeat_delta_apply(cursor)
    return True


# --- Sentiment ---------------------------------------------------------------------------------------

# Which answers count as promoters and detractors on each scale (detractors match feedback's follow-ups).
_PROMOTER = "CASE r.kind WHEN 'nps' THEN r.score >= 9 WHEN 'csat' THEN r.score >= 4 WHEN 'ces' THEN r.score >= 6 ELSE r.score >= 1 END"
_DETRACTOR = "CASE r.kind WHEN 'nps' THEN r.score <= 6 WHEN 'csat' THEN r.score <= 2 WHEN 'ces' THEN r.score <= 2 ELSE r.score <= 0 END"


@transaction.atomic
def sentiment_rollups_refresh(*, full: bool = False) -> int:
    """Recompute the response, theme, invitation and follow-up buckets that changed since the last run.

    Buckets are recomputed whole from the source rows, so answers changed in place (a re-answer, a late
    comment, a follow-up resolved) are counted once. Answers are bucketed by their first answer time,
    which never moves. Returns the number of buckets recomputed.
    """
    wm = _watermark("sentiment")
    now = timezone.now()
    since = None if full or wm.last_at is None else wm.last_at - TIME_OVERLAP
    local_first = _LOCAL_DAY.format(col="r.first_answered_at")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS insights_rbuckets")
        cursor.execute("CREATE TEMP TABLE insights_rbuckets (store_code varchar(20), day date) ON COMMIT DROP")
        cursor.execute("DROP TABLE IF EXISTS insights_ibuckets")
        cursor.execute("CREATE TEMP TABLE insights_ibuckets (store_code varchar(20), day date) ON COMMIT DROP")
        where = "true"
        params: dict = {}
        if since is not None:
            # Answers are applied from the pending table within seconds, but after a worker outage an answer
            # can arrive with an old answer time: new rows are also caught by id.
            where = (
                "(r.answered_at >= %(since_grace)s AND (r.answered_at >= %(since)s OR r.commented_at >= %(since)s))"
                " OR r.id > %(last_id)s"
            )
            params = {"since": since, "since_grace": since - COMMENT_GRACE, "last_id": wm.last_id}
        cursor.execute(
            f"INSERT INTO insights_rbuckets SELECT DISTINCT r.store_code, {local_first}"
            f" FROM feedback_response r {_STORE_JOIN.format(alias='r')} WHERE {where}",
            params,
        )
        # Invitation buckets: sent since, or answered since (the answer changes the bucket's rate).
        iwhere = "i.sent_at IS NOT NULL" if since is None else "i.sent_at >= %(since)s"
        cursor.execute(
            f"""
            INSERT INTO insights_ibuckets
            SELECT DISTINCT i.store_code, {_LOCAL_DAY.format(col="i.sent_at")}
            FROM feedback_invitation i {_STORE_JOIN.format(alias="i")} WHERE {iwhere}
            UNION
            SELECT DISTINCT i.store_code, {_LOCAL_DAY.format(col="i.sent_at")}
            FROM feedback_response r JOIN feedback_invitation i ON i.id = r.invitation_id
            {_STORE_JOIN.format(alias="i")}
            WHERE i.sent_at IS NOT NULL AND {where}
            """,
            params,
        )
        if since is None:
            for table in ("responsedaily", "themedaily", "invitationdaily", "followupdaily"):
                cursor.execute(f"DELETE FROM insights_{table}")
        else:
            for table in ("responsedaily", "themedaily"):
                cursor.execute(
                    f"DELETE FROM insights_{table} x USING insights_rbuckets b"
                    " WHERE x.store_code = b.store_code AND x.day = b.day"
                )
            cursor.execute(
                "DELETE FROM insights_invitationdaily x USING insights_ibuckets b"
                " WHERE x.store_code = b.store_code AND x.day = b.day"
            )
        # The answers of those buckets. answered_at >= first_answered_at, so a lower bound on answered_at
        # lets the (store_code, answered_at) index narrow the read.
        bucket_rows = f"""
            FROM feedback_response r {_STORE_JOIN.format(alias="r")}
            JOIN insights_rbuckets b ON b.store_code = r.store_code
             AND r.answered_at >= b.day - 1 AND {local_first} = b.day
            WHERE NOT r.bot_suspected
        """
        cursor.execute(
            f"""
            INSERT INTO insights_responsedaily (store_code, day, kind, moment, associate_code, responses,
                                                promoters, passives, detractors, score_sum, commented)
            SELECT r.store_code, b.day, r.kind, r.moment, r.associate_code, count(*),
                   count(*) FILTER (WHERE {_PROMOTER}),
                   count(*) FILTER (WHERE NOT ({_PROMOTER}) AND NOT ({_DETRACTOR})),
                   count(*) FILTER (WHERE {_DETRACTOR}),
                   sum(r.score), count(*) FILTER (WHERE r.comment <> '')
            {bucket_rows}
            GROUP BY 1, 2, 3, 4, 5
            """
        )
        cursor.execute(
            f"""
            INSERT INTO insights_themedaily (store_code, day, kind, theme, mentions, detractor_mentions,
                                             example_response_id)
            SELECT r.store_code, b.day, r.kind, theme, count(*), count(*) FILTER (WHERE {_DETRACTOR}),
                   max(r.id) FILTER (WHERE r.comment <> '')
            {bucket_rows.replace("WHERE NOT", ", unnest(r.themes) AS theme WHERE NOT")}
            GROUP BY 1, 2, 3, 4
            """
        )
        cursor.execute(
            f"""
            INSERT INTO insights_invitationdaily (store_code, day, sent, answered)
            SELECT i.store_code, b.day, count(*), count(r.id)
            FROM feedback_invitation i {_STORE_JOIN.format(alias="i")}
            JOIN insights_ibuckets b ON b.store_code = i.store_code
             AND i.sent_at >= b.day - 1 AND {_LOCAL_DAY.format(col="i.sent_at")} = b.day
            LEFT JOIN feedback_response r ON r.invitation_id = i.id AND NOT r.bot_suspected
            GROUP BY 1, 2
            """
        )
        if since is None:
            _weeks_recompute(cursor, "insights_responsedaily")
            _weeks_recompute(cursor, "insights_themedaily")
        else:
            cursor.execute("DROP TABLE IF EXISTS insights_rweeks")
            cursor.execute(
                f"CREATE TEMP TABLE insights_rweeks ON COMMIT DROP AS"
                f" SELECT DISTINCT store_code, {_WEEK.format(col='day')} AS week FROM insights_rbuckets"
            )
            _weeks_recompute(cursor, "insights_responsedaily", "insights_rweeks")
            _weeks_recompute(cursor, "insights_themedaily", "insights_rweeks")
        buckets = _followups_refresh(cursor, since)
        cursor.execute("SELECT (SELECT count(*) FROM insights_rbuckets) + (SELECT count(*) FROM insights_ibuckets)")
        buckets += cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM feedback_response")
        last_id = cursor.fetchone()[0]
    wm.last_at = now
    wm.last_id = max(wm.last_id, last_id)
    wm.save()
    return buckets


def _followups_refresh(cursor, since) -> int:
    local_resolved = _LOCAL_DAY.format(col="f.resolved_at")
    cursor.execute("DROP TABLE IF EXISTS insights_fbuckets")
    cursor.execute("CREATE TEMP TABLE insights_fbuckets (store_code varchar(20), day date) ON COMMIT DROP")
    cursor.execute(
        f"INSERT INTO insights_fbuckets SELECT DISTINCT f.store_code, {local_resolved}"
        f" FROM feedback_followup f {_STORE_JOIN.format(alias='f')}"
        " WHERE f.resolved_at IS NOT NULL" + ("" if since is None else " AND f.resolved_at >= %s"),
        [] if since is None else [since],
    )
    cursor.execute(
        "DELETE FROM insights_followupdaily x USING insights_fbuckets b"
        " WHERE x.store_code = b.store_code AND x.day = b.day"
    )
    cursor.execute(
        f"""
        INSERT INTO insights_followupdaily (store_code, day, resolved, within_sla, resolve_seconds)
        SELECT f.store_code, b.day, count(*), count(*) FILTER (WHERE f.resolved_at <= f.due_at),
               COALESCE(sum(extract(epoch FROM f.resolved_at - f.created_at))::bigint, 0)
        FROM feedback_followup f {_STORE_JOIN.format(alias="f")}
        JOIN insights_fbuckets b ON b.store_code = f.store_code AND {local_resolved} = b.day
        WHERE f.status = 'resolved' AND f.resolved_at IS NOT NULL
        GROUP BY 1, 2
        """
    )
    return cursor.rowcount


# --- Nightly: lifecycle snapshot and personas ----------------------------------------------------------

# A customer's home store: the one she is attached to, else the one she visits most.
_HOME_STORE = "COALESCE(NULLIF(c.home_store_code, ''), cs.preferred_store, '')"


@transaction.atomic
def lifecycle_snapshot_take(*, day: dt.date | None = None) -> int:
    """Count customers per home store and lifecycle stage for ``day`` and record who moved between stages
    since the last snapshot. Re-running on the same day replaces that day's counts."""
    day = day or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM insights_stagedaily WHERE day = %s", [day])
        cursor.execute(
            f"""
            INSERT INTO insights_stagedaily (day, store_code, stage, customers, vips)
            SELECT %(day)s, {_HOME_STORE}, c.lifecycle, count(*), count(*) FILTER (WHERE c.tier = ANY(%(vip)s))
            FROM profiles_customer c LEFT JOIN profiles_customersummary cs ON cs.customer_id = c.id
            WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
            GROUP BY 2, 3
            """,
            {"day": day, "vip": list(VIP_TIERS)},
        )
        rows = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS insights_stage_now")
        cursor.execute(
            f"""
            CREATE TEMP TABLE insights_stage_now ON COMMIT DROP AS
            SELECT c.id AS customer_id, {_HOME_STORE} AS store_code, c.lifecycle AS stage
            FROM profiles_customer c LEFT JOIN profiles_customersummary cs ON cs.customer_id = c.id
            WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
            """
        )
        # Only moves between stages count ("" = a profile seen for the first time).
        cursor.execute(
            """
            INSERT INTO insights_stageflow (day, store_code, from_stage, to_stage, customers)
            SELECT %s, n.store_code, COALESCE(o.stage, ''), n.stage, count(*)
            FROM insights_stage_now n LEFT JOIN insights_customerstage o ON o.customer_id = n.customer_id
            WHERE o.stage IS DISTINCT FROM n.stage
            GROUP BY 2, 3, 4
            ON CONFLICT (day, store_code, from_stage, to_stage) DO UPDATE SET
                customers = insights_stageflow.customers + EXCLUDED.customers
            """,
            [day],
        )
        cursor.execute(
            """
            INSERT INTO insights_customerstage (customer_id, store_code, stage, since)
            SELECT n.customer_id, n.store_code, n.stage, %s FROM insights_stage_now n
            ON CONFLICT (customer_id) DO UPDATE SET
                store_code = EXCLUDED.store_code,
                stage = EXCLUDED.stage,
                since = CASE WHEN insights_customerstage.stage = EXCLUDED.stage
                             THEN insights_customerstage.since ELSE EXCLUDED.since END
            """,
            [day],
        )
        cursor.execute(
            "DELETE FROM insights_customerstage o WHERE NOT EXISTS"
            " (SELECT 1 FROM insights_stage_now n WHERE n.customer_id = o.customer_id)"
        )
    return rows


@transaction.atomic
def personas_assign(*, now: dt.datetime | None = None) -> int:
    """Give every customer the first persona whose rule she matches (insights/personas.py), write it on
    her summary (only where it changed), and count each persona per home store for today."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    case = " ".join(f"WHEN {p.rule_sql} THEN '{p.code}'" for p in PERSONAS[:-1])
    fallback = PERSONAS[-1].code
    names = " ".join(f"WHEN '{p.code}' THEN %(name_{p.code})s" for p in PERSONAS)
    params: dict = {"now": now, "day": day} | {f"name_{p.code}": str(p.name) for p in PERSONAS}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS insights_persona_now")
        cursor.execute(
            f"""
            CREATE TEMP TABLE insights_persona_now ON COMMIT DROP AS
            WITH buys AS (
                SELECT f.customer_id,
                       count(*) AS orders_all,
                       count(*) FILTER (WHERE f.occurred_at >= %(now)s - interval '365 days') AS orders_365,
                       min(f.occurred_at) AS first_purchase_at, max(f.occurred_at) AS last_purchase_at,
                       bool_or(f.channel IN ('store', 'kiosk') AND f.occurred_at >= %(now)s - interval '365 days') AS bought_store,
                       bool_or(f.channel NOT IN ('store', 'kiosk') AND f.occurred_at >= %(now)s - interval '365 days') AS bought_online
                FROM insights_purchasefact f GROUP BY 1
            ), touches AS (
                SELECT t.customer_id, count(*) AS touches_365,
                       count(*) FILTER (WHERE t.channel IN ('store', 'kiosk')) AS store_touches,
                       count(*) FILTER (WHERE t.channel IN ('web', 'app')) AS digital_touches,
                       count(*) FILTER (WHERE t.moment = 'event_attended') AS events,
                       max(t.occurred_at) AS last_seen_at
                FROM profiles_touchpoint t
                WHERE t.occurred_at >= %(now)s - interval '365 days' AND t.occurred_at <= %(now)s
                GROUP BY 1
            ), features AS (
                SELECT c.id AS customer_id, {_HOME_STORE} AS store_code,
                       COALESCE(b.orders_all, 0) AS orders_all, COALESCE(b.orders_365, 0) AS orders_365,
                       b.first_purchase_at, b.last_purchase_at,
                       COALESCE(b.bought_store, false) AS bought_store, COALESCE(b.bought_online, false) AS bought_online,
                       COALESCE(t.touches_365, 0) AS touches_365, COALESCE(t.store_touches, 0) AS store_touches,
                       COALESCE(t.digital_touches, 0) AS digital_touches, COALESCE(t.events, 0) AS events,
                       t.last_seen_at
                FROM profiles_customer c
                LEFT JOIN profiles_customersummary cs ON cs.customer_id = c.id
                LEFT JOIN buys b ON b.customer_id = c.id
                LEFT JOIN touches t ON t.customer_id = c.id
                WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
            )
            SELECT customer_id, store_code, CASE {case} ELSE '{fallback}' END AS persona
            FROM features
            """,
            params,
        )
        cursor.execute(
            f"""
            UPDATE profiles_customersummary cs
            SET persona = p.persona, persona_name = CASE p.persona {names} ELSE '' END
            FROM insights_persona_now p
            WHERE cs.customer_id = p.customer_id AND cs.persona IS DISTINCT FROM p.persona
            """,
            params,
        )
        changed = cursor.rowcount
        cursor.execute("DELETE FROM insights_personadaily WHERE day = %s", [day])
        cursor.execute(
            "INSERT INTO insights_personadaily (day, store_code, persona, customers)"
            " SELECT %s, store_code, persona, count(*) FROM insights_persona_now GROUP BY 2, 3",
            [day],
        )
    return changed


def rollups_rebuild(*, chunk: int = 50_000) -> RefreshResult:
    """Recompute every rollup from the source tables (backfills, or after a definition changes).

    Purchase facts are rebuilt in chunks of customers, each in its own transaction, so a rebuild of a
    large table neither holds one huge transaction nor blocks the dashboards for long.
    """
    result = RefreshResult()
    with transaction.atomic(), connection.cursor() as cursor:
        wm = _watermark("touchpoints")
        for table in (
            "touchpointdaily",
            "touchpointweekly",
            "attributiondaily",
            "attributionweekly",
            "assisteddaily",
            "purchasecredit",
            "purchasefact",
        ):
            cursor.execute(f"TRUNCATE insights_{table}")
        # Stored repeat figures counted the old facts: drop them (recomputed at the end).
        cursor.execute("DELETE FROM insights_repeatfigureset")  # its figures go with it (ON DELETE CASCADE)
        cursor.execute("SELECT COALESCE(max(id), 0) FROM profiles_touchpoint")
        hi = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO insights_touchpointdaily (store_code, day, moment, channel, touchpoints)
            SELECT t.store_code, {_LOCAL_DAY.format(col="t.occurred_at")}, t.moment, t.channel, count(*)
            FROM profiles_touchpoint t {_STORE_JOIN.format(alias="t")} WHERE t.id <= %s
            GROUP BY 1, 2, 3, 4
            """,
            [hi],
        )
        _weeks_recompute(cursor, "insights_touchpointdaily")
        wm.last_id = wm.pending_id = hi
        wm.last_at = timezone.now()
        wm.save()
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            _watermark("touchpoints")  # serialises with the refresh and with repeat_figures_refresh
            cursor.execute("DROP TABLE IF EXISTS insights_affected")
            cursor.execute("CREATE TEMP TABLE insights_affected (customer_id bigint PRIMARY KEY) ON COMMIT DROP")
            cursor.execute(
                "INSERT INTO insights_affected SELECT id FROM profiles_customer WHERE id > %s ORDER BY id LIMIT %s",
                [last, chunk],
            )
            if not cursor.rowcount:
                break
            cursor.execute("SELECT max(customer_id) FROM insights_affected")
            last = cursor.fetchone()[0]
            customers, purchases = _purchases_recompute(cursor)
            result.customers += customers
            result.purchases += purchases
    sentiment_rollups_refresh(full=True)
    repeat_figures_refresh()
    return result
