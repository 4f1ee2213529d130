# ruff: noqa: S608 - SQL built from constants in this file only
"""Dashboard render time at scale: 1M customers, 20M touchpoints, 2M survey answers.

The dashboards read rollups only, so this fills a throwaway database with rollup tables at the size they
would have for that volume (two years, 50 stores in 5 regions, generated with generate_series), plus the
raw rows the sentiment page still reads directly (2M answers for example comments, 500k follow-ups for
the open queue, 1M customers behind them). Then it renders each page in-process with Django's test
client (server time: middleware, queries, template; no network) and prints p50/p95 and query counts.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/insights_dashboard.py [--runs 40] [--keep]

Not generated: the 20M raw touchpoints themselves and the per-purchase credit rows (PurchaseCredit):
no dashboard page reads them (drill-down lists do, paginated; they are not measured here).

Before rendering, the stored repeat-customer figures are computed by the Celery task itself
(``insights.tasks.refresh_repeat_figures``, run in-process), timed and reported on their own, together
with what keeping them exact adds to a touchpoint refresh (the delta for N recomputed customers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = "bench_insights"

DAYS = 730
STORES = 50

FILL = [
    # --- raw rows the sentiment page reads directly --------------------------------------------------
    ("regions", "INSERT INTO clienteling_region (name) SELECT 'Region ' || r FROM generate_series(1, 5) r"),
    (
        "stores",
        "INSERT INTO clienteling_store (code, name, timezone, country, city, is_active, region_id)"
        " SELECT 'S' || lpad(s::text, 3, '0'), 'Store ' || s, 'Europe/Paris', 'FR', '', true,"
        " (SELECT id FROM clienteling_region ORDER BY id OFFSET (s - 1) / 10 LIMIT 1)"
        " FROM generate_series(1, 50) s",
    ),
    ("customers (1M)", "GENERIC profiles_customer 1000000"),
    ("surveys", "GENERIC feedback_survey 2"),
    ("responses (2M)", "GENERIC feedback_response 2000000"),
    ("follow-ups (500k)", "GENERIC feedback_followup 500000"),
    # --- rollups ---------------------------------------------------------------------------------------
    (
        "touchpoint_daily",
        f"""INSERT INTO insights_touchpointdaily (store_code, day, moment, channel, touchpoints)
        SELECT st, current_date - d, m, ch, 1 + (random() * 25)::int
        FROM (SELECT 'S' || lpad(s::text, 3, '0') AS st FROM generate_series(1, {STORES}) s UNION ALL SELECT '') stores,
             generate_series(0, {DAYS - 1}) d,
             unnest(ARRAY['newsletter_signup','account_created','signed_in','searched','product_viewed','wishlisted',
                          'cart_added','checkout_started','appointment_booked','store_visit','associate_assisted',
                          'event_attended','purchased','returned','service_contact','complaint','feedback_given',
                          'review_written','shared','referred']) m,
             unnest(ARRAY['web','store']) ch""",
    ),
    (
        "purchase_facts (2M)",
        f"""INSERT INTO insights_purchasefact (touchpoint_id, customer_id, store_code, day, occurred_at, channel, revenue,
                                             ordinal, next_gap_days, touches, assisted_store_code, assisted_associate_code)
        SELECT g, 1 + (random() * 999999)::int, st, current_date - dd, now() - dd * interval '1 day',
               CASE WHEN st = '' THEN 'web' ELSE 'store' END, (20 + random() * 400)::numeric(14,2),
               1 + (random() * random() * 6)::int, CASE WHEN random() < 0.4 THEN NULL ELSE (random() * 400)::int END,
               (random() * 8)::int,
               CASE WHEN st <> '' AND random() < 0.35 THEN st ELSE '' END,
               CASE WHEN st <> '' AND random() < 0.35 THEN 'a' || st || '-' || (random() * 9)::int ELSE '' END
        FROM (SELECT g, (random() * {DAYS - 1})::int AS dd,
                     CASE WHEN random() < 0.3 THEN '' ELSE 'S' || lpad((1 + (random() * {STORES - 1})::int)::text, 3, '0') END AS st
              FROM generate_series(1, 2000000) g) x""",
    ),
    (
        "assisted_daily (from the purchase facts)",
        """INSERT INTO insights_assisteddaily (store_code, day, associate_code, purchases, revenue)
        SELECT assisted_store_code, day, assisted_associate_code, count(*), sum(revenue)
        FROM insights_purchasefact WHERE assisted_store_code <> '' GROUP BY 1, 2, 3""",
    ),
    (
        "attribution_daily",
        f"""INSERT INTO insights_attributiondaily (store_code, day, moment, channel, revenue, credit, purchases)
        SELECT st, current_date - d, m, ch, (random() * 900)::numeric(16,4), random() * 4, 1 + (random() * 5)::int
        FROM (SELECT 'S' || lpad(s::text, 3, '0') AS st FROM generate_series(1, {STORES}) s UNION ALL SELECT '') stores,
             generate_series(0, {DAYS - 1}) d,
             unnest(ARRAY['newsletter_signup','account_created','signed_in','searched','product_viewed','wishlisted',
                          'cart_added','checkout_started','appointment_booked','store_visit','associate_assisted',
                          'event_attended','service_contact','complaint','feedback_given','review_written','shared',
                          'referred']) m,
             unnest(ARRAY['web','store']) ch""",
    ),
    (
        "response_daily",
        f"""INSERT INTO insights_responsedaily (store_code, day, kind, moment, associate_code, responses, promoters,
                                               passives, detractors, score_sum, commented)
        SELECT st, current_date - d, k, m, 'a' || st || '-' || a, 3, 1, 1, 1, 21, 1
        FROM (SELECT 'S' || lpad(s::text, 3, '0') AS st FROM generate_series(1, {STORES}) s) stores,
             generate_series(0, {DAYS - 1}) d, generate_series(0, 9) a,
             (VALUES ('nps', 'purchased'), ('nps', 'store_visit'), ('csat', 'service_contact')) km(k, m)
        WHERE random() < 0.6""",
    ),
    (
        "theme_daily",
        f"""INSERT INTO insights_themedaily (store_code, day, kind, theme, mentions, detractor_mentions,
                                             example_response_id)
        SELECT st, current_date - d, k, th, 1 + (random() * 6)::int, (random() * 2)::int,
               (SELECT min(id) FROM feedback_response) + (random() * 1999000)::int
        FROM (SELECT 'S' || lpad(s::text, 3, '0') AS st FROM generate_series(1, {STORES}) s) stores,
             generate_series(0, {DAYS - 1}) d, unnest(ARRAY['nps', 'csat']) k,
             unnest(ARRAY['staff','waiting','stock','fitting_rooms','price','delivery','returns','quality','fit',
                          'cleanliness','music','parking']) th""",
    ),
    (
        "invitation_daily + followup_daily",
        f"""INSERT INTO insights_invitationdaily (store_code, day, sent, answered)
        SELECT 'S' || lpad(s::text, 3, '0'), current_date - d, 200, 110
        FROM generate_series(1, {STORES}) s, generate_series(0, {DAYS - 1}) d;
        INSERT INTO insights_followupdaily (store_code, day, resolved, within_sla, resolve_seconds)
        SELECT 'S' || lpad(s::text, 3, '0'), current_date - d, 15, 12, 15 * 30 * 3600
        FROM generate_series(1, {STORES}) s, generate_series(0, {DAYS - 1}) d""",
    ),
    (
        "stage/persona snapshots (nightly, 2 years)",
        f"""INSERT INTO insights_stagedaily (day, store_code, stage, customers, vips)
        SELECT current_date - d, 'S' || lpad(s::text, 3, '0'), st, 4000, 300
        FROM generate_series(1, {STORES}) s, generate_series(0, {DAYS - 1}) d,
             unnest(ARRAY['prospect','new','repeat','loyal','lapsed']) st;
        INSERT INTO insights_stageflow (day, store_code, from_stage, to_stage, customers)
        SELECT current_date - d, 'S' || lpad(s::text, 3, '0'), f, t, 20
        FROM generate_series(1, {STORES}) s, generate_series(0, {DAYS - 1}) d,
             unnest(ARRAY['prospect','new','repeat','loyal','lapsed']) f,
             unnest(ARRAY['new','repeat','loyal','lapsed']) t WHERE f <> t;
        INSERT INTO insights_personadaily (day, store_code, persona, customers)
        SELECT current_date - d, 'S' || lpad(s::text, 3, '0'), p, 2000
        FROM generate_series(1, {STORES}) s, generate_series(0, {DAYS - 1}) d,
             unnest(ARRAY['loyal_regular','drifting_repeat','newcomer','omnichannel','store_loyalist','digital_first',
                          'event_goer','window_shopper','dormant','occasional']) p""",
    ),
]

# Column values for the GENERIC inserts (anything not listed gets a neutral value for its type).
GENERIC = {
    "profiles_customer": {
        "first_name": "'Anna'",
        "last_name": "'Lee ' || g",
        "home_store_code": "'S' || lpad((1 + g % 50)::text, 3, '0')",
    },
    "feedback_survey": {
        "name": "'Survey ' || g",
        "kind": "CASE g WHEN 1 THEN 'nps' ELSE 'csat' END",
        "is_active": "true",
    },
    "feedback_response": {
        "invitation_id": "g",
        "survey_id": "(SELECT min(id) FROM feedback_survey)",
        "kind": "CASE WHEN g % 10 = 0 THEN 'csat' ELSE 'nps' END",
        "score": "CASE WHEN g % 10 = 0 THEN 1 + g % 5 ELSE g % 11 END",
        "comment": "CASE WHEN g % 5 < 2 THEN 'The fitting rooms were busy but Maya helped me find my size' ELSE '' END",
        "themes": "CASE WHEN g % 5 < 2 THEN ARRAY[(ARRAY['staff','waiting','stock','fitting_rooms','price','delivery'])[1 + g % 6]]::varchar[] ELSE '{}' END",
        "customer_id": "1 + g % 1000000",
        "store_code": "'S' || lpad((1 + g % 50)::text, 3, '0')",
        "moment": "(ARRAY['purchased','store_visit','service_contact'])[1 + g % 3]",
        "channel": "'store'",
        "invitation_channel": "'email'",
        "language": "'en'",
        "answered_at": "now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second'",
        "first_answered_at": "now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second'",
        "bot_suspected": "false",
    },
    "feedback_followup": {
        "response_id": "(SELECT min(id) FROM feedback_response) + g * 4 - 1",
        "customer_id": "1 + (g * 4) % 1000000",
        "store_code": "'S' || lpad((1 + (g * 4 - 1) % 50)::text, 3, '0')",
        "status": "CASE WHEN g > 497000 THEN 'open' ELSE 'resolved' END",
        "due_at": "now() - ((500000 - g) * 730 / 500000) * interval '1 day' + interval '2 days'",
        "resolved_at": "CASE WHEN g > 497000 THEN NULL ELSE now() - ((500000 - g) * 730 / 500000) * interval '1 day' END",
        "created_at": "now() - ((500000 - g) * 730 / 500000) * interval '1 day' - interval '1 day'",
    },
}
NEUTRAL = {
    "uuid": "gen_random_uuid()",
    "boolean": "false",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "jsonb": "'{}'::jsonb",
    "ARRAY": "'{}'",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "double precision": "0",
    "numeric": "0",
}


def _bench_url() -> str:
    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path=f"/{BENCH_DB}"))


def _generic_insert(cursor, table: str, n: int) -> None:
    cursor.execute(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_name = %s AND is_generated = 'NEVER' AND column_name <> 'id' ORDER BY ordinal_position",
        [table],
    )
    overrides = GENERIC.get(table, {})
    columns, values = [], []
    for name, data_type, nullable, default in cursor.fetchall():
        if name in overrides:
            value = overrides[name]
        elif nullable == "YES" or default is not None:
            continue
        else:
            value = NEUTRAL.get(data_type, "''")
        columns.append(name)
        values.append(value)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM generate_series(1, {n}) g"  # noqa: S608
    )


def build() -> None:
    import psycopg

    admin_url = os.environ["DATABASE_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = _bench_url()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with psycopg.connect(_bench_url(), autocommit=True) as conn, conn.cursor() as cursor:
        # Throwaway database: foreign keys and indexes no dashboard uses would only slow the fill down.
        cursor.execute(
            "SELECT conrelid::regclass, conname FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid::regclass::text IN ('feedback_response', 'feedback_followup')"
        )
        for table, name in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_customer' AND indexdef NOT LIKE '%UNIQUE%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        for label, sql in FILL:
            started = time.perf_counter()
            if sql.startswith("GENERIC"):
                _, table, n = sql.split()
                _generic_insert(cursor, table, int(n))
            else:
                for statement in sql.split(";"):
                    if statement.strip():
                        cursor.execute(statement)
            print(f"  filled {label} in {time.perf_counter() - started:.1f}s", flush=True)
        from insights.services import weekly_rollups_rebuild

        started = time.perf_counter()
        weekly_rollups_rebuild()  # the weekly tables from the daily ones, as a backfill would
        print(f"  filled weekly rollups (from the daily ones) in {time.perf_counter() - started:.1f}s", flush=True)
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname LIKE 'insights_%'"
            " OR relname IN ('feedback_response', 'feedback_followup', 'profiles_customer') ORDER BY relname"
        )
        for name, rows in cursor.fetchall():
            print(f"  {name:32} {rows:>10,} rows")


def precompute() -> None:
    """The repeat-figure task as beat runs it, from nothing; then its steady-state cost and the delta
    a touchpoint refresh applies for its recomputed customers (rolled back: the data stays as filled)."""
    from django.db import connection, transaction

    from insights import services, tasks
    from insights.models import RepeatFigureSet

    RepeatFigureSet.objects.all().delete()
    started = time.perf_counter()
    computed = tasks.refresh_repeat_figures.apply().get()
    elapsed = time.perf_counter() - started
    print(f"  refresh_repeat_figures from nothing: {computed} sets in {elapsed:.1f}s", flush=True)
    started = time.perf_counter()
    computed = tasks.refresh_repeat_figures.apply().get()
    print(
        f"  refresh_repeat_figures again (hourly, nothing missing): {computed} sets in"
        f" {(time.perf_counter() - started) * 1000:.0f} ms",
        flush=True,
    )
    for customers in (1_000, 20_000, 100_000):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS insights_affected")
            cursor.execute("CREATE TEMP TABLE insights_affected (customer_id bigint PRIMARY KEY) ON COMMIT DROP")
            cursor.execute(
                "INSERT INTO insights_affected SELECT DISTINCT customer_id FROM insights_purchasefact"
                " WHERE customer_id %% %s = 0 LIMIT %s",
                [800_000 // customers, customers],
            )
            cursor.execute(
                "SELECT count(*) FROM insights_purchasefact WHERE customer_id IN (SELECT customer_id FROM insights_affected)"
            )
            facts = cursor.fetchone()[0]
            # What _purchases_recompute adds around its own work: it keeps the rows its DELETE and INSERT
            # touch anyway (RETURNING, timed here as separate reads: an upper bound), then moves the figures
            # from the old contributions to the new ones. Half of these customers' latest purchase moves to
            # today (as if they had just bought), so the figures really change; the other half's facts stay
            # the same (a page view, a late visit), as most of a refresh's customers do.
            services._repeat_delta_start(cursor)
            keep = (
                "INSERT INTO insights_repeat_facts SELECT %s, customer_id, store_code, day, next_gap_days, ordinal"
                " FROM insights_purchasefact WHERE customer_id IN (SELECT customer_id FROM insights_affected)"
            )
            started = time.perf_counter()
            cursor.execute(keep, [-1])
            kept = time.perf_counter() - started
            cursor.execute(
                "UPDATE insights_purchasefact SET day = current_date WHERE touchpoint_id IN (SELECT DISTINCT ON"
                " (customer_id) touchpoint_id FROM insights_purchasefact WHERE customer_id IN (SELECT customer_id"
                " FROM insights_affected WHERE customer_id % 2 = 0) ORDER BY customer_id, day DESC)"
            )
            started = time.perf_counter()
            cursor.execute(keep, [1])
            kept += time.perf_counter() - started
            started = time.perf_counter()
            services._repeat_facts_apply(cursor)
            elapsed = (time.perf_counter() - started) * 1000
            transaction.set_rollback(True)
        print(
            f"  refresh delta for {customers:>7,} recomputed customers ({facts:,} facts): {elapsed:6.0f} ms"
            f" (+ keeping their old and new facts: {kept * 1000:.0f} ms as separate reads)",
            flush=True,
        )
    # The rolled-back updates left dead rows and cleared visibility-map bits: without this, the live
    # count (index-only scans) measured afterwards would read the heap and look slower than it is.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE insights_purchasefact")


def check_exact() -> None:
    """The stored figures the measured pages use are the live count's numbers."""
    from django.utils import timezone

    from insights import selectors
    from insights.scope import Scope, preset_periods

    today = timezone.localdate()
    for scope in (Scope(None, "all"), Scope(("S001",), "S001")):
        for period in preset_periods(today):
            stored = selectors._stored_repeat_rows(scope, period, 90)
            live = [(m, p, r, n, int(o or 0)) for m, p, r, n, o in selectors._live_repeat_rows(scope, period, 90)]
            assert stored and stored == live, (scope.label, period)
    print(f"  stored figures equal the live count (all and S001, both presets ending {today}, 90 days)", flush=True)


