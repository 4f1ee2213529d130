"""Import jobs as the worker runs them: claims, the inbox folder, a real Celery worker, a killed process."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
import weakref

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles import imports
from profiles.identity import BatchResolver
from profiles.imports import import_file, import_job_create, import_job_run, inbox_scan, job_is_live
from profiles.models import Customer, CustomerSummary, Identifier, ImportJob, ImportStatus, Merge, Touchpoint
from profiles.tasks import import_job_run_task, inbox_scan_task
from tests.factories import CustomerFactory, IdentifierFactory, SourceFactory
from tests.workers import ROOT, celery_worker, wait_for, worker_env

HEADER = "event_id,occurred_at,event,email"


def write_feed(path, n: int, start: int = 0) -> None:
    lines = [HEADER] + [f"e{i},2024-05-01T10:00:00Z,purchased,client{i % 50}@example.com" for i in range(start, n)]
    path.write_text("\n".join(lines) + "\n")


def settle(path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


@pytest.mark.django_db
def test_a_job_run_twice_acts_once(tmp_path):
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 3)
    job = import_job_create(source=source, path=tmp_path / "a.csv")
    first = import_job_run(job_id=job.pk)
    second = import_job_run(job_id=job.pk)
    assert first.status == second.status == ImportStatus.DONE
    assert second.rows == 3 and Touchpoint.objects.count() == 3


@pytest.mark.django_db
def test_a_running_job_says_what_it_is_doing_and_how_far_it_has_read_before_it_writes(tmp_path, settings):
    settings.IMPORT_BATCH_SIZE = 100
    settings.IMPORT_PLAN_BATCHES = 2
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 350)
    seen = []

    job = import_file(
        source=source,
        path=tmp_path / "a.csv",
        progress=lambda job: seen.append((job.stage, job.progress_percent, job.rows)),
    )

    stages = [stage for stage, _, _ in seen]
    # Two windows of two batches: each read, matched, then written; the profiles refreshed once at the end.
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == [
        "reading", "matching", "writing", "reading", "matching", "writing", "profiles", "",
    ]  # fmt: skip
    reading = [percent for stage, percent, rows in seen if stage == "reading"]
    assert reading == sorted(reading) and reading[-1] == 100 and 0 < reading[0] < 100
    assert all(rows == 0 for stage, _, rows in seen[:3])  # read ahead of writing anything
    assert {percent for stage, percent, _ in seen if stage in ("matching", "profiles")} == {None}
    writing = [(percent, rows) for stage, percent, rows in seen if stage == "writing"]
    assert writing[0] == (None, 0)  # nothing committed to measure yet
    assert [percent for percent, _ in writing[1:]] == sorted(p for p, _ in writing[1:]) and writing[-1][0] == 100
    assert job.status == ImportStatus.DONE and job.stage == "" and job.rows == 350


@pytest.mark.django_db
def test_the_inbox_scan_queues_new_files_of_known_sources_and_files_them_away(tmp_path, settings):
    settings.IMPORT_INBOX_DIR = tmp_path
    SourceFactory(name="pos")
    (tmp_path / "pos").mkdir()
    (tmp_path / "unknown-source").mkdir()
    write_feed(tmp_path / "pos" / "monday.csv", 4)
    (tmp_path / "pos" / "broken.csv").write_bytes(b"")
    write_feed(tmp_path / "pos" / "still-copying.csv", 2)
    write_feed(tmp_path / "unknown-source" / "x.csv", 2)
    (tmp_path / "pos" / "notes.pdf").write_bytes(b"%PDF")
    for name in ("monday.csv", "broken.csv"):
        settle(tmp_path / "pos" / name)

    jobs = inbox_scan()
    assert sorted(j.filename for j in jobs) == ["broken.csv", "monday.csv"]
    assert inbox_scan() == []  # queued jobs are not queued twice

    for job in jobs:
        import_job_run(job_id=job.pk)
    assert (tmp_path / "pos" / "done" / "monday.csv").exists()
    assert (tmp_path / "pos" / "failed" / "broken.csv").exists()
    assert not (tmp_path / "pos" / "monday.csv").exists()
    assert ImportJob.objects.get(filename="monday.csv").path.endswith("done/monday.csv")
    assert Touchpoint.objects.count() == 4


@pytest.mark.django_db
def test_the_same_file_dropped_again_in_the_inbox_is_skipped(tmp_path, settings):
    settings.IMPORT_INBOX_DIR = tmp_path
    SourceFactory(name="pos")
    (tmp_path / "pos").mkdir()
    for _ in range(2):
        write_feed(tmp_path / "pos" / "feed.csv", 3)
        settle(tmp_path / "pos" / "feed.csv")
        (job,) = inbox_scan()
        import_job_run(job_id=job.pk)
    assert list(ImportJob.objects.order_by("pk").values_list("status", flat=True)) == ["done", "skipped"]
    assert len(list((tmp_path / "pos" / "done").iterdir())) == 2


@pytest.mark.worker
@pytest.mark.xdist_group("worker")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_an_uploaded_job_from_the_queue(tmp_path):
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 5)
    job = import_job_create(source=source, path=tmp_path / "a.csv", origin="upload")
    with celery_worker() as (_, queue):
        import_job_run_task.apply_async(args=[job.pk], queue=queue)
        wait_for(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportStatus.DONE).exists())
    assert Touchpoint.objects.count() == 5


@pytest.mark.django_db
def test_the_beat_task_queues_inbox_files(tmp_path, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.IMPORT_INBOX_DIR = tmp_path
    SourceFactory(name="pos")
    (tmp_path / "pos").mkdir()
    write_feed(tmp_path / "pos" / "a.csv", 2)
    settle(tmp_path / "pos" / "a.csv")
    queued = []
    monkeypatch.setattr(import_job_run_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox_scan_task() == 1
    assert queued == [ImportJob.objects.get().pk]


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_resumes_where_it_stopped_with_no_duplicates(tmp_path):
    SourceFactory(name="pos")
    path = tmp_path / "big.csv"
    write_feed(path, 6000)
    env = worker_env(IMPORT_BATCH_SIZE="200")
    command = [sys.executable, "manage.py", "import_channel_data", str(path), "--source", "pos"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: ImportJob.objects.filter(lines_done__gt=0).exists(), timeout=60, interval=0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    job = ImportJob.objects.get()
    if job.status == ImportStatus.DONE:
        pytest.skip("the import finished before it could be killed")
    assert job.status == ImportStatus.RUNNING  # it died without a word
    assert Touchpoint.objects.count() == job.imported == job.rows  # only whole batches
    wait_for(lambda: not job_is_live(job.pk))  # PostgreSQL notices the dead client and frees its lock

    done = import_file(source=job.source, path=path)

    assert done.pk == job.pk and done.status == ImportStatus.DONE
    assert done.summary_line() == "rows=6000 imported=6000 updated=0 duplicates=0 rejected=0"
    assert Touchpoint.objects.count() == 6000


def batches_written_alongside(monkeypatch) -> list[bool]:
    """Record, per batch the job writes, whether it went in while the identities were still being written."""
    held: list[bool] = []
    write = imports._batch_write

    def recorded(*args, plan_held=False, **kwargs):
        write(*args, plan_held=plan_held, **kwargs)
        held.append(plan_held)

    monkeypatch.setattr(imports, "_batch_write", recorded)
    return held


@pytest.mark.django_db(transaction=True)
def test_batches_go_in_while_the_identities_are_written_and_commit_only_after_them(tmp_path, settings, monkeypatch):
    settings.IMPORT_BATCH_SIZE = 100
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 600)
    held = batches_written_alongside(monkeypatch)
    seen_by_others = []
    create = BatchResolver._create_customers

    def slow_create(self, *args):
        # Hold the identities' transaction open until the job has written two batches, and look at what
        # this (other) connection sees of them meanwhile.
        wait_for(lambda: len(held) >= 2, timeout=30, interval=0.01)
        seen_by_others.append(Touchpoint.objects.count())
        create(self, *args)

    monkeypatch.setattr(BatchResolver, "_create_customers", slow_create)

    job = import_file(source=source, path=tmp_path / "a.csv")

    assert job.status == ImportStatus.DONE
    assert job.summary_line() == "rows=600 imported=600 updated=0 duplicates=0 rejected=0"
    assert held[:2] == [True, True]  # the rest went in as usual once the identities were committed
    assert seen_by_others == [0]  # not committed before the identities were
    assert Customer.objects.count() == 50 and Identifier.objects.count() == 50
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == set(
        Customer.objects.values_list("pk", flat=True)
    )
    assert Touchpoint.objects.values("customer_id").distinct().count() == 50


@pytest.mark.django_db(transaction=True)
def test_when_the_identities_fail_the_batches_written_alongside_roll_back_and_the_job_resumes(
    tmp_path, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 100
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 600)
    held = batches_written_alongside(monkeypatch)
    create = BatchResolver._create_customers

    def failing_create(self, *args):
        wait_for(lambda: held, timeout=30, interval=0.01)
        raise RuntimeError("disk full")

    monkeypatch.setattr(BatchResolver, "_create_customers", failing_create)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(source=source, path=tmp_path / "a.csv")

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and job.error.startswith("interrupted after line 0:")
    assert held and job.rows == job.lines_done == 0
    assert not Touchpoint.objects.exists() and not Customer.objects.exists() and not Identifier.objects.exists()

    monkeypatch.setattr(BatchResolver, "_create_customers", create)
    done = import_file(source=source, path=tmp_path / "a.csv")
    assert done.pk == job.pk and done.summary_line() == "rows=600 imported=600 updated=0 duplicates=0 rejected=0"
    assert Touchpoint.objects.count() == 600 and Customer.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_a_plan_that_merges_known_customers_is_committed_before_any_batch_is_written(tmp_path, settings, monkeypatch):
    # A merge locks and changes known customers, whom a batch's consent and name updates could be waiting
    # for while the job waits for the merge: with merges, the batches follow the identities, as before.
    settings.IMPORT_BATCH_SIZE = 2
    source = SourceFactory(name="pos")
    anna_by_email, anna_by_phone = CustomerFactory(first_name="Anna"), CustomerFactory(first_name="Anna")
    IdentifierFactory(customer=anna_by_email, kind="email", value="anna@example.com")
    IdentifierFactory(customer=anna_by_phone, kind="phone", value="+33612345678")
    (tmp_path / "a.csv").write_text(
        "event_id,occurred_at,event,email,phone,first_name\n"
        "e1,2024-05-01T10:00:00Z,purchased,anna@example.com,,Anne\n"
        "e2,2024-05-01T11:00:00Z,purchased,anna@example.com,+33 6 12 34 56 78,Anne\n"
        "e3,2024-05-01T12:00:00Z,purchased,,+33612345678,Anne\n"
    )
    held = batches_written_alongside(monkeypatch)

    job = import_file(source=source, path=tmp_path / "a.csv")

    assert job.summary_line() == "rows=3 imported=3 updated=0 duplicates=0 rejected=0"
    assert held == [False, False]
    merge = Merge.objects.get()
    assert {merge.survivor_id, merge.absorbed_id} == {anna_by_email.pk, anna_by_phone.pk}
    assert set(Touchpoint.objects.values_list("customer_id", flat=True)) == {merge.survivor_id}
    assert Customer.objects.get(pk=merge.survivor_id).first_name == "Anne"


@pytest.mark.django_db(transaction=True)
def test_a_job_that_failed_after_its_identities_committed_still_profiles_everyone_when_resumed(
    tmp_path, settings, monkeypatch
):
    # Found by killing a 1M-row import while its first batches were going in: the identities were in, no
    # batch was, and the resumed job left the customers of profile-only rows (no event) without a summary.
    settings.IMPORT_BATCH_SIZE = 100
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 300)
    with (tmp_path / "a.csv").open("a") as feed:
        feed.write("p1,,,only-a-profile@example.com\n")
    write = imports._batch_write

    def failing_write(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(imports, "_batch_write", failing_write)
    with pytest.raises(RuntimeError, match="connection lost"):
        import_file(source=source, path=tmp_path / "a.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and job.lines_done == 0
    assert Customer.objects.count() == 51 and not Touchpoint.objects.exists()  # the identities went in

    monkeypatch.setattr(imports, "_batch_write", write)
    done = import_file(source=source, path=tmp_path / "a.csv")

    assert done.pk == job.pk and done.summary_line() == "rows=301 imported=300 updated=0 duplicates=1 rejected=0"
    assert CustomerSummary.objects.count() == Customer.objects.count() == 51


@pytest.mark.django_db
def test_no_cyclic_collection_while_a_job_runs_and_it_is_back_on_after_it_whatever_the_outcome(tmp_path):
    source = SourceFactory(name="pos")
    write_feed(tmp_path / "a.csv", 3)
    (tmp_path / "empty.csv").write_text(HEADER + "\n")
    collecting = []

    done = import_file(source=source, path=tmp_path / "a.csv", progress=lambda job: collecting.append(gc.isenabled()))
    failed = import_file(source=source, path=tmp_path / "empty.csv")

    assert done.status == ImportStatus.DONE and failed.status == ImportStatus.FAILED
    assert collecting and not any(collecting)  # every report, the last one too, comes from inside the job
    assert gc.isenabled()


def test_a_written_windows_rows_are_freed_outside_the_jobs_thread():
    class Row:  # a checked row, which a weak reference can watch
        pass

    window = [imports.ParsedBatch(rows=[Row() for _ in range(3)]) for _ in range(2)]
    watched = [weakref.ref(row) for batch in window for row in batch.rows]
    before = {thread.ident for thread in threading.enumerate()}

    imports._rows_released(window)

    assert all(batch.rows == [] for batch in window)
    for thread in threading.enumerate():
        if thread.ident not in before:
            thread.join(timeout=10)
    assert [ref() for ref in watched] == [None] * 6


@pytest.mark.django_db
def test_statistics_are_taken_before_a_window_reads_what_the_last_one_grew_and_once_after_the_file(
    tmp_path, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 100
    settings.IMPORT_PLAN_BATCHES = 1
    monkeypatch.setattr(imports, "ANALYZE_FIRST", 50)
    monkeypatch.setattr(imports, "REFRESH_ANALYZE", 10)
    analyzed_with = []  # the customers there at each ANALYZE
    analyze = imports._analyze

    def recorded():
        analyzed_with.append(Customer.objects.count())
        analyze()

    monkeypatch.setattr(imports, "_analyze", recorded)
    lines = [HEADER] + [f"e{i},2024-05-01T10:00:00Z,purchased,new{i}@example.com" for i in range(300)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")

    job = import_file(source=SourceFactory(name="pos"), path=tmp_path / "a.csv")

    assert job.status == ImportStatus.DONE and Customer.objects.count() == 300
    # Windows of 100 new customers each: the second and third look up identifiers in tables the window before
    # grew; after the third, the refresh analyzes them, and nothing else does (it used to, just before).
    assert analyzed_with == [100, 200, 300]


def analyze_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [list(imports.ANALYZED_TABLES)],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_grown_table_is_analyzed_on_a_connection_of_its_own():
    before = analyze_counts()
    with CaptureQueriesContext(connection) as own:
        imports._analyze()

    after = analyze_counts()
    assert {table: after[table] - before[table] for table in imports.ANALYZED_TABLES} == dict.fromkeys(
        imports.ANALYZED_TABLES, 1
    )
    assert not [query for query in own.captured_queries if "ANALYZE" in query["sql"]]  # none on the job's
