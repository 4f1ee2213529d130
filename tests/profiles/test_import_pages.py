"""The import pages: who may see them, upload, progress polling that stops, rejected rows and their CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from profiles.imports import import_file
from profiles.models import ImportJob, ImportStatus, RejectedRow
from profiles.tasks import import_job_run_task
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pos(db):
    return SourceFactory(name="pos", kind="store")


def test_associates_may_not_open_the_import_page_and_anonymous_visitors_sign_in_first(client, associate_client):
    assert associate_client.get(reverse("profiles:imports")).status_code == 403
    client.logout()
    response = client.get(reverse("profiles:imports"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_managers_see_jobs_and_source_health_in_a_fixed_number_of_queries(
    manager_client, pos, tmp_path, django_assert_num_queries
):
    for i in range(3):
        path = tmp_path / f"f{i}.csv"
        path.write_text(
            f"event_id,occurred_at,event,email\ne{i},2024-05-01,purchased,a{i}@example.com\nx,bad,purchased,a@example.com\n"
        )
        import_file(source=pos, path=path)
    # session, user + her staff record (one join); job count, sources with their 24 h counts, the page of jobs with their
    # source, active sources for the form; the idle-timeout session save (savepoint, update, release)
    with django_assert_num_queries(9):
        response = manager_client.get(reverse("profiles:imports"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "f2.csv" in body and "Rows, 24 h" in body
    assert "hx-trigger" not in body  # nothing running: no polling


def test_an_upload_saves_the_file_and_queues_a_job_for_the_worker(
    manager_client, manager, pos, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    queued = []
    monkeypatch.setattr(import_job_run_task, "delay", queued.append)
    upload = SimpleUploadedFile(
        "monday.csv", b"event_id,occurred_at,event,email\ne1,2024-05-01,purchased,a@example.com\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("profiles:imports"), {"source": pos.pk, "file": upload, "format": "auto"}
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "profiles:import_detail", args=[job.public_id]
    )
    assert (job.origin, job.filename, job.status, job.created_by) == ("upload", "monday.csv", "queued", manager.user)
    assert queued == [job.pk]
    assert Path(job.path).read_bytes().startswith(b"event_id")


def test_an_upload_without_source_or_file_says_what_is_missing(manager_client, pos):
    response = manager_client.post(reverse("profiles:imports"), {"source": "", "format": "auto"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose where this file comes from." in body and "Choose a non-empty CSV or JSONL file." in body
    assert not ImportJob.objects.exists()


def test_progress_polling_continues_while_running_and_stops_with_286_when_done(manager_client, pos, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("event_id,occurred_at,event,email\ne1,2024-05-01,purchased,a@example.com\n")
    job = ImportJob.objects.create(
        source=pos, filename="a.csv", path=str(path), status=ImportStatus.RUNNING, size_bytes=100, bytes_done=40
    )
    url = reverse("profiles:import_detail", args=[job.public_id]) + "?fragment=progress"

    running = manager_client.get(url, HTTP_HX_REQUEST="true")
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in running.content.decode() and 'value="40"' in running.content.decode()

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, rows=1, imported=1)
    done = manager_client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    assert "hx-trigger" not in done.content.decode()


@pytest.mark.parametrize(
    ("stage", "shown", "value"),
    [
        ("reading", "Reading rows", 'value="30"'),  # bytes read, ahead of those written
        ("matching", "Matching people…", None),  # no measure: a moving bar, no number
        ("writing", "Writing rows", 'value="10"'),
        ("profiles", "Updating profiles…", None),
    ],
)
def test_the_progress_bar_follows_the_stage_of_a_running_job(manager_client, pos, stage, shown, value):
    job = ImportJob.objects.create(
        source=pos, filename="a.csv", status=ImportStatus.RUNNING, size_bytes=1000, bytes_read=300, bytes_done=100,
        stage=stage,
    )  # fmt: skip
    url = reverse("profiles:import_detail", args=[job.public_id]) + "?fragment=progress"

    fragment = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert shown in fragment
    bar = fragment.split("<progress", 1)[1].split(">", 1)[0]
    if value:
        assert value in bar
    else:
        assert "value=" not in bar
    listed = manager_client.get(reverse("profiles:imports")).content.decode()
    assert shown.rstrip("…") in listed


def test_the_detail_page_lists_rejected_rows_and_downloads_them_as_formula_safe_csv(manager_client, pos, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "event_id,occurred_at,event,email,product_name\n"
        "e1,2024-05-01,purchased,a@example.com,Bag\n"
        "@SUM(A1),2024-05-01,Teleported,b@example.com,x\n"
        "e3,never,purchased,c@example.com,@SUM(A1)\n"
    )
    job = import_file(source=pos, path=path)
    page = manager_client.get(reverse("profiles:import_detail", args=[job.public_id]))
    body = page.content.decode()
    assert "unknown event" in body and "bad date in occurred_at" in body and "Download as CSV" in body

    response = manager_client.get(reverse("profiles:import_rejected_csv", args=[job.public_id]))
    assert response["Content-Disposition"] == 'attachment; filename="a-rejected.csv"'
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["line", "reason", "row"]
    assert [r[0] for r in rows[1:]] == ["3", "4"]
    assert rows[1][2].startswith("'@SUM(A1),") and rows[1][1] == "unknown event 'Teleported'"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert RejectedRow.objects.filter(job=job).count() == 2


def test_rejected_rows_are_paginated(manager_client, pos, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "event_id,occurred_at,event,email\n" + "".join(f"e{i},bad,purchased,a@example.com\n" for i in range(120))
    )
    job = import_file(source=pos, path=path)
    url = reverse("profiles:import_detail", args=[job.public_id])
    first = manager_client.get(url).content.decode()
    third = manager_client.get(url + "?page=3").content.decode()
    assert "Page 1 of 3" in first and "Page 3 of 3" in third


def test_big_counts_are_grouped_by_thousands_on_the_list_and_the_job_page(manager_client, pos):
    job = ImportJob.objects.create(
        source=pos, filename="year.csv", status=ImportStatus.RUNNING, size_bytes=1000, bytes_read=300, bytes_done=100,
        stage="writing", rows=1234567, imported=1200000, duplicates=34500, rejected=67,
    )  # fmt: skip

    page = manager_client.get(reverse("profiles:import_detail", args=[job.public_id])).content.decode()
    listed = manager_client.get(reverse("profiles:imports")).content.decode()

    assert "1,234,567 rows written" in page
    for body in (page, listed):
        assert "1,234,567" in body and "1,200,000" in body and "34,500" in body
        assert "1234567" not in body
