"""The floor of leg (a): what any import of this file must spend on this machine, whatever its design.

Run by ``bench.import_bench --legs ...,floor`` after leg (a), in the same run, against (a)'s database. Each
piece is the least work that stores the same rows or computes the same inputs, measured alone:

* **writes**: the rows (a) left in the five tables it fills (customers, identifiers, touchpoints,
  summaries, interests) are dumped with ``COPY ... TO`` (binary) and loaded again into an emptied copy of
  that database, three ways: one table after another on one connection with the tables' indexes in place
  (what an import into a live database pays), the same on two connections at once (the import's two writers),
  and into tables without indexes, each index built afterwards (the cheapest way to the same tables, open
  only to an empty database). No parsing, no matching, no computing: bytes PostgreSQL already wrote once.
* **aggregates**: the smallest statements the derived data needs, over the file's touchpoints: each
  interest's decayed score (one hash aggregate by customer, kind and key; no reasons, no ranking) and each
  customer's counts (one hash aggregate by customer).
* **reading**: Python's C ``csv`` reader over the file, doing nothing with the rows.

The sum is in seconds of one core; on N cores no design finishes sooner than sum / N. The report sets that
beside the targets (15% of (b), 80x (c)) and says what share of their budget the floor already takes.
"""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

# In the order a load must follow (summaries and interests name customers; the customer FK is deferred).
TABLES = (
    "profiles_customer",
    "profiles_identifier",
    "profiles_touchpoint",
    "profiles_customersummary",
    "profiles_interest",
)
# The two writers of the parallel load: the identities' thread and the job's (touchpoints, then interests).
WRITERS = (
    ("profiles_customer", "profiles_identifier", "profiles_customersummary"),
    ("profiles_touchpoint", "profiles_interest"),
)

INTEREST_SCORES = """
SELECT count(*) FROM (
  SELECT t.customer_id, k.kind, k.key,
         sum(w.weight * power(0.5::float8, greatest(date_part('epoch', now() - t.occurred_at), 0) / 86400.0
                                           / %(half_life)s))
  FROM profiles_touchpoint t
  JOIN unnest(%(moments)s::text[], %(weights)s::float8[]) AS w(moment, weight) ON w.moment = t.moment
  CROSS JOIN LATERAL (VALUES ('category', lower(t.category)), ('brand', lower(t.brand)),
                             ('product', coalesce(nullif(t.product_sku, ''), lower(t.product_name)))) AS k(kind, key)
  WHERE k.key <> ''
  GROUP BY 1, 2, 3
) scores
"""
CUSTOMER_COUNTS = """
SELECT count(*) FROM (
  SELECT customer_id, count(*), min(occurred_at), max(occurred_at),
         sum(revenue) FILTER (WHERE moment = 'purchased')
  FROM profiles_touchpoint GROUP BY customer_id
) counts
"""


def floor_leg(base_url: str, url: str, name: str, path: Path, *, copy_name: str, copy_url: str) -> dict:
    """Measure the floor against (a)'s database ``name`` (at ``url``), loading again into ``copy_name`` (at
    ``copy_url``), a database of the same server that this creates from ``name`` and drops; returns seconds by
    piece."""
    import psycopg

    from profiles.derived import HALF_LIFE_DAYS, MOMENT_WEIGHTS

    result: dict = {"rows": 0, "seconds": 0.0, "pieces": {}}
    pieces = result["pieces"]
    dumps: dict[str, bytes] = {}
    with psycopg.connect(url) as connection:
        for table in TABLES:
            with connection.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:  # noqa: S608
                dumps[table] = b"".join(bytes(chunk) for chunk in copy)
        result["rows"] = connection.execute("SELECT count(*) FROM profiles_touchpoint").fetchone()[0]
        connection.execute("SET work_mem = '64MB'")
        connection.execute("SET jit = off")
        params = {
            "moments": list(MOMENT_WEIGHTS),
            "weights": list(MOMENT_WEIGHTS.values()),
            "half_life": HALF_LIFE_DAYS,
        }
        pieces["aggregate: interest scores"] = _timed(lambda: connection.execute(INTEREST_SCORES, params).fetchone())
        pieces["aggregate: customer counts"] = _timed(lambda: connection.execute(CUSTOMER_COUNTS).fetchone())

    pieces["reading: csv module, rows untouched"] = _timed(lambda: _read_only(path))

    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
    try:
        serial = {}
        _empty(copy_url)
        with psycopg.connect(copy_url) as connection:
            for table in TABLES:
                serial[table] = _timed(lambda table=table: _load(connection, table, dumps[table]))
        for table, seconds in serial.items():
            pieces[f"write, indexed, one connection: {table}"] = seconds
        pieces["writes, indexed, one connection (sum)"] = sum(serial.values())

        _empty(copy_url)
        pieces["writes, indexed, two connections (wall)"] = _timed(lambda: _load_in_parallel(copy_url, dumps))

        _empty(copy_url)
        pieces["writes, indexes built after (sum)"] = _load_then_index(copy_url, dumps, pieces)
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
    result["seconds"] = (
        min(pieces["writes, indexed, one connection (sum)"], pieces["writes, indexes built after (sum)"])
        + pieces["aggregate: interest scores"]
        + pieces["aggregate: customer counts"]
        + pieces["reading: csv module, rows untouched"]
    )
    return result


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _read_only(path: Path) -> None:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for _row in csv.reader(handle):
            pass


