"""python manage.py import_channel_data FILE... --source NAME [--format auto|csv|jsonl] [--async]

Contract 3 (DESIGN.md): a progress bar on a terminal, then one summary line
``rows=N imported=N updated=N duplicates=N rejected=N``. Exit 0 when the files were processed (even with
rejected rows); non-zero only when a file as a whole could not be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from profiles.imports import JobBusy, import_file, import_job_create
from profiles.models import ImportJob, ImportStatus, Source

COUNTERS = ("rows", "imported", "updated", "duplicates", "rejected")


class Command(BaseCommand):
    help = "Import channel files (CSV or Segment JSONL) into customer profiles."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--source", required=True, help="Name of the source the files come from.")
        parser.add_argument("--format", default="auto", choices=["auto", "csv", "jsonl"])
        parser.add_argument("--async", dest="run_async", action="store_true", help="Queue the imports for the worker.")

    def handle(self, *args, files, source, format, run_async, **options):
        try:
            source_obj = Source.objects.get(name=source)
        except Source.DoesNotExist:
            raise CommandError(
                f"no source named {source!r}: create it with `create_source {source} --kind KIND`"
            ) from None
        paths = [Path(f) for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"no such file: {', '.join(missing)}")

        if run_async:
            from profiles.tasks import import_job_run_task

            for path in paths:
                with transaction.atomic():
                    job = import_job_create(source=source_obj, path=path, fmt=format, origin="cli")
                    transaction.on_commit(lambda pk=job.pk: import_job_run_task.delay(pk))
                self.stdout.write(f"{path.name}: queued as job {job.public_id}")
            return

        totals = dict.fromkeys(COUNTERS, 0)
        failures = []
        for path in paths:
            try:
                job = import_file(source=source_obj, path=path, fmt=format, progress=self._progress(path))
            except JobBusy as exc:
                failures.append(f"{path.name}: {exc}")
                continue
            self._clear_progress()
            if job.status == ImportStatus.FAILED:
                failures.append(f"{path.name}: {job.error}")
                continue
            if len(paths) > 1 or job.status == ImportStatus.SKIPPED:
                note = " (already imported: skipped)" if job.status == ImportStatus.SKIPPED else ""
                self.stdout.write(f"{path.name}: {job.summary_line()}{note}")
            for name in COUNTERS:
                totals[name] += getattr(job, name)
        for failure in failures:
            self.stderr.write(failure)
        self.stdout.write(" ".join(f"{name}={totals[name]}" for name in COUNTERS))
        if failures:
            raise CommandError(f"{len(failures)} file(s) could not be read")

    def _progress(self, path: Path):
        if not sys.stdout.isatty():
            return None

        def show(job: ImportJob) -> None:
            percent = job.progress_percent
            filled = (percent or 0) * 30 // 100
            bar = "#" * filled + "-" * (30 - filled) if percent is not None else "." * 30
            stage = f" {job.get_stage_display().lower()}" if job.stage else ""
            shown = f"{percent:3d}%" if percent is not None else "    "
            self.stdout.write(f"\r\033[K{path.name} [{bar}] {shown} {job.rows} rows{stage}", ending="")
            self.stdout.flush()

        return show

    def _clear_progress(self) -> None:
        if sys.stdout.isatty():
            self.stdout.write("\r\033[K", ending="")
