"""How long does the derived-data refresh take for one big import batch?

Creates N customers with M touchpoints spread over them (SQL generate_series, realistic moment mix),
then times ``profiles.derived.customers_refresh`` over all of them, twice (first insert, then update).
Run it against a scratch database, never a real one:

    createdb bench_profile
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_profile DEBUG=1 .venv/bin/python manage.py migrate -v0
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_profile DEBUG=1 \
        .venv/bin/python bench/derived_refresh.py --customers 50000 --touchpoints 250000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clienteling.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from profiles.derived import customers_refresh  # noqa: E402
from profiles.models import Customer  # noqa: E402

FILL = """
INSERT INTO profiles_source (public_id, name, kind, write_key_hash, write_key_prefix, is_active, created_at)
VALUES (gen_random_uuid(), 'bench', 'web', '', '', true, now()) ON CONFLICT (name) DO NOTHING;

INSERT INTO profiles_customer (public_id, first_name, last_name, preferred_name, pronunciation, postal_code,
  home_store_code, tier, lifecycle, consent_recognition, consent_recognition_source, consent_email,
  consent_email_source, consent_sms, consent_sms_source, consent_surveys, consent_surveys_source,
  created_at, updated_at)
SELECT gen_random_uuid(), (ARRAY['Christine','Marie','Inès','Zoë','Hugo','Léa','Camille','Noah'])[1 + i %% 8],
  'Bench' || i, '', '', '', 'PAR01', '', 'prospect', true, '', true, '', false, '', true, '', now(), now()
FROM generate_series(1, %(customers)s) AS i;

INSERT INTO profiles_touchpoint (source_id, external_id, customer_id, occurred_at, channel, moment, event,
  store_code, associate_code, order_id, product_sku, product_name, category, brand, size, color, quantity,
  price, revenue, currency, properties, created_at)
SELECT (SELECT id FROM profiles_source WHERE name = 'bench'), 'b' || i,
  (SELECT min(id) FROM profiles_customer WHERE last_name LIKE 'Bench%%') + (i * 7919) %% %(customers)s,
  now() - make_interval(days => (i * 31) %% 700, hours => i %% 24),
  (ARRAY['web','app','store','web','store'])[1 + i %% 5],
  (ARRAY['product_viewed','product_viewed','product_viewed','cart_added','purchased','store_visit',
         'wishlisted','searched','returned','complaint','feedback_given','review_written'])[1 + i %% 12],
  '', (ARRAY['PAR01','NYC01','LON01'])[1 + i %% 3], 'a' || (i %% 40), 'O' || (i / 2),
  'SKU' || (i %% 500), 'Product ' || (i %% 500), (ARRAY['Shoes','Tops','Bags','Hats'])[1 + i %% 4],
  (ARRAY['Stride','Nord','Maison','Atelier','Peak'])[1 + i %% 5], (ARRAY['S','M','L','9','38'])[1 + i %% 5],
  'black', 1, 50, 10 + i %% 200, 'EUR', jsonb_build_object('score', i %% 11), now()
FROM generate_series(1, %(touchpoints)s) AS i;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--touchpoints", type=int, default=250_000)
    args = parser.parse_args()

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        if not cursor.fetchone()[0].startswith("bench"):
            sys.exit("refusing to run outside a database whose name starts with 'bench'")
        started = time.perf_counter()
        cursor.execute(FILL, {"customers": args.customers, "touchpoints": args.touchpoints})
        cursor.execute("ANALYZE profiles_customer; ANALYZE profiles_touchpoint")
        print(f"fill: {time.perf_counter() - started:.1f}s")

    ids = list(Customer.objects.filter(last_name__startswith="Bench").values_list("pk", flat=True))
    for label in ("first refresh (insert)", "second refresh (update)"):
        started = time.perf_counter()
        customers_refresh(ids)
        print(f"{label}: {len(ids)} customers in {time.perf_counter() - started:.2f}s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM profiles_interest WHERE customer_id = ANY(%s)", [ids])
        print(f"interests written: {cursor.fetchone()[0]}")


if __name__ == "__main__":
    main()
