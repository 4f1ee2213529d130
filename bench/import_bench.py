"""Import benchmark: the same generated channel CSV imported three ways in one run, plus a re-import.

    .venv/bin/pip install -c constraints.txt -e '.[bench]'
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.import_bench --rows 1000000 --customers 200000 --slice 50000 --seed 7

Legs (each against a throwaway database ``bench_import_<pid>`` created on the DATABASE_URL server,
migrated, and dropped at the end unless ``--keep-db``):

(b) ``copy``: raw PostgreSQL ``COPY ... FROM STDIN (FORMAT csv)`` of the file into one ordinary (logged)
    table with typed columns (timestamptz, numeric(12,2), integer, boolean, jsonb, text) and no index or
    constraint: the physical limit of getting these bytes into PostgreSQL.
(a) ``ours``: ``manage.py import_channel_data FILE --source bench``, the real command, end to end
    (parse, normalize, resolve identities, upsert touchpoints, refresh summaries), in a child process.
(d) ``reimport``: the same command on the same file again; must be faster than (a).
(c) ``iexport``: django-import-export 4 in bulk mode (``use_bulk``, ``batch_size=1000``, ``skip_diff``)
    into equivalent models (``bench/iexport``) on the first ``--slice`` rows, because it is slow: customers
    keyed by email-or-phone first, then touchpoints with a ``ForeignKeyWidget``.
``floor``: after the others, against (a)'s database: the least any design must spend for (a) on this machine
    (``bench/import_floor.py``), set beside the targets.
``columnar``: ``bench/columnar_probe.py`` on the same file (needs polars, a bench extra): what an importer
    without per-row Python would still spend before writing anything; with the floor leg, its CPU plus the
    floor's writes is set beside the targets too.

``--cpu`` also samples, during (a), the CPU time of every PostgreSQL and Python process on the machine
(Linux ``/proc``) and the job's stage, and prints per stage its seconds and the cores each kind kept busy.
``--timeline`` prints, for (a), when each timed stage first started and last ended and in which threads
(``MainThread``: the job's; ``import``: the identities' writer; ``refresh`` and ``analyze``: their pools).

Prints rows/s for each leg, each leg's ratio to (b), and (a)/(c). ``--rows 20000`` is a smoke run that
finishes in well under a minute. Timings are measured inside the child process around the import call
only (Django start-up excluded). The generated file is cached under ``bench/out/``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import import_floor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SOURCE = "bench"
EXPERIMENT = [""]  # set from --experiment for the child legs of the real importer

COPY_TABLE = """
CREATE TABLE bench_copy (
    event_id text, occurred_at timestamptz, event text, channel text, customer_id text, email text, phone text,
    loyalty_id text, anonymous_id text, first_name text, last_name text, store_code text, associate text,
    order_id text, product_sku text, product_name text, category text, brand text, size text, color text,
    quantity integer, price numeric(12, 2), revenue numeric(12, 2), currency text, consent_recognition boolean,
    consent_email boolean, consent_sms boolean, consent_surveys boolean, properties jsonb
)
"""


# ------------------------------------------------------------------------------------------ CPU by stage


class CpuSampler:
    """Every half second: CPU time used by PostgreSQL and by Python processes (all of them, from /proc), and
    the stage of the newest import job in the benchmark's database. ``report`` prints both per stage."""

    def __init__(self, url: str, interval: float = 0.5):
        import threading

        self.url, self.interval = url, interval
        self.samples: list[tuple[str, float, float, float]] = []  # (stage, seconds, postgres s, python s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _cpu() -> dict[str, float]:
        ticks = {"postgres": 0, "python": 0}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            kind = "postgres" if name.startswith("postgres") else "python" if name.startswith("python") else ""
            if kind:
                ticks[kind] += int(fields[11]) + int(fields[12])  # utime + stime
        hz = os.sysconf("SC_CLK_TCK")
        return {kind: value / hz for kind, value in ticks.items()}

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            before, at = self._cpu(), time.perf_counter()
            while not self._stop.wait(self.interval):
                row = connection.execute("SELECT stage, status FROM profiles_importjob ORDER BY id DESC LIMIT 1")
                found = row.fetchone()
                stage = (found[0] or found[1]) if found else "starting"
                now, cpu = time.perf_counter(), self._cpu()
                # A process that ended between two samples takes its ticks along: clamp at zero.
                self.samples.append(
                    (
                        stage,
                        now - at,
                        max(cpu["postgres"] - before["postgres"], 0),
                        max(cpu["python"] - before["python"], 0),
                    )
                )
                before, at = cpu, now

    def report(self) -> None:
        stages: dict[str, list[float]] = {}
        for stage, seconds, postgres, python in self.samples:
            total = stages.setdefault(stage, [0.0, 0.0, 0.0])
            total[0] += seconds
            total[1] += postgres
            total[2] += python
        cores = os.cpu_count() or 1
        print(f"    {'stage of (a)':<14} {'seconds':>8} {'postgres cores':>15} {'python cores':>13} {'idle cores':>11}")
        for stage, (seconds, postgres, python) in stages.items():
            busy_pg, busy_py = postgres / seconds, python / seconds
            print(
                f"    {stage:<14} {seconds:8.1f} {busy_pg:15.2f} {busy_py:13.2f} {max(cores - busy_pg - busy_py, 0):11.2f}"
            )
        seconds = sum(v[0] for v in stages.values())
        postgres, python = sum(v[1] for v in stages.values()), sum(v[2] for v in stages.values())
        print(f"    {'all':<14} {seconds:8.1f} {postgres / seconds:15.2f} {python / seconds:13.2f}"
              f"   (CPU seconds: postgres {postgres:.1f}, python {python:.1f})")  # fmt: skip


