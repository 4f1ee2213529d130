"""Import jobs: one channel file from queued to done, in committed batches that survive a crash.

``import_job_run`` claims the job (a session advisory lock, so a job whose process died is free to resume,
plus a conditional UPDATE of its status), reads and checks the rest of the file (after ``lines_done``) in
batches of ``IMPORT_BATCH_SIZE`` rows, writes the identities of a window of ``IMPORT_PLAN_BATCHES`` batches
in one transaction (new customers, their identifiers, merges between customers already in the database:
``identity_write``), then commits each batch's touchpoints and traits together with the job's counters and
resume point. The window's identities are written by a thread on a connection of its own, and the first
batches go in on the job's connection meanwhile (two PostgreSQL processes busy instead of one); they commit
together, after the identities (``_identities_write_alongside``; not when the window merges customers who
were already in). A crash leaves only whole batches (and, at most, identities whose rows are not in yet);
running the job again skips the committed lines, finds those identities in place and finishes the job, with
no duplicates.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from profiles import derived, phone_prefetch
from profiles.channel_files import ChannelFile, FileProblem, inspect, payload_text
from profiles.events import RowReader, RowRejected
from profiles.identity import ERASED_CUSTOMER, ERASED_RAW
from profiles.models import (
    Identifier,
    ImportJob,
    ImportStage,
    ImportStatus,
    Merge,
    RejectedRow,
    Source,
    Touchpoint,
)
from profiles.pipeline import ImportSession, batch_write, identity_write, plan_split

log = logging.getLogger(__name__)

JOB_COUNTERS = ["rows", "imported", "updated", "duplicates", "rejected", "lines_done", "bytes_done", "status"]
JOB_LOCK_CLASS = 0x1D3A  # first half of the two-key advisory lock held while a job runs
RESUMABLE = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED)
REFRESH_ANALYZE = 5000  # a refresh of more customers than this analyzes the tables first
REFRESH_WORKERS = 2  # database connections sharing the end-of-file refresh (the box it was measured on: 2 cores)
# A big file grows the tables far past what the planner last measured; with stale statistics the identity
# lookups and the summary refresh pick whole-index scans (the refresh of a 1M-row file went from 166 s to
# 67 s with these ANALYZEs in bench/import_bench.py). Analyze after the first ANALYZE_FIRST new rows and
# then each time the count doubles, and before the refresh.
ANALYZE_FIRST = 50_000
ANALYZED_TABLES = ("profiles_customer", "profiles_identifier", "profiles_touchpoint")
INTERRUPTED = "interrupted"  # error prefix of a job that stopped mid-file (resumable), unlike a file problem
INBOX_SUFFIXES = {".csv", ".txt", ".tsv", ".jsonl", ".ndjson", ".json"}
INBOX_SETTLE_SECONDS = 10  # a file still being copied into the inbox is left for the next scan
INBOX_RETRY_AFTER = timedelta(minutes=10)


class JobBusy(RuntimeError):
    """Another live process is running this import."""


def batch_size() -> int:
    return getattr(settings, "IMPORT_BATCH_SIZE", 20000)


def plan_batches() -> int:
    """Batches whose identities are resolved together (1M rows with the default batch size)."""
    return getattr(settings, "IMPORT_PLAN_BATCHES", 50)


def _windows(batches: Iterator[ParsedBatch], size: int) -> Iterator[list[ParsedBatch]]:
    window: list[ParsedBatch] = []
    for batch in batches:
        window.append(batch)
        if len(window) >= size or batch.last:
            yield window
            window = []


@transaction.atomic
def import_job_create(
    *,
    source: Source,
    path: str | Path,
    filename: str = "",
    origin: str = "cli",
    fmt: str = "auto",
    created_by=None,
) -> ImportJob:
    """A queued job for a file already on disk (uploads are saved first; the inbox files stay in place)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return ImportJob.objects.create(
        source=source,
        filename=(filename or path.name)[:255],
        path=str(path.resolve())[:1000],
        format=fmt,
        origin=origin,
        size_bytes=size,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )


