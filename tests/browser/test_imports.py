"""A manager uploads a channel file in a real browser; a real worker imports it while the page shows progress."""

from __future__ import annotations

import pytest

from profiles.imports import import_file
from profiles.models import ImportJob
from tests.browser.conftest import TABLET_WIDE, screenshot, sign_in
from tests.factories import PASSWORD, SourceFactory
from tests.workers import celery_worker, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.xdist_group("worker"),
    pytest.mark.django_db(transaction=True),
]


def channel_csv(path, rows: int, *, bad_every: int = 0) -> None:
    lines = ["event_id,occurred_at,event,channel,email,first_name,store_code,product_name,revenue,currency"]
    for i in range(rows):
        when = "not a date" if bad_every and i % bad_every == 7 else f"2024-05-{1 + i % 28:02d}T1{i % 10}:00:00Z"
        lines.append(
            f"e{i},{when},Order Completed,store,client{i % 900}@example.com,Zoé,PAR01,Kyoto bag,{100 + i % 50}.00,EUR"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_manager_uploads_a_file_and_watches_the_job_run_to_the_end(
    new_page, live_server, manager, tmp_path, settings
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    pos = SourceFactory(name="pos-paris", kind="store")
    web = SourceFactory(name="web-shop", kind="web")
    channel_csv(tmp_path / "web-week-45.csv", 400, bad_every=40)
    import_file(source=web, path=tmp_path / "web-week-45.csv", origin="upload")
    channel_csv(tmp_path / "big.csv", 40000)

    page = new_page(TABLET_WIDE)
    sign_in(page, live_server, manager.user.username, PASSWORD)
    with celery_worker(queue="imports", IMPORT_BATCH_SIZE="250"):
        page.goto(f"{live_server.url}/imports/")
        # Leaving the floor page (where sign-in lands) may abort its event stream: not this page's business.
        page.console_errors.clear()
        page.get_by_label("Source", exact=True).select_option(str(pos.pk))
        page.get_by_label("File", exact=True).set_input_files(str(tmp_path / "big.csv"))
        page.get_by_role("button", name="Import").click()
        page.wait_for_url(f"{live_server.url}/imports/*/")
        job = ImportJob.objects.get(source=pos)

        # The detail page polls the job's progress every second.
        page.locator("#progress .badge", has_text="Running").wait_for(timeout=60_000)
        wait_for(lambda: ImportJob.objects.filter(pk=job.pk, rows__gte=12000).exists(), timeout=120)

        listing = page.context.new_page()  # the list, in a second tab, while the first one keeps polling
        listing.goto(f"{live_server.url}/imports/")
        running = listing.locator("tr", has_text="big.csv")
        assert running.locator(".badge", has_text="Running").is_visible()
        assert running.locator("progress.job-progress").is_visible()
        screenshot(listing, "import")
        listing.close()

        # It stops polling (286) once the job is done.
        page.locator("#progress .badge", has_text="Done").wait_for(timeout=120_000)
    job.refresh_from_db()
    assert job.summary_line() == "rows=40000 imported=40000 updated=0 duplicates=0 rejected=0"
    assert page.locator("#progress").get_attribute("hx-trigger") is None
    assert page.console_errors == []
    page.goto(f"{live_server.url}/imports/{ImportJob.objects.get(source__name='web-shop').public_id}/")
    assert page.get_by_role("heading", name="Rejected rows").is_visible()