def _empty(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as connection:
        # CASCADE empties the (empty) tables that reference customers too; nothing else is touched.
        connection.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        connection.execute("CHECKPOINT")


def _load(connection, table: str, data: bytes) -> None:
    with connection.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:  # noqa: S608
        copy.write(data)
    connection.commit()


def _load_in_parallel(url: str, dumps: dict[str, bytes]) -> None:
    import psycopg

    errors: list[BaseException] = []

    def writer(tables: tuple[str, ...]) -> None:
        try:
            with psycopg.connect(url) as connection:
                for table in tables:
                    _load(connection, table, dumps[table])
        except BaseException as error:  # re-raised in the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(tables,)) for tables in WRITERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _load_then_index(url: str, dumps: dict[str, bytes], pieces: dict) -> float:
    """Drop the five tables' indexes and key constraints, load, then build each index again; returns the sum."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            """
            SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                   c.conname
            FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
            WHERE i.indrelid::regclass::text = ANY(%s)
            """,
            [list(TABLES)],
        ).fetchall()
        for index, table, _definition, constraint in rows:
            if constraint:
                # CASCADE drops the foreign keys of other tables that lean on a primary key: a throwaway copy.
                connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}" CASCADE')
            else:
                connection.execute(f"DROP INDEX {index}")
        connection.commit()
        total = 0.0
        for table in TABLES:
            total += _timed(lambda table=table: _load(connection, table, dumps[table]))
        for index, _table, definition, _constraint in rows:
            seconds = _timed(lambda definition=definition: (connection.execute(definition), connection.commit()))
            pieces[f"index built after: {index}"] = seconds
            total += seconds
    return total


def budgets(rows: int, *, rate_copy: float | None, rate_iexport: float | None) -> list[tuple[str, float]]:
    """Each target's time budget for ``rows``, as (label, seconds), for the legs this run measured."""
    found = [("15% of (b)", rows / (0.15 * rate_copy) if rate_copy else None)]
    found.append(("80x (c)", rows / (80 * rate_iexport) if rate_iexport else None))
    return [(label, seconds) for label, seconds in found if seconds]


def floor_report(floor: dict, *, rate_copy: float | None, rate_iexport: float | None, cores: int) -> None:
    print()
    print("Floor of (a) on this machine (bench/import_floor.py): seconds of one core each")
    for piece, seconds in floor["pieces"].items():
        print(f"    {piece:<62} {seconds:7.2f}")
    total, rows = floor["seconds"], floor["rows"]
    print(
        f"    {'floor: cheaper writes + aggregates + reading':<62} {total:7.2f}   on {cores} cores >= {total / cores:.2f} s"
    )
    for label, seconds in budgets(rows, rate_copy=rate_copy, rate_iexport=rate_iexport):
        share = total / cores / seconds
        print(f"    target {label}: {seconds:.2f} s for {rows:,} rows; the floor alone takes {share:.0%} of it")


def columnar_report(
    columnar: dict, floor: dict | None, *, rate_copy: float | None, rate_iexport: float | None, cores: int
) -> None:
    """The columnar probe's stages, and with the floor's writes added, the least such a design would take."""
    print()
    print("A columnar importer's unavoidable work on this file (bench/columnar_probe.py), nothing written:")
    for label, wall, cpu in columnar["stages"]:
        print(f"    {label:<80} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    probe = sum(stage[2] for stage in columnar["stages"])
    print(f"    {'all (polars ' + columnar['polars'] + ')':<80} {'':6}        {probe:6.2f} s CPU")
    if not floor:
        return
    rows = floor["rows"]
    for label, piece in (
        ("indexes built after the load (empty database only)", "writes, indexes built after (sum)"),
        ("indexes in place", "writes, indexed, one connection (sum)"),
    ):
        total = probe + floor["pieces"][piece]
        line = f"    + the floor's writes, {label}: {total:.2f} CPU s, on {cores} cores >= {total / cores:.2f} s"
        shares = [
            f"{total / cores / seconds:.0%} of {name}"
            for name, seconds in budgets(rows, rate_copy=rate_copy, rate_iexport=rate_iexport)
        ]
        print(line + (f" = {', '.join(shares)}" if shares else ""))
    print("    (before summaries, merges, guards, rejected rows with reasons, crash-safe batches and bookkeeping)")