def import_file(
    *,
    source: Source,
    path: str | Path,
    fmt: str = "auto",
    origin: str = "cli",
    created_by=None,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import one file now: resume an unfinished job of the same file, or skip it if it is already in."""
    path = Path(path)
    try:
        facts = inspect(path, fmt)
    except FileProblem as exc:
        job = import_job_create(source=source, path=path, origin=origin, fmt=fmt, created_by=created_by)
        _finish(job, ImportStatus.FAILED, error=str(exc))
        return job
    unfinished = (
        ImportJob.objects.filter(source=source, checksum=facts.checksum, status__in=RESUMABLE)
        .order_by("-lines_done", "created_at")
        .first()
    )
    if unfinished is not None:
        ImportJob.objects.filter(pk=unfinished.pk).update(path=str(path.resolve())[:1000], format=fmt)
        job = unfinished
    else:
        job = import_job_create(source=source, path=path, origin=origin, fmt=fmt, created_by=created_by)
    return import_job_run(job_id=job.pk, progress=progress)


def import_job_run(*, job_id: int, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run (or resume) one job. Returns the job as it ends; raises JobBusy if another process has it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_CLASS, job_id])
        if not cursor.fetchone()[0]:
            raise JobBusy(f"import job {job_id} is being run by another process")
    try:
        # A job that ran before (it died, or failed) may have committed identities with no batch after them.
        ran_before = ImportJob.objects.filter(pk=job_id).exclude(status=ImportStatus.QUEUED).exists()
        claimed = ImportJob.objects.filter(pk=job_id, status__in=RESUMABLE).update(
            status=ImportStatus.RUNNING, started_at=timezone.now(), error=""
        )
        job = ImportJob.objects.select_related("source").get(pk=job_id)
        if not claimed:
            return job  # done or skipped already: a redelivered task acts once
        try:
            with _collector_paused():
                _run(job, progress, resumed=ran_before)
        except FileProblem as exc:
            _finish(job, ImportStatus.FAILED, error=str(exc))
        except Exception as exc:
            job.refresh_from_db(fields=["lines_done"])
            _finish(job, ImportStatus.FAILED, error=f"{INTERRUPTED} after line {job.lines_done}: {exc}"[:2000])
            raise
        job.refresh_from_db()
        if job.origin == "inbox" and job.status in (ImportStatus.DONE, ImportStatus.SKIPPED, ImportStatus.FAILED):
            _inbox_file_away(job)
        return job
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_CLASS, job_id])


def _finish(job: ImportJob, status: str, *, error: str = "", **counts) -> None:
    job.status, job.error, job.finished_at, job.stage = status, error, timezone.now(), ""
    for name, value in counts.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "error", "finished_at", "stage", *counts])


def _run(job: ImportJob, progress: Callable[[ImportJob], None] | None, *, resumed: bool) -> None:
    facts = inspect(job.path, job.format)
    ImportJob.objects.filter(pk=job.pk).update(checksum=facts.checksum, size_bytes=facts.size)
    job.checksum, job.size_bytes = facts.checksum, facts.size
    done = (
        ImportJob.objects.filter(source=job.source, checksum=facts.checksum, status=ImportStatus.DONE)
        .exclude(pk=job.pk)
        .first()
    )
    if done is not None:
        # The same file again: nothing is read; every row of it is already in, so all count as duplicates.
        _finish(job, ImportStatus.SKIPPED, rows=done.rows, duplicates=done.rows, bytes_done=facts.size)
        return

    session = ImportSession()
    touched: set[int] = set()
    with ChannelFile(job.path, facts) as channel_file:
        # The file is read a window of batches at a time (its checked rows stay in memory) and identity is
        # resolved over the whole window, so people are not created batch by batch and merged again later;
        # the window bounds the memory a file of any size takes.
        analyzed_at = 0
        parsed = _reading_reported(_parsed_batches(channel_file, job, size=batch_size()), job, progress)
        for window in _windows(parsed, plan_batches()):
            _stage(job, ImportStage.MATCHING, progress)
            if connection.in_atomic_block:
                # Inside the caller's transaction (tests): another connection would not see its rows.
                shares = _identities_write(job, window, session, touched)
                _stage(job, ImportStage.WRITING, progress)
                ahead = 0
            else:
                shares, ahead = _identities_write_alongside(job, window, session, touched, channel_file, progress)
            for batch, share in zip(window[ahead:], shares[ahead:], strict=True):
                _commit_batch(job, batch, session, touched, share, channel_file)
                written = job.imported + job.updated
                # Batches that follow the plan only update customers by id and COPY touchpoints: statistics
                # matter again only once a batch resolves its own rows (and for the refresh, analyzed below).
                if session.planned_epoch is None and written >= max(ANALYZE_FIRST, 2 * analyzed_at):
                    _analyze()
                    analyzed_at = written
                if progress and not batch.last:
                    progress(job)
            _rows_released(window)
    _stage(job, ImportStage.PROFILES, progress)
    _refresh_derived(job, touched, resumed=resumed)
    try:
        with transaction.atomic():
            _finish(job, ImportStatus.DONE)
    except IntegrityError:
        # Another job finished the very same file meanwhile (the checksum is unique among done jobs).
        _finish(job, ImportStatus.SKIPPED, error="the same file was imported by another job meanwhile")
    if progress:
        progress(job)


def _stage(job: ImportJob, stage: str, progress: Callable[[ImportJob], None] | None, **fields) -> None:
    """Say what the job is doing now (the import page polls it; outside the batches' transactions)."""
    ImportJob.objects.filter(pk=job.pk).update(stage=stage, **fields)
    job.stage = stage
    for name, value in fields.items():
        setattr(job, name, value)
    if progress:
        progress(job)


def _reading_reported(batches: Iterator[ParsedBatch], job: ImportJob, progress) -> Iterator[ParsedBatch]:
    """The batches as they are read, each reported: a window of a big file is read before anything is
    written (a 1M-row file: ~20 s), and the bar follows the reading meanwhile."""
    for batch in batches:
        _stage(job, ImportStage.READING, progress, bytes_read=batch.position)
        yield batch


def _identities_write(job: ImportJob, batches: list[ParsedBatch], session: ImportSession, touched: set[int]):
    """Write the identities of every row read (one transaction); returns each batch's share of the plan."""
    plan = _plan_commit(job, [row for batch in batches for row in batch.rows], session)
    _plan_touched(plan, touched)
    return plan_split(plan, [len(batch.rows) for batch in batches])


def _plan_commit(job: ImportJob, rows: list, session: ImportSession, ready=None):
    """``identity_write`` of these rows in a transaction of its own, after statistics if the window before
    grew the tables: this window's lookups read them. After the last window, the refresh analyzes them."""
    if session.tables_grown and rows:
        _analyze()
        session.tables_grown = False
    with transaction.atomic():
        plan = identity_write(source=job.source, rows=rows, source_ref=job.filename, session=session, ready=ready)
    if len(plan.new_customers) >= ANALYZE_FIRST:
        session.tables_grown = True
    return plan


def _plan_touched(plan, touched: set[int]) -> None:
    touched |= plan.new_customers
    touched.update(plan.customer_of[i] for i in plan.changed_rows if plan.customer_of[i] is not None)
    for merge in plan.merges:
        touched.update((merge.survivor_id, merge.absorbed_id))


class _IdentityWriter(threading.Thread):
    """``identity_write`` of a window in a thread, on its own connection and in its own transaction.

    It tells the plan (every row's customer id) as soon as the ids are final, before its writes: creating a
    window's new customers and identifiers keeps one PostgreSQL process busy for a while (1M rows: ~16 s),
    and the batches' touchpoints can be written meanwhile on the job's connection, by another one.
    """

    def __init__(self, job: ImportJob, rows: list, session: ImportSession):
        super().__init__(name=f"import-{job.pk}-identities", daemon=True)
        self.job, self.rows, self.session = job, rows, session
        self.early = None  # the plan before its writes, when batches may be written meanwhile
        self.plan = None
        self.error: Exception | None = None
        self._told = threading.Event()

    def run(self) -> None:
        try:
            self.plan = _plan_commit(self.job, self.rows, self.session, ready=self._ready)
        except Exception as exc:  # handed to the job's thread, which raises it
            self.error = exc
        finally:
            self._told.set()
            connections.close_all()  # this thread's connections only

    def _ready(self, plan, merges: bool) -> None:
        # With merges, customers known before are locked and changed: the batches' consent and name updates
        # of known customers could wait for this transaction while the job waits for them. They go after.
        if not merges:
            self.early = plan
        self._told.set()

    def early_plan(self):
        self._told.wait()
        return self.early

    def result(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.plan


def _identities_write_alongside(
    job: ImportJob,
    batches: list[ParsedBatch],
    session: ImportSession,
    touched: set[int],
    channel_file: ChannelFile,
    progress: Callable[[ImportJob], None] | None,
) -> tuple[list, int]:
    """``_identities_write`` with the first batches written while the identities are: returns each batch's
    share of the plan and how many batches are already in.

    The batches written meanwhile commit in one transaction, and only after the identities' transaction
    has: a crash never leaves touchpoints of customers who are not there (it may leave identities whose
    rows are not in yet, which a resumed job finds in place).
    """
    writer = _IdentityWriter(job, [row for batch in batches for row in batch.rows], session)
    writer.start()
    sizes = [len(batch.rows) for batch in batches]
    ahead = 0
    try:
        early = writer.early_plan()
        if early is not None:
            shares = plan_split(early, sizes)
            _stage(job, ImportStage.WRITING, progress)
            with transaction.atomic():
                while ahead < len(batches) and (ahead == 0 or writer.is_alive()):
                    _batch_write(job, batches[ahead], session, touched, shares[ahead], channel_file, plan_held=True)
                    ahead += 1
                    if progress and not batches[ahead - 1].last:
                        progress(job)
                writer.result()  # its error rolls these batches back
    finally:
        writer.join()  # even when a batch failed: its rollback came first, so the identities can commit
    plan = writer.result()
    _plan_touched(plan, touched)
    if early is None:
        shares = plan_split(plan, sizes)
        _stage(job, ImportStage.WRITING, progress)
    return shares, ahead


def _refresh_derived(job: ImportJob, touched: set[int], *, resumed: bool) -> None:
    """Summaries and interests of everyone the file touched, once at the end rather than after every batch
    (a customer with touchpoints spread over the file would otherwise be recomputed once per batch)."""
    if resumed:
        # The batches committed before the interruption touched people this process never saw, and the
        # identities written before it may have no touchpoint yet (profile-only rows).
        since = job.created_at
        touched |= set(
            Touchpoint.objects.filter(source_id=job.source_id, created_at__gte=since)
            .values_list("customer_id", flat=True)
            .distinct()
        )
        touched |= set(
            Identifier.objects.filter(source_id=job.source_id, created_at__gte=since)
            .values_list("customer_id", flat=True)
            .distinct()
        )
        for survivor, absorbed in Merge.objects.filter(source_id=job.source_id, created_at__gte=since).values_list(
            "survivor_id", "absorbed_id"
        ):
            touched.update((survivor, absorbed))
    if len(touched) > REFRESH_ANALYZE:
        _analyze()
    # One set-based pass per derived.BATCH_SIZE (50,000) customers rather than 5,000-customer chunks: each
    # pass runs the same dozen statements, fewer passes means fewer temporary tables and ANALYZEs.
    derived.customers_refresh(touched, workers=REFRESH_WORKERS)


def _rows_released(window: list[ParsedBatch]) -> None:
    """Let go of a written window's rows in a thread of their own.

    Freeing a million checked rows keeps the interpreter busy ~0.5 s. In the job's thread that would come
    before the next window or the refresh could start; in a thread of its own it overlaps the refresh (which
    waits on PostgreSQL) or the reading of the next window (which has that much to do either way).
    """
    lists = [batch.rows for batch in window]  # then the only reference to the batches' lists of rows
    for batch in window:
        batch.rows = []
    threading.Thread(target=_free, args=(lists,), name="import-rows-release", daemon=True).start()


def _free(lists: list[list]) -> None:
    # A thousand rows at a time: freeing is one call that holds the interpreter until it returns (a whole
    # window's: ~0.5 s), and the job's thread must get it back meanwhile.
    while lists:
        rows = lists.pop()
        while rows:
            del rows[-1000:]


def _analyze() -> None:
    """ANALYZE the tables an import grows: each on a connection of its own (an ANALYZE keeps one core busy;
    after 1M rows, 0.55-0.7 s one after the other), unless inside the caller's transaction (tests)."""
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(ANALYZED_TABLES)}")
        return
    with ThreadPoolExecutor(max_workers=len(ANALYZED_TABLES), thread_name_prefix="analyze") as pool:
        for _ in pool.map(_analyze_on_own_connection, ANALYZED_TABLES):
            pass  # re-raises a table's error here


def _analyze_on_own_connection(table: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    finally:
        connections.close_all()  # this thread's connections only


@contextlib.contextmanager
def _collector_paused():
    """No cyclic garbage collection while a job runs: the rows are acyclic (reference counting frees them)
    and each full collection walked the job's growing memos (16 full collections, ~2 s, of a 30.6 s import
    of 200k rows). It resumes once the job's own objects are gone: the first collection walks every object
    made since the pause that is still alive, and at the end of the file's writes that was ~0.4 s (1M rows;
    1.2 s per generation while the rows are kept), just before the refresh."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class ParsedBatch:
    rows: list = field(default_factory=list)  # checked ChannelRows
    rejects: list = field(default_factory=list)  # (line, reason, raw text)
    last_line: int = 0  # the resume point once this batch is committed
    position: int = 0  # bytes read
    last: bool = False  # the end of the file


def _parsed_batches(channel_file: ChannelFile, job: ImportJob, *, size: int) -> Iterator[ParsedBatch]:
    """Batches of checked rows (and rejected records) after the job's resume point; the last one says so.

    The cells of a checked row are not kept (a window holds a million rows): the rare row the writer
    rejects later has its raw text read again from the file (``ChannelFile.raw_texts``).
    """
    source = job.source
    reader = RowReader(source_name=source.name, default_channel=source.kind)
    prefetch = None
    if channel_file.facts.format == "csv":
        parse = reader.csv_parser(channel_file.header)
        records = channel_file.csv_records(after_line=job.lines_done)
        facts = channel_file.facts
        prefetch = phone_prefetch.start(
            channel_file.path,
            encoding=facts.encoding,
            size=facts.size,
            delimiter=channel_file.delimiter,
            header=channel_file.header,
        )
    else:
        parse = reader.segment
        records = (
            (record.line, record.end_line, record.payload, record.problem)
            for record in channel_file.records(after_line=job.lines_done)
        )
    batch = ParsedBatch(last_line=job.lines_done)
    rows, rejects = batch.rows, batch.rejects
    seen = job.rows
    count = 0
    end_line = job.lines_done
    try:
        for line, end_line, payload, problem in records:
            if prefetch and not count & 4095:
                reader.phones_known(prefetch)  # the numbers the helper checked meanwhile, every 4096 rows
            if problem:
                rejects.append((line, problem, payload_text(payload)))
            else:
                try:
                    rows.append(parse(payload, line))
                except RowRejected as exc:
                    rejects.append((line, str(exc), payload_text(payload)))
            count += 1
            if count >= size:
                seen += count
                batch.last_line, batch.position = end_line, channel_file.position()
                yield batch
                batch = ParsedBatch(last_line=end_line)
                rows, rejects = batch.rows, batch.rejects
                count = 0
    finally:
        if prefetch:
            prefetch.close()
    seen += count
    if seen == 0:
        raise FileProblem("the file has no data rows")
    batch.last_line, batch.position, batch.last = end_line, channel_file.facts.size, True
    yield batch


def _commit_batch(job: ImportJob, batch: ParsedBatch, *context) -> None:
    """``_batch_write`` in a transaction of its own."""
    with transaction.atomic():
        _batch_write(job, batch, *context)


def _batch_write(
    job: ImportJob,
    batch: ParsedBatch,
    session: ImportSession,
    touched: set[int],
    planned,
    channel_file: ChannelFile,
    *,
    plan_held: bool = False,
) -> None:
    """One batch's rows, rejected rows and the job's counters and resume point (inside a transaction); the
    job object is then read again, with them."""
    rows, rejects = batch.rows, batch.rejects
    last_line, position = batch.last_line, batch.position
    result = batch_write(
        source=job.source,
        rows=rows,
        source_ref=job.filename,
        session=session,
        planned=planned,
        plan_held=plan_held,
    )
    if result.rejected:
        # An erased customer's row is kept without its content; any other has its raw text read again.
        wanted = {rows[index].line for index, reason in result.rejected if reason != ERASED_CUSTOMER}
        raws = channel_file.raw_texts(wanted)
        for index, reason in result.rejected:
            line = rows[index].line
            raw = ERASED_RAW if reason == ERASED_CUSTOMER else raws.get(line, "")
            rejects.append((line, reason, raw))
    if rejects:
        RejectedRow.objects.bulk_create(
            [RejectedRow(job=job, line=line, reason=reason[:300], raw=raw) for line, reason, raw in rejects],
            ignore_conflicts=True,
        )
    counted = len(rows) + len(rejects) - len(result.rejected)
    ImportJob.objects.filter(pk=job.pk).update(
        rows=F("rows") + counted,
        imported=F("imported") + result.imported,
        updated=F("updated") + result.updated,
        duplicates=F("duplicates") + result.duplicates,
        rejected=F("rejected") + len(rejects),
        lines_done=last_line,
        bytes_done=max(position, 0),
    )
    if rows:
        Source.objects.filter(pk=job.source_id).update(last_event_at=timezone.now())
    touched |= result.customers
    job.refresh_from_db(fields=JOB_COUNTERS)


# --- inbox folder ------------------------------------------------------------------------------------


def job_is_live(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_CLASS, job_id])
        if cursor.fetchone()[0]:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_CLASS, job_id])
            return False
        return True


def inbox_scan() -> list[ImportJob]:
    """Queue a job for each new file in ``IMPORT_INBOX_DIR/<source name>/``; returns the jobs to run.

    A file with an unfinished job is handed back to the worker only if nobody is running it (its process
    died) or, after an interruption, once ``INBOX_RETRY_AFTER`` has passed. Finished files move to
    ``done/`` or ``failed/`` beside them.
    """
    root = Path(settings.IMPORT_INBOX_DIR)
    if not root.is_dir():
        return []
    sources = {s.name: s for s in Source.objects.filter(is_active=True)}
    to_run: list[ImportJob] = []
    now = time.time()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in sources):
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in INBOX_SUFFIXES or path.name.startswith("."):
                continue
            if now - path.stat().st_mtime < INBOX_SETTLE_SECONDS:
                continue
            resolved = str(path.resolve())
            job = ImportJob.objects.filter(path=resolved, origin="inbox", status__in=RESUMABLE).order_by("-pk").first()
            if job is None:
                to_run.append(import_job_create(source=sources[folder.name], path=path, origin="inbox"))
            elif job.status == ImportStatus.QUEUED or job_is_live(job.pk):
                continue
            elif job.status == ImportStatus.RUNNING or (
                job.finished_at and timezone.now() - job.finished_at > INBOX_RETRY_AFTER
            ):
                to_run.append(job)
    return to_run


def _inbox_file_away(job: ImportJob) -> None:
    path = Path(job.path)
    if not path.is_file() or path.parent.name in {"done", "failed"}:
        return
    if job.status == ImportStatus.FAILED and job.error.startswith(INTERRUPTED):
        return  # stays in the inbox: the next scans resume it
    target_dir = path.parent / ("failed" if job.status == ImportStatus.FAILED else "done")
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}-{job.public_id.hex[:8]}{path.suffix}"
    shutil.move(path, target)
    ImportJob.objects.filter(pk=job.pk).update(path=str(target)[:1000])
