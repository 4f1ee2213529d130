"""Admin for data sources and import jobs: create sources, rotate write keys, watch feed health."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from profiles.models import ImportJob, Source
from profiles.sources import new_write_key, source_rotate_key, write_key_hash


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "write_key_prefix", "last_event_at", "rows_24h", "rejected_share"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["write_key_prefix", "last_event_at", "created_at"]
    fields = ["name", "kind", "is_active", "write_key_prefix", "last_event_at", "created_at"]
    actions = ["rotate_write_key"]

    def get_queryset(self, request):
        since = timezone.now() - timedelta(hours=24)
        recent = Q(imports__created_at__gte=since) | Q(imports__finished_at__gte=since)
        return (
            super()
            .get_queryset(request)
            .annotate(
                rows_24h=Sum("imports__rows", filter=recent & ~Q(imports__status="skipped"), default=0),
                rejected_24h=Sum("imports__rejected", filter=recent, default=0),
            )
        )

    @admin.display(description=_("Rows, 24 h"), ordering="rows_24h")
    def rows_24h(self, obj) -> int:
        return obj.rows_24h

    @admin.display(description=_("Rejected, 24 h"))
    def rejected_share(self, obj) -> str:
        return f"{obj.rejected_24h / obj.rows_24h:.1%}" if obj.rows_24h else "—"

    def save_model(self, request, obj, form, change):
        if not change:
            # Same as create_source: the key is shown once, only its hash is kept.
            key = new_write_key()
            obj.write_key_hash, obj.write_key_prefix = write_key_hash(key), key[:12]
            super().save_model(request, obj, form, change)
            messages.warning(
                request, _("Write key for %(name)s (shown once, copy it now): %(key)s") % {"name": obj.name, "key": key}
            )
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description=_("Rotate the write key (the old one stops working)"))
    def rotate_write_key(self, request, queryset):
        for source in queryset:
            key = source_rotate_key(source=source)
            messages.warning(
                request, _("New write key for %(name)s (shown once): %(key)s") % {"name": source.name, "key": key}
            )


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "source",
        "status",
        "origin",
        "rows",
        "imported",
        "updated",
        "duplicates",
        "rejected",
        "created_at",
    ]
    list_filter = ["status", "origin", "source"]
    search_fields = ["filename"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False
