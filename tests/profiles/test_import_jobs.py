"""Import jobs as the worker runs them: claims, the inbox folder, a real Celery worker, a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from profiles.imports import import_file, import_job_create, import_job_run, inbox_scan, job_is_live
from profiles.models import ImportJob, ImportStatus, Touchpoint
from profiles.tasks import import_job_run_task, inbox_scan_task
from tests.factories import SourceFactory
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
