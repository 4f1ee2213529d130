"""The import pages (managers and admins): upload a channel file, watch its job, read and download rejections.

Access: ``profiles`` may not import the store-floor app, so the role comes from ``profiles.access.staff_role``
(``user.associate.role`` through the reverse one-to-one), the same rule as ``clienteling.access.MANAGERS``.
"""

from __future__ import annotations

import csv
import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from profiles.access import staff_role
from profiles.imports import import_job_create
from profiles.models import ImportJob, ImportStatus, RejectedRow, Source
from profiles.sources import sources_health

IMPORT_ROLES = {"manager", "regional", "admin"}
FINISHED = {ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.SKIPPED}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def import_staff_required(view):
    """Managers, regional managers and admins (and superusers): the people who run channel imports."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if staff_role(request.user) not in IMPORT_ROLES:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _save_upload(upload) -> Path:
    folder = Path(settings.IMPORT_UPLOAD_DIR) / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (get_valid_filename(Path(upload.name).name) or "upload.csv")
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path


@never_cache
@require_http_methods(["GET", "POST"])
@import_staff_required
def imports(request: HttpRequest) -> HttpResponse:
    sources = Source.objects.filter(is_active=True)
    errors: dict[str, str] = {}
    if request.method == "POST":
        source = sources.filter(pk=request.POST.get("source") or 0).first()
        upload = request.FILES.get("file")
        fmt = request.POST.get("format", "auto")
        if source is None:
            errors["source"] = _("Choose where this file comes from.")
        if upload is None or not upload.size:
            errors["file"] = _("Choose a non-empty CSV or JSONL file.")
        if fmt not in {"auto", "csv", "jsonl"}:
            errors["format"] = _("Choose a format.")
        if not errors:
            from profiles.tasks import import_job_run_task

            path = _save_upload(upload)
            with transaction.atomic():
                job = import_job_create(
                    source=source, path=path, filename=upload.name, origin="upload", fmt=fmt, created_by=request.user
                )
                transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
            return redirect("profiles:import_detail", public_id=job.public_id)

    page = Paginator(ImportJob.objects.select_related("source").order_by("-created_at"), 20).get_page(
        request.GET.get("page")
    )
    context = {
        "sources": sources,
        "errors": errors,
        "page": page,
        "jobs": page.object_list,
        "health": sources_health(),
        "polling": any(job.status not in FINISHED for job in page.object_list),
    }
    if request.htmx and request.GET.get("fragment") == "jobs":
        response = render(request, "profiles/imports.html#jobs", context)
        return response if context["polling"] else _stop(response)
    return render(request, "profiles/imports.html", context, status=400 if errors else 200)


def _stop(response: HttpResponse) -> HttpResponse:
    stop = HttpResponseStopPolling(response.content)
    stop["Content-Type"] = response["Content-Type"]
    return stop


@never_cache
@import_staff_required
def import_detail(request: HttpRequest, public_id) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source", "created_by"), public_id=public_id)
    finished = job.status in FINISHED
    if request.htmx and request.GET.get("fragment") == "progress":
        response = render(request, "profiles/import_detail.html#progress", {"job": job, "finished": finished})
        # 286 tells htmx to stop polling; a full reload then shows the rejected rows of the finished job.
        return _stop(response) if finished else response
    rejected = Paginator(RejectedRow.objects.filter(job=job).order_by("line"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "profiles/import_detail.html",
        {"job": job, "finished": finished, "rejected": rejected},
    )


class _Echo:
    def write(self, value):
        return value


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


@import_staff_required
def import_rejected_csv(request: HttpRequest, public_id) -> StreamingHttpResponse:
    job = get_object_or_404(ImportJob, public_id=public_id)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # a BOM, so spreadsheet programs read the UTF-8 correctly
        yield writer.writerow(["line", "reason", "row"])
        for line, reason, raw in (
            RejectedRow.objects.filter(job=job)
            .order_by("line")
            .values_list("line", "reason", "raw")
            .iterator(chunk_size=2000)
        ):
            yield writer.writerow([line, csv_safe(reason), csv_safe(raw)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stem = Path(get_valid_filename(job.filename) or "import").stem
    response["Content-Disposition"] = f'attachment; filename="{stem}-rejected.csv"'
    return response
