"""Segment-compatible HTTP ingestion (contract 6): ``POST /ingest/v1/batch|identify|track|page|alias``.

Segment's and RudderStack's own SDKs work unchanged with ``host=<server>/ingest``: HTTP Basic auth with a
source's write key as the username. Messages go through the same batch pipeline as files, synchronously
(an SDK batch is at most 500 KB, a few hundred messages): when the SDK gets its 200, the profile is merged.
Duplicates are dropped on ``messageId``; messages that cannot be imported are kept as rejected rows on the
source's job of the day, like bad lines of a file.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Router
from ninja.security import HttpBasicAuth

from profiles import derived
from profiles.events import RowReader, RowRejected
from profiles.identity import ERASED_CUSTOMER, ERASED_RAW
from profiles.models import ImportJob, RejectedRow, Source
from profiles.pipeline import batch_write
from profiles.sources import http_job_for_today, source_for_write_key

MAX_MESSAGE = 32 * 1024
MAX_BATCH = 500 * 1024
MESSAGE_TYPES = {"identify", "track", "page", "screen", "alias"}


class WriteKeyAuth(HttpBasicAuth):
    def authenticate(self, request: HttpRequest, username: str, password: str) -> Source | None:
        return source_for_write_key(username)


router = Router(auth=WriteKeyAuth(), tags=["ingestion"])


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _body(request: HttpRequest, limit: int) -> object:
    raw = request.body
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(limit + 1)
        except (OSError, EOFError, zlib.error):
            raise Refused(400, "the body is not valid gzip") from None
    if len(raw) > limit:
        raise Refused(413, f"the body is larger than {limit // 1024} KB")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not valid JSON") from None


def _check_message(message: object) -> dict:
    if not isinstance(message, dict):
        raise Refused(400, "each message must be a JSON object")
    if message.get("type") not in MESSAGE_TYPES:
        raise Refused(400, f"unsupported message type {str(message.get('type'))[:30]!r}")
    if len(json.dumps(message, separators=(",", ":"), default=str)) > MAX_MESSAGE:
        raise Refused(413, "a message is larger than 32 KB")
    return message


def messages_ingest(*, source: Source, messages: list[dict]) -> dict:
    """Run Segment messages through the batch pipeline now; returns the counts of this call."""
    reader = RowReader(source_name=source.name, default_channel=source.kind)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=http_job_for_today(source).pk)
        first_line = job.rows + 1
        rows, raws, rejects = [], [], []
        for offset, message in enumerate(messages):
            line = first_line + offset
            try:
                rows.append(reader.segment(message, line))
                raws.append(message)
            except RowRejected as exc:
                rejects.append((line, str(exc), message))
        result = batch_write(source=source, rows=rows, source_ref=f"{job.filename} #{first_line}")
        for index, reason in result.rejected:
            rejects.append((rows[index].line, reason, ERASED_RAW if reason == ERASED_CUSTOMER else raws[index]))
        if rejects:
            RejectedRow.objects.bulk_create(
                [
                    RejectedRow(job=job, line=line, reason=reason[:300], raw=json.dumps(raw, default=str)[:10000])
                    for line, reason, raw in rejects
                ],
                ignore_conflicts=True,
            )
        ImportJob.objects.filter(pk=job.pk).update(
            rows=F("rows") + len(messages),
            imported=F("imported") + result.imported,
            updated=F("updated") + result.updated,
            duplicates=F("duplicates") + result.duplicates,
            rejected=F("rejected") + len(rejects),
            lines_done=F("lines_done") + len(messages),
            finished_at=timezone.now(),
        )
        if rows:
            Source.objects.filter(pk=source.pk).update(last_event_at=timezone.now())
        customers = sorted(result.customers)
        if customers:
            transaction.on_commit(lambda: derived.customers_refresh(customers))
    return {
        "imported": result.imported,
        "updated": result.updated,
        "duplicates": result.duplicates,
        "rejected": len(rejects),
    }


def _ingest(request: HttpRequest, messages: list[dict]) -> JsonResponse:
    counts = messages_ingest(source=request.auth, messages=messages)
    return JsonResponse({"success": True, **counts})


def _refused(exc: Refused) -> JsonResponse:
    return JsonResponse({"success": False, "error": str(exc)}, status=exc.status)


@router.post("/batch", summary="A batch of Segment messages (at most 500 KB, 32 KB each)")
def batch(request: HttpRequest):
    try:
        body = _body(request, MAX_BATCH)
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            raise Refused(400, 'the body must be {"batch": [messages]}')
        messages = [_check_message(m) for m in body["batch"]]
    except Refused as exc:
        return _refused(exc)
    return _ingest(request, messages)


def _single(kind: str):
    def endpoint(request: HttpRequest):
        try:
            message = _body(request, MAX_MESSAGE)
            if isinstance(message, dict):
                message.setdefault("type", kind)
                if message["type"] != kind:
                    raise Refused(400, f"a {message['type']!r} message sent to /{kind}")
            message = _check_message(message)
        except Refused as exc:
            return _refused(exc)
        return _ingest(request, [message])

    endpoint.__name__ = kind
    return endpoint


for _kind in ("identify", "track", "page", "screen", "alias"):
    router.post(f"/{_kind}", summary=f"One Segment {_kind} message (at most 32 KB)", operation_id=f"ingest_{_kind}")(
        _single(_kind)
    )
