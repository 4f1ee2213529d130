from django.contrib import admin

from feedback.models import FollowUp, FollowUpEntry, Invitation, Response, Suppression, Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "delay_minutes", "moments", "channels", "updated_at"]
    list_filter = ["kind", "is_active"]
    fields = [
        "name",
        "kind",
        "is_active",
        "moments",
        "channels",
        "delay_minutes",
        "question",
        "comment_prompt",
        "translations",
    ]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "survey",
        "channel",
        "store_code",
        "moment",
        "status",
        "reason",
        "send_after",
        "sent_at",
    ]
    list_filter = ["status", "channel", "survey"]
    search_fields = ["public_id", "store_code"]
    readonly_fields = [f.name for f in Invitation._meta.fields]
    list_select_related = ["survey"]

    def has_add_permission(self, request):
        return False


class FollowUpEntryInline(admin.TabularInline):
    model = FollowUpEntry
    extra = 0
    readonly_fields = ["kind", "text", "author", "at"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = [
        "answered_at",
        "kind",
        "score",
        "store_code",
        "moment",
        "associate_code",
        "sentiment",
        "bot_suspected",
    ]
    list_filter = ["kind", "sentiment", "bot_suspected", "store_code"]
    readonly_fields = [f.name for f in Response._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["public_id", "store_code", "status", "due_at", "assigned_to"]
    list_filter = ["status", "store_code"]
    raw_id_fields = ["response", "customer", "assigned_to", "resolved_by"]
    inlines = [FollowUpEntryInline]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["customer", "reason", "via", "created_at"]
    raw_id_fields = ["customer", "invitation"]