def measure(runs: int) -> list[dict]:
    import datetime as dt

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from clienteling.models import Associate, Region, Role, Store
    from insights import services
    from insights.scope import scope_for
    from tests.factories import AssociateFactory

    region = Region.objects.order_by("id").first()
    tag = uuid.uuid4().hex[:6]
    people = {
        "store manager (1 store)": AssociateFactory(
            user__username=f"m-{tag}", role=Role.MANAGER, stores=[Store.objects.get(code="S001")]
        ),
        "regional (10 stores)": AssociateFactory(
            user__username=f"r-{tag}", role=Role.REGIONAL, stores=list(Store.objects.filter(region=region))
        ),
        "admin (50 stores + online)": AssociateFactory(user__username=f"a-{tag}", role=Role.ADMIN),
    }
    today = timezone.localdate()
    periods = {
        "12 weeks": {},
        "1 year": {"start": (today - dt.timedelta(days=364)).isoformat(), "end": today.isoformat()},
        # Not a preset (ends yesterday): no stored repeat figures; small scopes count them live, larger ones
        # ask the worker (measured while counting, then once counted).
        "1 year to yesterday": {
            "start": (today - dt.timedelta(days=365)).isoformat(),
            "end": (today - dt.timedelta(days=1)).isoformat(),
        },
    }
    pages = ["/insights/sentiment/", "/insights/customers/", "/insights/moments/", "/insights/personas/"]
    results = []

    def render(who, client, period, path, params):
        for _ in range(3):  # warm up caches and the connection
            client.get(path, params)
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, params)
        assert response.status_code == 200, (path, response.status_code)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path, params)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        row = {
            "who": who,
            "period": period,
            "page": path.split("/")[2],
            "p50": statistics.median(timings),
            "p95": timings[max(0, int(len(timings) * 0.95) - 1)],
            "queries": len(ctx.captured_queries),
        }
        results.append(row)
        print(
            f"  {who:28} {period:9} {row['page']:10} p50 {row['p50']:6.1f} ms  p95 {row['p95']:6.1f} ms  {row['queries']} queries",
            flush=True,
        )
        return response

    for who, associate in people.items():
        assert isinstance(associate, Associate)
        client = Client()
        client.force_login(associate.user)
        for period, params in periods.items():
            for path in pages:
                if period == "1 year to yesterday" and "customers" not in path:
                    continue
                response = render(who, client, period, path, params)
                if b'hx-trigger="every 2s"' in response.content:
                    # Too large to count live: the page says "counting" and the worker counts the figures
                    # (count_repeat_figures, run here in-process and timed), then the page serves them.
                    scope = scope_for(associate)
                    started = time.perf_counter()
                    services.repeat_figures_count(
                        scope.codes, dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])
                    )
                    print(f"    counted by the worker in {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
                    render(who, client, f"{period}, counted", path, params)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="Keep the bench database for inspection.")
    parser.add_argument("--reuse", action="store_true", help="Measure an existing bench database.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clienteling.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log line per render
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    original = os.environ["DATABASE_URL"]
    started = time.perf_counter()
    if args.reuse:
        os.environ["DATABASE_URL"] = _bench_url()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # other apps may have moved on since the fill
    else:
        print("Filling the throwaway database...", flush=True)
        build()
        print(f"Filled in {time.perf_counter() - started:.0f}s", flush=True)
    print("Stored repeat-customer figures (the Celery task, in-process):", flush=True)
    precompute()
    check_exact()
    # The task runs in the Celery worker, not in a web process: render on a fresh connection. (A backend
    # that has just run the year-long aggregations serves the other pages' queries ~30% slower.)
    from django.db import connections

    connections.close_all()
    print(f"Rendering each page {args.runs} times per role and period (server time, in-process):", flush=True)
    results = measure(args.runs)
    worst = max(results, key=lambda r: r["p95"])
    print(f"Worst p95: {worst['p95']:.1f} ms ({worst['who']}, {worst['period']}, {worst['page']})")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(original, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