# ------------------------------------------------------------------------------------------ orchestration


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def announce(label: str, result: dict) -> dict:
    rate = result["rows"] / result["seconds"] if result["seconds"] else 0
    print(f"    {label}: {result['rows']:,} rows in {result['seconds']:.2f}s = {rate:,.0f} rows/s", flush=True)
    return result


def run_child(leg: str, path: Path, url: str, *extra: str) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0")
    env.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    command = [sys.executable, "-m", "bench.import_bench", "--leg", leg, "--file", str(path), *extra]
    if EXPERIMENT[0] and leg == "ours":
        command += ["--experiment", EXPERIMENT[0]]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"leg {leg} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_columnar(path: Path) -> dict | None:
    """The columnar probe on the file in a child process; None (and a note) when polars is not installed."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0")
    env.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    command = [sys.executable, "-m", "bench.columnar_probe", str(path), "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if "No module named 'polars'" in done.stderr:
            print("    columnar: skipped, polars is not installed (pip install -c constraints.txt -e '.[bench]')")
            return None
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"leg columnar failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"    columnar: {sum(stage[2] for stage in result['stages']):.2f} CPU seconds", flush=True)
    return result


def generate(path: Path, *, rows: int, customers: int, seed: int) -> float:
    from profiles.demo import write_channel_csv

    started = time.perf_counter()
    write_channel_csv(path, rows=rows, customers=customers, seed=seed)
    return time.perf_counter() - started


def write_slice(source: Path, target: Path, rows: int) -> int:
    with source.open(encoding="utf-8") as reader, target.open("w", encoding="utf-8") as writer:
        writer.write(reader.readline())
        count = 0
        for line in reader:
            if count == rows:
                break
            writer.write(line)
            count += 1
    return count


def copy_leg(url: str, path: Path) -> dict:
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(COPY_TABLE)
        connection.commit()
        started = time.perf_counter()
        cursor = connection.cursor()
        with cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy, path.open("rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        connection.commit()
        seconds = time.perf_counter() - started
        rows = connection.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
    return {"rows": rows, "seconds": seconds}


def orchestrate(args) -> None:
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server the benchmark may create databases on.")
    customers = args.customers or max(1, args.rows // 5)
    EXPERIMENT[0] = args.experiment
    if args.experiment:
        print(f"EXPERIMENT {args.experiment}: legs (a), (d), (e) run a modified importer, not the real one")
    OUT.mkdir(parents=True, exist_ok=True)
    path = args.file or OUT / f"channel_{args.rows}_{customers}_{args.seed}.csv"
    if not path.exists():
        # Written aside and renamed, so a concurrent run never reads a half-written file.
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        seconds = generate(partial, rows=args.rows, customers=customers, seed=args.seed)
        partial.replace(path)
        print(f"generated {path.name}: {args.rows:,} rows for {customers:,} customers in {seconds:.1f}s "
              f"({args.rows / seconds:,.0f} rows/s)", flush=True)  # fmt: skip
    slice_rows = min(args.slice, args.rows)
    slice_path = OUT / f"{path.stem}_slice{slice_rows}_{os.getpid()}.csv"
    write_slice(path, slice_path, slice_rows)

    name = f"bench_import_{os.getpid()}"
    url = database_url(base, name)
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    results: dict[str, dict] = {}
    try:
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0")
        env.setdefault("SECRET_KEY", "bench-" + "x" * 60)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--run-syncdb", "--skip-checks", "--no-input", "-v", "0"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        with psycopg.connect(url) as connection:
            server = connection.execute("SHOW server_version").fetchone()[0]
            autovacuum = connection.execute("SHOW autovacuum").fetchone()[0]
        server = f"{server}, autovacuum {autovacuum}"
        legs = args.legs.split(",")
        if "copy" in legs:
            print("(b) COPY into an unindexed typed table ...", flush=True)
            results["copy"] = announce("(b)", copy_leg(url, path))
        if "iexport" in legs:
            print(f"(c) django-import-export, bulk mode, first {slice_rows:,} rows ...", flush=True)
            results["iexport"] = announce("(c)", run_child("iexport", slice_path, url))
        if "ours" in legs:
            print("(a) import_channel_data into a fresh database ...", flush=True)
            with CpuSampler(url) if args.cpu else contextlib.nullcontext() as sampler:
                results["ours"] = announce("(a)", run_child("ours", path, url))
            if sampler:
                sampler.report()
        if "reimport" in legs and "ours" in legs:
            print("(d) import_channel_data again, same file ...", flush=True)
            results["reimport"] = announce("(d)", run_child("ours", path, url))
            # The same rows in different bytes (CRLF line ends) defeat the whole-file checksum, so every
            # row goes through the pipeline and is found to be a duplicate event.
            crlf = OUT / f"{path.stem}_crlf_{os.getpid()}.csv"
            crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
            print("(e) import_channel_data, same rows with CRLF line ends ...", flush=True)
            results["rerows"] = announce("(e)", run_child("ours", crlf, url))
            crlf.unlink()
        if "floor" in legs and "ours" in legs:
            print("floor: (a)'s rows written again, the least computing and reading ...", flush=True)
            copy_name = f"{name}_floor"
            results["floor"] = import_floor.floor_leg(
                base, url, name, path, copy_name=copy_name, copy_url=database_url(base, copy_name)
            )
        if "columnar" in legs:
            print("columnar: the file's unavoidable work done by polars (bench/columnar_probe.py) ...", flush=True)
            results["columnar"] = run_columnar(path)
    finally:
        slice_path.unlink(missing_ok=True)
        if args.keep_db:
            print(f"kept database {name}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    report(results, rows=args.rows, customers=customers, server=server, args=args)


def report(results: dict[str, dict], *, rows: int, customers: int, server: str, args) -> None:
    labels = {
        "ours": "(a) import_channel_data, end to end",
        "copy": "(b) COPY, unindexed typed table",
        "iexport": "(c) django-import-export, bulk",
        "reimport": "(d) re-import of the same file",
        "rerows": "(e) re-import of the same rows, new file",
    }
    rate = {leg: r["rows"] / r["seconds"] for leg, r in results.items() if r and r.get("seconds")}
    print()
    print(f"Import benchmark: {rows:,} rows, {customers:,} customers, seed {args.seed}; "
          f"PostgreSQL {server}; {os.cpu_count()} CPUs; Python {platform.python_version()}")  # fmt: skip
    print(f"{'leg':<40} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'vs (b)':>8} {'vs (c)':>8}")
    for leg in ("ours", "copy", "iexport", "reimport", "rerows"):
        if leg not in results:
            continue
        r = results[leg]
        versus_copy = f"{rate[leg] / rate['copy']:.1%}" if "copy" in rate else "-"
        versus_iexport = f"{rate[leg] / rate['iexport']:.0f}x" if "iexport" in rate and leg != "copy" else "-"
        print(f"{labels[leg]:<40} {r['rows']:>10,} {r['seconds']:>9.2f} {rate[leg]:>10,.0f} "
              f"{versus_copy:>8} {versus_iexport:>8}")  # fmt: skip
    for leg in ("ours", "reimport", "rerows"):
        if leg in results:
            print(f"{labels[leg]}: {results[leg].get('summary', '')}  {results[leg].get('counts', '')}")
            for line in results[leg].get("stages", []):
                print(f"    {line}")
            if args.timeline and leg == "ours":
                print(f"    {'when, from the start of the import':<56} {'threads':<14} first start -> last end")
                for line in results[leg].get("timeline", []):
                    print(f"    {line}")
    if "ours" in rate and "copy" in rate and "iexport" in rate:
        verdict_copy = "met" if rate["ours"] >= 0.15 * rate["copy"] else "MISSED"
        verdict_iexport = "met" if rate["ours"] >= 80 * rate["iexport"] else "MISSED"
        print(f"targets: (a) >= 15% of (b): {verdict_copy}; (a) >= 80x (c): {verdict_iexport}")
    if "floor" in results:
        import_floor.floor_report(results["floor"], rate_copy=rate.get("copy"), rate_iexport=rate.get("iexport"),
                                  cores=os.cpu_count() or 1)  # fmt: skip
    if results.get("columnar"):
        import_floor.columnar_report(results["columnar"], results.get("floor"), rate_copy=rate.get("copy"),
                                     rate_iexport=rate.get("iexport"), cores=os.cpu_count() or 1)  # fmt: skip
    for leg in ("reimport", "rerows"):
        if "ours" in results and leg in results:
            faster = results[leg]["seconds"] < results["ours"]["seconds"]
            print(f"{labels[leg]} faster than the first import: {'yes' if faster else 'NO'}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    record = {"rows": rows, "customers": customers, "seed": args.seed, "server": server, "results": results}
    (OUT / f"import_{rows}_{stamp}_{os.getpid()}.json").write_text(json.dumps(record, indent=2))


# ------------------------------------------------------------------------------------------ child legs


def stage_timers() -> tuple[dict[str, float], dict[str, int], list[tuple[float, float]], dict[str, list]]:
    """Time the importer's stages by wrapping its functions in this process (its code stays untouched).

    Returns seconds and calls per label, the top-level calls' (start, end) spans, and per label its threads and
    first start and last end (``--timeline``).

    The wrapped functions run about once per batch (or per merge), so the timers cost nothing measurable. Parsing and
    normalizing is what remains of the total: the time no top-level stage covered (since a window's first batches
    are written while its identities are, in another thread, those two stages overlap).
    """
    import threading

    from profiles import derived, identity, imports, pipeline

    spent: dict[str, float] = {}
    calls: dict[str, int] = {}
    spans: list[tuple[float, float]] = []  # (start, end) of every top-level stage call
    when: dict[str, list] = {}  # label -> [threads, first start, last end], for --timeline

    def timed(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                spent[label] = spent.get(label, 0.0) + ended - started
                calls[label] = calls.get(label, 0) + 1
                seen = when.setdefault(label, [set(), started, ended])
                seen[0].add(threading.current_thread().name.replace("_", "-").split("-")[0])
                seen[1], seen[2] = min(seen[1], started), max(seen[2], ended)
                if not label.startswith(" "):
                    spans.append((started, ended))

        setattr(owner, name, wrapper)

    owners = {"imports": imports, "identity": identity.BatchResolver, "pipeline": pipeline, "derived": derived}
    for label, (owner, name) in STAGES.items():
        timed(owners[owner], name, label)
    return spent, calls, spans, when


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of these intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


# label -> (module or class, function) of the importer, in the order they run
STAGES = {
    "identity write, whole file (resolve + apply below)": ("imports", "identity_write"),
    "batch write (the stages below)": ("imports", "batch_write"),
    "  identity: resolve (lookups)": ("identity", "resolve"),
    "  identity: apply (new customers, identifiers, merges)": ("identity", "apply"),
    "    new customers: gather traits, COPY": ("identity", "_create_customers"),
    "    new identifiers: COPY": ("identity", "_identifiers_insert"),
    "  traits and consent of known customers": ("pipeline", "_traits_apply"),
    "  touchpoints: COPY to stage + INSERT ON CONFLICT": ("pipeline", "_touchpoints_insert"),
    "statistics: ANALYZE of the grown tables": ("imports", "_analyze"),
    "summary + interests refresh (once per file)": ("derived", "customers_refresh"),
}


def experiments_apply(names: list[str]) -> None:
    """What-if changes to the importer, applied in this process only, to size a fix before anyone writes it.

    ``no-merge-refresh``: a merge during an import schedules no summary refresh of its own (the import
    refreshes everyone it touched once per file anyway). ``analyze``: ANALYZE the three growing tables
    whenever the file has doubled the touchpoints since the last ANALYZE, so the planner knows their size.
    """
    import types

    from django.db import connection

    from profiles import identity, imports

    if "no-merge-refresh" in names:
        identity.derived = types.SimpleNamespace(customers_refresh=lambda ids: None)
    if "analyze" in names:
        original = imports._commit_batch
        analyzed_at = [0]

        def commit_then_analyze(job, *args, **kwargs):
            original(job, *args, **kwargs)
            if job.rows >= 2 * analyzed_at[0]:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE profiles_customer, profiles_identifier, profiles_touchpoint")
                analyzed_at[0] = max(job.rows, 1)

        imports._commit_batch = commit_then_analyze


def child_ours(path: Path, experiments: list[str]) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from profiles.models import Customer, Identifier, ImportJob, Merge, Source, Touchpoint

    Source.objects.get_or_create(name=SOURCE, defaults={"kind": "web"})
    experiments_apply(experiments)
    spent, calls, spans, when = stage_timers()
    output = io.StringIO()
    started = time.perf_counter()
    call_command("import_channel_data", str(path), "--source", SOURCE, stdout=output)
    seconds = time.perf_counter() - started
    measured = covered(spans)
    order = list(STAGES)
    stages = [
        f"{label:<56} {value:8.2f}s {value / seconds:6.1%} {calls[label]:>7,} calls"
        for label, value in sorted(spent.items(), key=lambda item: order.index(item[0]))
    ]
    stages.append(f"{'read, parse, normalize, job bookkeeping (the rest)':<56} {seconds - measured:8.2f}s "
                  f"{(seconds - measured) / seconds:6.1%}")  # fmt: skip
    lines = [line for line in output.getvalue().splitlines() if line.strip()]
    job = ImportJob.objects.order_by("-created_at").first()
    counts = {
        "customers": Customer.objects.live().count(),
        "identifiers": Identifier.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "merges": Merge.objects.count(),
    }
    timeline = [
        f"{label.strip():<56} {'+'.join(sorted(threads)):<14} {first - started:6.2f}s -> {last - started:6.2f}s"
        for label, (threads, first, last) in sorted(when.items(), key=lambda item: item[1][1])
    ]
    return {
        "rows": job.rows if job and job.rows else counts["touchpoints"],
        "seconds": seconds,
        "summary": " | ".join(lines[-2:]),
        "stages": stages,
        "timeline": timeline,
        "status": job.status if job else "",
        "counts": counts,
    }


def child_iexport(path: Path) -> dict:
    import django

    django.setup()
    import tablib

    from bench.iexport.resources import CustomerResource, TouchpointResource

    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    customers = tablib.Dataset(headers=["key", "email", "phone", "loyalty_id", "first_name", "last_name"])
    seen: set[str] = set()
    touchpoint_columns = [
        "event_id", "key", "occurred_at", "channel", "event", "store_code", "associate", "order_id", "product_sku",
        "product_name", "category", "brand", "size", "color", "quantity", "price", "revenue", "currency",
    ]  # fmt: skip
    touchpoints = tablib.Dataset(headers=touchpoint_columns)
    for row in rows:
        row["key"] = key = row["email"] or row["phone"] or row["loyalty_id"]
        if key not in seen:
            seen.add(key)
            customers.append([key, row["email"], row["phone"], row["loyalty_id"], row["first_name"], row["last_name"]])
        touchpoints.append([row[column] for column in touchpoint_columns])
    first = CustomerResource().import_data(customers, raise_errors=True)
    second = TouchpointResource().import_data(touchpoints, raise_errors=True)
    seconds = time.perf_counter() - started
    return {
        "rows": len(rows),
        "seconds": seconds,
        "customers": first.totals.get("new", 0),
        "touchpoints": second.totals.get("new", 0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=0, help="default: rows / 5")
    parser.add_argument("--slice", type=int, default=50_000, help="rows for the django-import-export leg")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--file", type=Path, help="use this channel CSV instead of generating one")
    parser.add_argument("--legs", default="copy,ours,reimport,iexport,floor,columnar")
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway database to inspect it")
    parser.add_argument("--cpu", action="store_true", help="print (a)'s CPU use per stage (Linux /proc)")
    parser.add_argument(
        "--timeline", action="store_true", help="print when each of (a)'s stages first started and last ended"
    )
    parser.add_argument(
        "--experiment",
        default="",
        help="comma-separated what-if changes for legs (a), (d), (e) only: no-merge-refresh, analyze "
        "(see experiments_apply); the figures are then NOT the importer's",
    )
    parser.add_argument("--leg", choices=["ours", "iexport"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.leg:
        experiments = [name for name in args.experiment.split(",") if name]
        result = child_ours(args.file, experiments) if args.leg == "ours" else child_iexport(args.file)
        print(json.dumps(result))
        return
    orchestrate(args)


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    with contextlib.suppress(KeyboardInterrupt):
        main()
