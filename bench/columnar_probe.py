"""Sizing probe: what a columnar importer (polars: native code, both cores) would spend on a 1M-row file.

Not the product, and nothing is written to a database. It answers one question for issue 3's targets: if
the per-row Python of the import and the refresh's SQL were replaced by vectorized code, how much of the
15%-of-(b) budget would the work that no design can skip still take on this box? It does that work once,
the fast way, with corners cut in the probe's favour:

* read the file (every column as text) and run the cheap checks as column expressions: dates, amounts,
  quantities, text sizes, emails (a simplified pattern, lowercased);
* check each distinct phone number once with ``profiles.normalize`` (the ``phonenumbers`` library has no
  columnar twin; the importer's phone helper does the same work in its second process). The generated
  file writes every number in international form, so the default region does not change any answer;
* find the people: connected components of rows and identifiers by min-label propagation (no placeholder
  guard, no shared-value limit, no existing customers to look up);
* format the touchpoints' COPY text;
* score and rank the interests with ``profiles.derived``'s weights, half-life and per-kind limit, with a
  short reason (the moment, the label, the count and the first day; not the product's sentences).

What it leaves out, all of which a real design must add: writing the five tables and their indexes
(``bench/import_floor.py`` measures that floor), the summaries, merges, review lists, rejected rows with
their reasons, crash-safe batches and the job's bookkeeping.

    .venv/bin/pip install -c constraints.txt -e '.[bench]'
    .venv/bin/python -m bench.columnar_probe bench/out/channel_1000000_200000_7.csv [--json]

``bench/import_bench.py`` runs it as its ``columnar`` leg and adds the floor leg's writes to it, to set such a
design beside the targets in the same run.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
from datetime import UTC, datetime

# The Django email validator's user part, folded to lower case; domains: dotted labels (no IP literals).
EMAIL = r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$"
AMOUNT = r"^-?\d{1,10}(\.\d{1,2})?$"
TOUCHPOINT_COLUMNS = [
    "event_id", "occurred", "moment", "channel", "customer", "store_code", "associate", "order_id", "product_sku",
    "product_name", "category", "brand", "size", "color", "quantity_n", "price", "revenue", "currency",
]  # fmt: skip


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def probe(path: str) -> dict:
    """Run every stage once; returns {"stages": [[label, wall s, CPU s], ...], "peak_mb": ..., "polars": ...}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    import django

    django.setup()
    import polars as pl

    from profiles.derived import HALF_LIFE_DAYS, INTERESTS_PER_KIND, MOMENT_WEIGHTS
    from profiles.events import TEXT_LIMITS, moment_for
    from profiles.normalize import InvalidIdentifier, normalize

    stages: list[tuple[str, float, float]] = []
    clock = [time.perf_counter(), cpu_seconds()]

    def lap(label: str) -> None:
        wall, cpu = time.perf_counter(), cpu_seconds()
        stages.append((label, wall - clock[0], cpu - clock[1]))
        clock[:] = [wall, cpu]

    frame = pl.read_csv(path, infer_schema=False)
    lap(f"read {frame.height:,} rows, {frame.width} columns, as text")

    events = frame["event"].drop_nulls().unique().to_list()
    moments = {event: moment_for(event) for event in events}
    too_long = pl.lit(False)
    for column, limit in TEXT_LIMITS.items():
        if column in frame.columns:
            too_long = too_long | (pl.col(column).str.len_chars().fill_null(0) > limit)
    frame = frame.with_columns(
        email=pl.col("email").str.strip_chars().str.to_lowercase(),
        occurred=pl.col("occurred_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", strict=False, time_unit="us"),
        moment=pl.col("event").replace_strict(moments, default=None),
        quantity_n=pl.col("quantity").cast(pl.Int64, strict=False),
    ).with_columns(
        bad=(
            (pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL))
            | pl.col("occurred").is_null()
            | pl.col("moment").is_null()
            | (pl.col("price").is_not_null() & ~pl.col("price").str.contains(AMOUNT))
            | (pl.col("revenue").is_not_null() & ~pl.col("revenue").str.contains(AMOUNT))
            | (pl.col("quantity").is_not_null() & pl.col("quantity_n").is_null())
            | too_long
        )
    )
    bad = int(frame["bad"].sum())
    lap(f"checks as column expressions ({bad:,} rows would go to the row-by-row checks)")

    phones = frame["phone"].drop_nulls().unique().to_list()
    checked: dict[str, str | None] = {}
    for raw in phones:
        try:
            checked[raw] = normalize("phone", raw, region="US")
        except InvalidIdentifier:
            checked[raw] = None
    frame = frame.join(
        pl.DataFrame(
            {"phone": list(checked), "e164": list(checked.values())}, schema={"phone": pl.String, "e164": pl.String}
        ),
        on="phone",
        how="left",
    )
    lap(f"{len(phones):,} distinct phones through profiles.normalize (Python), joined back")

    frame = frame.with_row_index("row")
    edges = pl.concat(
        [
            frame.select("row", pl.concat_str([pl.lit(f"{kind}:"), pl.col(column)]).alias("key")).drop_nulls()
            for kind, column in (
                ("c", "customer_id"),
                ("l", "loyalty_id"),
                ("e", "email"),
                ("p", "e164"),
                ("a", "anonymous_id"),
            )
        ]
    )
    edges = edges.select("row", key=pl.col("key").cast(pl.Categorical).to_physical().cast(pl.Int64))
    label = edges.group_by("row").agg(customer=pl.col("key").min())
    rounds = 0
    while True:
        rounds += 1
        by_key = edges.join(label, on="row").group_by("key").agg(pl.col("customer").min())
        fresh = edges.join(by_key, on="key").group_by("row").agg(pl.col("customer").min())
        changed = fresh.join(label, on="row").filter(pl.col("customer") != pl.col("customer_right")).height
        label = fresh
        if not changed:
            break
    frame = frame.join(label, on="row", how="left")
    people = label["customer"].n_unique()
    lap(f"{people:,} people from {edges.height:,} row-identifier links ({rounds} rounds of propagation)")

    copy_text = io.BytesIO()
    frame.filter(~pl.col("bad")).select(TOUCHPOINT_COLUMNS).write_csv(copy_text, include_header=False)
    lap(f"touchpoints' COPY text ({copy_text.tell() / 1e6:.0f} MB)")

    now = datetime.now(UTC)
    scored = frame.filter(~pl.col("bad") & pl.col("moment").is_in(list(MOMENT_WEIGHTS))).select(
        "customer",
        "moment",
        "occurred",
        "size",
        "category",
        "brand",
        "product_sku",
        "product_name",
        score=pl.col("moment").replace_strict(MOMENT_WEIGHTS, return_dtype=pl.Float64)
        * (0.5 ** ((pl.lit(now) - pl.col("occurred")).dt.total_seconds().clip(0) / 86400.0 / HALF_LIFE_DAYS)),
    )
    weighted = pl.concat(
        [
            scored.lazy()
            .select("customer", "moment", "occurred", "size", "score", kind=pl.lit(kind), key=key, label=name)
            .drop_nulls("key")
            for kind, key, name in (
                ("category", pl.col("category").str.to_lowercase(), pl.col("category")),
                ("brand", pl.col("brand").str.to_lowercase(), pl.col("brand")),
                ("product", pl.col("product_sku"), pl.coalesce("product_name", "product_sku")),
            )
        ]
    )
    # One row per interest and moment: the latest label and cart size, the count, the first and last time.
    tallies = (
        weighted.group_by("customer", "kind", "key", "moment")
        .agg(
            pl.col("label").sort_by("occurred").last(),
            pl.col("size").sort_by("occurred").drop_nulls().last(),
            latest=pl.col("occurred").max(),
            first=pl.col("occurred").min(),
            n=pl.len(),
            score=pl.col("score").sum(),
        )
        .collect()
    )
    clause = pl.concat_str(
        [pl.col("moment"), pl.lit(" "), pl.col("label"), pl.lit(" "), pl.col("n").cast(pl.String), pl.lit("x since "),
         pl.col("first").dt.strftime("%b %-d")]
    )  # fmt: skip
    interests = (
        # One row per interest: its total, its latest label, the clauses of its three most recent moments; then
        # the top ones per person and kind.
        tallies.lazy()
        .with_columns(clause=clause)
        .group_by("customer", "kind", "key")
        .agg(
            pl.col("label").sort_by("latest").last(),
            pl.col("latest").max(),
            total=pl.col("score").sum(),
            reason=pl.col("clause").sort_by("latest", descending=True).head(3).str.join("; "),
        )
        .filter(pl.col("total") > 0.001)
        .filter(pl.col("total").rank("ordinal", descending=True).over("customer", "kind") <= INTERESTS_PER_KIND)
        .collect()
    )
    interest_text = io.BytesIO()
    interests.write_csv(interest_text, include_header=False)
    lap(f"{interests.height:,} interests from {tallies.height:,} tallies, with COPY text")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"stages": stages, "peak_mb": round(peak), "polars": f"{pl.__version__}, {pl.thread_pool_size()} threads"}


def report(result: dict) -> None:
    stages = result["stages"]
    width = max(len(label) for label, _, _ in stages)
    print(f"{'stage':<{width}}  {'wall s':>7}  {'CPU s':>7}")
    for label, wall, cpu in stages:
        print(f"{label:<{width}}  {wall:7.2f}  {cpu:7.2f}")
    print(f"{'all':<{width}}  {sum(s[1] for s in stages):7.2f}  {sum(s[2] for s in stages):7.2f}")
    print(f"polars {result['polars']}, peak memory {result['peak_mb']:,} MB")


if __name__ == "__main__":
    found = probe(sys.argv[1])
    if "--json" in sys.argv[2:]:
        print(json.dumps(found))
    else:
        report(found)
