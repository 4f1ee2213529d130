"""Sizing probe: what computing a file's interests in Python, from its rows in memory, would cost.

Not the product. It answers one question for the import's design: is the profile refresh's SQL (~22 of its
~39 CPU-seconds for 1M rows are the interests) worth replacing, for a fresh file's new customers, by a Python
pass over the rows the importer already holds? Same weights, decay, grouping (category, brand, product),
threshold and per-kind limit as ``profiles.derived``, the real reason sentences (``interest_reason``) and the
real COPY formatting; people are told apart by their first identifier cell (the importer's identity
resolution would join some of them), and nothing is written.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.interests_python_probe bench/out/channel_1000000_200000_7.csv
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import zoneinfo
from datetime import UTC, datetime


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    import django

    django.setup()
    import psycopg
    from psycopg._copy_base import format_row_text

    from profiles.derived import HALF_LIFE_DAYS, INTERESTS_PER_KIND, MOMENT_WEIGHTS, MomentTally, interest_reason
    from profiles.events import moment_for

    rows = []
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            who = r["customer_id"] or r["email"] or r["phone"] or r["loyalty_id"] or r["anonymous_id"]
            at = datetime.fromisoformat(r["occurred_at"])
            moment = moment_for(r["event"]) or r["event"]
            rows.append((who, moment, r["channel"], at, r["category"], r["brand"], r["product_sku"],
                         r["product_name"], r["size"]))  # fmt: skip
    now, tz = datetime.now(UTC), zoneinfo.ZoneInfo("Europe/Paris")

    started = time.perf_counter()
    tallies: dict[
        tuple, dict[str, list]
    ] = {}  # (who, kind, key) -> moment -> [n, first, last, score, label, size, online, in store]
    for who, moment, channel, at, category, brand, sku, name, size in rows:
        weight = MOMENT_WEIGHTS.get(moment)
        if weight is None:
            continue
        score = weight * math.pow(0.5, max((now - at).total_seconds(), 0) / 86400.0 / HALF_LIFE_DAYS)
        online, in_store = channel in ("web", "app"), channel in ("store", "kiosk")
        item = sku or name.lower()
        for kind, key, label in (("category", category.lower(), category), ("brand", brand.lower(), brand),
                                 ("product", item, name or sku)):  # fmt: skip
            if not key:
                continue
            moments = tallies.setdefault((who, kind, key), {})
            tally = moments.get(moment)
            if tally is None:
                moments[moment] = [1, at, at, score, label, size, online, in_store]
                continue
            tally[0] += 1
            tally[1] = min(tally[1], at)
            if at >= tally[2]:
                tally[2], tally[4], tally[5] = at, label, size or tally[5]
            tally[3] += score
            tally[6], tally[7] = tally[6] and online, tally[7] and in_store
    tallied = time.perf_counter()

    per_kind: dict[tuple, list] = {}
    for (who, kind, key), moments in tallies.items():
        total = sum(tally[3] for tally in moments.values())
        if total > 0.001:
            last = max(tally[2] for tally in moments.values())
            per_kind.setdefault((who, kind), []).append((total, last, key, moments))
    interests = []
    for (who, kind), items in per_kind.items():
        items.sort(key=lambda item: (-item[0], -item[1].timestamp(), item[2]))
        for total, last, key, moments in items[:INTERESTS_PER_KIND]:
            label = max(moments.values(), key=lambda tally: tally[2])[4]
            kept = [MomentTally(m, t[0], t[1], t[2], t[5], t[6], t[7]) for m, t in moments.items()]
            reason = interest_reason(kind, label, kept, now=now, tz=tz)
            interests.append((who, kind, key[:200], label[:200], round(total, 4), reason[:300], last))
    reasoned = time.perf_counter()

    transformer, buffer = psycopg.adapt.Transformer(), bytearray()
    for index, interest in enumerate(interests):
        format_row_text((index, *interest), transformer, buffer)
    formatted = time.perf_counter()
    print(f"{len(rows):,} rows, {len({row[0] for row in rows}):,} people, {len(tallies):,} interest candidates, "
          f"{len(interests):,} interests kept, one core: tallies {tallied - started:.2f} s, totals + ranking + "
          f"reasons {reasoned - tallied:.2f} s, COPY text {formatted - reasoned:.2f} s, "
          f"in all {formatted - started:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
