"""Greeting card server time at 1M customers, against a trivial Django view on the same server, same run.

    .venv/bin/python bench/floor_card.py [--customers 1000000] [--requests 600] [--reuse]

What it generates (directly in SQL with generate_series, in a throwaway database ``bench_floor_card``):
every customer with recognition consent, a full CustomerSummary (last visit and purchase, cart, wishlist,
sizes, a detractor score for 1 in 10, an open complaint for 1 in 50), 5 interests each, one pinned note for
1 in 5, and 5,000 open arrivals at store PAR01 for random customers. No touchpoints: the card never reads
them (its queries are pinned in tests/clienteling/test_card.py), so 20M touchpoint rows would only cost
disk and load time here.

The server is gunicorn serving WSGI with 2 workers (pages go through WSGI; only the stream needs ASGI),
DEBUG off, persistent DB connections. Requests are sent one at a time over a keep-alive connection and
alternate between the card (a random arrival each time) and the trivial view, so both see the same
machine state; the figures are client-side times on loopback.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor_common import (  # noqa: E402
    database_exists,
    free_port,
    percentile,
    recreate_database,
    setup_django,
    start_server,
    stop_server,
)

DB = "bench_floor_card"

CUSTOMERS_SQL = """
INSERT INTO profiles_customer (
  public_id, first_name, last_name, preferred_name, pronunciation, postal_code, home_store_code, tier, lifecycle,
  consent_recognition, consent_recognition_source, consent_recognition_at, consent_email, consent_email_source,
  consent_sms, consent_sms_source, consent_surveys, consent_surveys_source, created_at, updated_at)
SELECT gen_random_uuid(),
       (ARRAY['Jane','Ada','Camille','Nora','Maya','Léa','Yui','Priya'])[1 + i %% 8],
       'Customer' || i, '', CASE WHEN i %% 7 = 0 THEN 'SHAV-on' ELSE '' END, '75003', 'PAR01',
       (ARRAY['','silver','gold','platinum'])[1 + i %% 4], (ARRAY['new','repeat','loyal','lapsed'])[1 + i %% 4],
       true, 'bench', now(), false, '', false, '', false, '', now(), now()
FROM generate_series(1, %(n)s) AS i
"""

SUMMARIES_SQL = """
INSERT INTO profiles_customersummary (
  customer_id, first_seen_at, last_seen_at, last_visit_at, last_visit_store, last_purchase_at, last_purchase,
  visit_count, order_count, lifetime_value, currency, preferred_store, channels, open_cart, wishlist, sizes,
  last_feedback_score, last_feedback_at, open_complaint, updated_at)
SELECT c.id, now() - interval '900 days', now() - interval '3 days', now() - (c.id %% 300) * interval '1 day',
       'PAR01', now() - (c.id %% 200) * interval '1 day',
       jsonb_build_object('store', 'PAR01', 'channel', 'store', 'associate', 'hugo', 'revenue', '240.00',
         'items', jsonb_build_array(jsonb_build_object('name', 'Cashmere sweater', 'sku', 'CS-' || c.id %% 500,
                                                       'size', 'M', 'color', 'navy'))),
       c.id %% 40, c.id %% 25, (c.id %% 5000)::numeric, 'EUR', 'PAR01', '["store", "web"]'::jsonb,
       jsonb_build_array(jsonb_build_object('name', 'Silk scarf', 'sku', 'SS-1', 'size', '', 'at', now())),
       jsonb_build_array(jsonb_build_object('name', 'Leather tote', 'sku', 'LT-3', 'size', '')),
       '{"tops": "M", "shoes": "38"}'::jsonb,
       CASE WHEN c.id %% 10 = 0 THEN 4 ELSE 9 END, now() - interval '20 days',
       CASE WHEN c.id %% 50 = 0 THEN '{"at": "2026-11-01", "channel": "call_center", "text": "Parcel arrived damaged"}'::jsonb
            ELSE '{}'::jsonb END,
       now()
FROM profiles_customer c
"""

INTERESTS_SQL = """
INSERT INTO profiles_interest (customer_id, kind, key, label, score, reason, last_at)
SELECT c.id, (ARRAY['category','brand','product','category','brand'])[k], 'k' || ((c.id + k * 7) %% 300),
       'Label ' || ((c.id + k * 7) %% 300), 10.0 / k, 'bought it 2x in store since May 8', now()
