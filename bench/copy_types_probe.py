"""Python CPU per COPY row: psycopg choosing a dumper per value, types declared once (``set_types``), and
types declared once with the times already text (what the importer COPYs since session 8).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.copy_types_probe

Rows shaped like the importer's touchpoints (``profiles.pipeline._touchpoint_values``), COPYed into a
temporary table; only this process's CPU time around the COPY is counted, not the server's.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time

import psycopg

ROWS = 200_000
TABLE = """
CREATE TEMP TABLE probe (
  source_id bigint, created_at timestamptz, external_id text, customer_id bigint, occurred_at timestamptz,
  channel text, moment text, event text, store_code text, associate_code text, order_id text, product_sku text,
  product_name text, category text, brand text, size text, color text, quantity int, price numeric(12, 2),
  revenue numeric(12, 2), currency text, properties jsonb)
"""


def rows(now: dt.datetime) -> list[tuple]:
    rng = random.Random(7)
    return [
        (1, now, f"evt-{i:08d}", rng.randint(1, 200_000), now - dt.timedelta(minutes=i), "web", "product_viewed",
         "Product Viewed", "S001", "", "", f"SKU{i % 500}", "Trail Runner 3", "Running shoes", "Stride", "9", "red",
         None if i % 3 else 1, None if i % 2 else "129.90", None, "EUR", "{}")
        for i in range(ROWS)
    ]  # fmt: skip


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DEBUG", "1")  # only the importer's constants are needed, not a production setup
    import django

    django.setup()
    from profiles.pipeline import STAGE_COLUMNS, STAGE_TYPES

    typed = ["int8", "timestamptz", "text", "int8", "timestamptz", *STAGE_TYPES[5:]]  # the types before session 8

    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    data = rows(dt.datetime.now(dt.UTC))
    # The importer's times: created_at formatted once per batch, occurred_at as the file wrote it.
    created_at = data[0][1].isoformat()
    as_text = [(r[0], created_at, *r[2:4], r[4].isoformat(), *r[5:]) for r in data]
    with psycopg.connect(url) as connection:
        connection.execute(TABLE)
        for _ in range(3):
            variants = (
                ("a dumper per value", data, None),
                ("types declared once", data, typed),
                ("times as text", as_text, STAGE_TYPES),
            )
            for label, values, types in variants:
                cursor = connection.cursor()
                started = time.process_time()
                with cursor.copy(f"COPY probe (source_id, created_at, {STAGE_COLUMNS}) FROM STDIN") as copy:
                    if types:
                        copy.set_types(types)
                    for row in values:
                        copy.write_row(row)
                spent = time.process_time() - started
                connection.execute("TRUNCATE probe")
                print(f"{label:<20} {spent / ROWS * 1e6:5.2f} us of Python per row")


if __name__ == "__main__":
    main()
