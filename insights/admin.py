from django.contrib import admin

from insights.models import Watermark


@admin.register(Watermark)
class WatermarkAdmin(admin.ModelAdmin):
    """How fresh the dashboards are: how far each rollup has read its source, and when."""

    list_display = ["name", "last_id", "pending_id", "last_at", "updated_at"]
    readonly_fields = list_display + ["pending_xmax"]

    def has_add_permission(self, request):
        return False