FROM profiles_customer c CROSS JOIN generate_series(1, 5) AS k
"""

NOTES_SQL = """
INSERT INTO profiles_note (public_id, customer_id, store_code, text, pinned, created_at)
SELECT gen_random_uuid(), c.id, 'PAR01', 'Prefers fittings in the morning', true, now()
FROM profiles_customer c WHERE c.id %% 5 = 0
"""

ARRIVALS_SQL = """
INSERT INTO clienteling_arrival (public_id, store_id, customer_id, source, state, started_by_id, claimed_by_id,
  claimed_at, closed_at, outcome, created_at, expires_at, previous_visit_at, previous_visit_store, appointment_id)
SELECT gen_random_uuid(), %(store)s, c.id, 'wifi', 'new', NULL, NULL, NULL, NULL, '', now(),
       now() + interval '30 days', now() - interval '40 days', 'PAR01', NULL
FROM (SELECT id FROM profiles_customer ORDER BY random() LIMIT %(n)s) AS c
"""


def generate(customers: int, arrivals: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from clienteling.models import Role, Store
    from clienteling.services import staff_upsert

    call_command("migrate", verbosity=0)
    store, _ = Store.objects.get_or_create(
        code="PAR01", defaults={"name": "Paris Marais", "timezone": "Europe/Paris", "country": "FR"}
    )
    staff_upsert(username="bench", store=store, role=Role.ASSOCIATE, display_name="Bench Associate")
    with connection.cursor() as cursor:
        for label, sql, params in [
            ("customers", CUSTOMERS_SQL, {"n": customers}),
            ("summaries", SUMMARIES_SQL, {}),
            ("interests", INTERESTS_SQL, {}),
            ("notes", NOTES_SQL, {}),
            ("arrivals", ARRIVALS_SQL, {"store": store.pk, "n": arrivals}),
        ]:
            started = time.perf_counter()
            cursor.execute(sql, params)
            print(f"  {label:<10} {cursor.rowcount:>10,} rows in {time.perf_counter() - started:6.1f} s", flush=True)
        cursor.execute("ANALYZE")


def measure(port: int, cookie: str, arrival_ids: list[str], requests: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": f"sessionid={cookie}", "HX-Request": "true"}
    timings: dict[str, list[float]] = {"trivial": [], "card": []}
    for i in range(requests * 2 + 40):
        kind = "card" if i % 2 else "trivial"
        path = f"/floor/PAR01/arrivals/{random.choice(arrival_ids)}/" if kind == "card" else "/bench/trivial/"
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or (kind == "card" and b"Say hi to" not in body):
            raise SystemExit(f"{path} answered {response.status}")
        if i >= 40:  # warm-up: connections, template loading, caches
            timings[kind].append(elapsed)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--arrivals", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=600, help="requests per view")
    parser.add_argument("--reuse", action="store_true", help="keep the generated database from a previous run")
    args = parser.parse_args()

    fresh = not (args.reuse and database_exists(DB))
    if fresh:
        recreate_database(DB)
    setup_django(DB)
    if not fresh:  # a database kept from an earlier run still gets the migrations added since
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    if fresh:
        print(f"Generating {args.customers:,} customers in {DB} ...", flush=True)
        started = time.perf_counter()
        generate(args.customers, args.arrivals)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from clienteling.models import Arrival

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    cookie = client.cookies["sessionid"].value
    arrival_ids = [str(u) for u in Arrival.objects.values_list("public_id", flat=True)]
    from profiles.models import Customer, Interest

    counts = {
        "customers": Customer.objects.count(),
        "interests": Interest.objects.count(),
        "arrivals": len(arrival_ids),
    }
    port = free_port()
    server = start_server("wsgi", port)
    try:
        timings = measure(port, cookie, arrival_ids, args.requests)
    finally:
        stop_server(server)

    print(
        f"\nData: {counts['customers']:,} customers, {counts['interests']:,} interests, {counts['arrivals']:,} open arrivals"
    )
    print(f"{'view':<10}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for kind, values in timings.items():
        print(
            f"{kind:<10}{len(values):>6}{percentile(values, 50):>10.2f}{percentile(values, 95):>10.2f}{percentile(values, 99):>10.2f}"
        )
    ratio50 = percentile(timings["card"], 50) / percentile(timings["trivial"], 50)
    ratio95 = percentile(timings["card"], 95) / percentile(timings["trivial"], 95)
    print(f"card / trivial: p50 x{ratio50:.2f}, p95 x{ratio95:.2f} (target <= 3x)")


if __name__ == "__main__":
    main()
