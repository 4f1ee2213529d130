"""Customer search at scale: fill N customers (names, emails, phones, loyalty ids), then time typical
searches and print their plans. Run against a scratch database whose name starts with "bench":

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_profile DEBUG=1 \
        .venv/bin/python bench/search_scale.py --customers 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clienteling.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from profiles import search  # noqa: E402

FIRST = [
    "Christine",
    "Marie",
    "Inès",
    "Zoë",
    "Hugo",
    "Léa",
    "Camille",
    "Noah",
    "Emma",
    "Louis",
    "Chloé",
    "Lucas",
    "Manon",
    "Jules",
    "Sarah",
    "Adam",
    "Jade",
    "Gabriel",
    "Alice",
    "Arthur",
    "Lina",
    "Raphaël",
    "Rose",
    "Paul",
    "Anna",
    "Victor",
    "Julia",
    "Nathan",
    "Clara",
    "Ethan",
    "Eva",
    "Tom",
    "Lou",
    "Mathis",
    "Inaya",
    "Théo",
    "Mila",
    "Maël",
    "Ambre",
    "Sacha",
    "Olivia",
    "Liam",
    "Sofia",
    "James",
    "Amelia",
    "Oliver",
    "Isla",
    "Jack",
    "Ava",
    "Harry",
    "Mia",
    "Charlie",
    "Grace",
    "Leo",
    "Freya",
    "Oscar",
    "Lily",
    "Archie",
    "Ella",
    "Henry",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Lewis",
    "Martinez",
    "Clarke",
    "Jackson",
    "Clark",
    "Turner",
    "Hill",
    "Scott",
    "Cooper",
    "Morris",
    "Ward",
    "Moore",
    "King",
    "Watson",
    "Baker",
    "Harrison",
    "Morgan",
    "Patel",
    "Young",
    "Allen",
    "Mitchell",
    "James",
    "Anderson",
    "Phillips",
    "Lee",
    "Bell",
    "Parker",
    "Davis",
    "Dupré",
    "Nguyen",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
]

FILL = """
INSERT INTO profiles_customer (public_id, first_name, last_name, preferred_name, pronunciation, postal_code,
  home_store_code, tier, lifecycle, consent_recognition, consent_recognition_source, consent_email,
  consent_email_source, consent_sms, consent_sms_source, consent_surveys, consent_surveys_source,
  created_at, updated_at)
SELECT gen_random_uuid(), (%(first)s::text[])[1 + (i * 7) %% cardinality(%(first)s::text[])],
  (%(last)s::text[])[1 + (i * 13 + i / 97) %% cardinality(%(last)s::text[])] ||
    CASE WHEN i %% 5 = 0 THEN '-' || (%(last)s::text[])[1 + i %% 37] ELSE '' END,
  '', '', '', 'PAR01', '', 'prospect', true, '', true, '', false, '', true, '', now(), now()
FROM generate_series(1, %(n)s) AS i;
INSERT INTO profiles_identifier (customer_id, kind, namespace, value, created_at)
SELECT id, 'email', '', 'scale' || id || '@example.com', now() FROM profiles_customer WHERE last_name <> 'Bench'
UNION ALL
SELECT id, 'phone', '', '+336' || lpad((10000000 + id * 7919 %% 89999999)::text, 8, '0'), now()
FROM profiles_customer WHERE last_name <> 'Bench'
UNION ALL
SELECT id, 'loyalty_id', '', 'LOY-' || lpad(id::text, 7, '0'), now() FROM profiles_customer WHERE last_name <> 'Bench'
ON CONFLICT DO NOTHING;
ANALYZE profiles_customer;
ANALYZE profiles_identifier;
"""

QUERIES = ["ch", "chri", "christine", "chritine", "christine dup", "dupre", "mar", "lefevre martin", "schroder",
           "scale4242@example.com", "scale42", "06 12 34 56 78", "5678", "LOY-0004242"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-fill", action="store_true")
    parser.add_argument("--explain", default="chritine dup")
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        if not cursor.fetchone()[0].startswith("bench"):
            sys.exit("refusing to run outside a database whose name starts with 'bench'")
        if not args.no_fill:
            started = time.perf_counter()
            cursor.execute(FILL, {"n": args.customers, "first": FIRST, "last": LAST})
            print(f"fill: {time.perf_counter() - started:.1f}s")
        cursor.execute(
            "SELECT count(*), pg_size_pretty(pg_relation_size('customer_search_tokens')) FROM profiles_customer"
        )
        print("customers: %s, search index: %s" % cursor.fetchone())  # noqa: UP031

    for text in QUERIES:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            found = search.customer_ids_matching(text)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{text!r:28} {len(found):3} results  median {statistics.median(timings):7.1f} ms")

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        search.customer_ids_matching(args.explain)
    with transaction.atomic(), connection.cursor() as cursor:
        sql, params = captured[-1]
        cursor.execute("SET LOCAL enable_seqscan = off")  # as customer_ids_matching does
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
        print(f"\nEXPLAIN for {args.explain!r}:")
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
