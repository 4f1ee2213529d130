from django.contrib import admin, messages

from clienteling.models import ApiKey, Appointment, Arrival, Associate, Region, Store, StoreDevice
from clienteling.services import api_key_create


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "timezone", "country", "is_active"]
    list_filter = ["region", "is_active", "country"]
    search_fields = ["code", "name", "city"]


@admin.register(Associate)
class AssociateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "role", "store_codes"]
    list_filter = ["role", "stores"]
    search_fields = ["display_name", "user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["stores"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("stores")

    @admin.display(description="Stores")
    def store_codes(self, obj: Associate) -> str:
        return ", ".join(s.code for s in obj.stores.all())


@admin.register(StoreDevice)
class StoreDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "enrolled_at", "last_seen_at", "revoked_at"]
    list_filter = ["store"]
    readonly_fields = ["public_id", "enrolled_by", "enrolled_at", "last_seen_at"]


# --- Store recognition -------------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Arrivals API keys. The secret is shown once, in the confirmation message, and never stored."""

    list_display = ["name", "prefix", "store", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store"]
    fields = ["name", "store", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, secret = api_key_create(name=obj.name, store=obj.store)
        obj.pk, obj.prefix = key.pk, key.prefix
        messages.warning(request, f"Copy this arrivals key now; it will not be shown again: {secret}")


@admin.register(Arrival)
class ArrivalAdmin(admin.ModelAdmin):
    list_display = ["public_id", "store", "state", "source", "created_at", "claimed_by"]
    list_filter = ["store", "state", "source"]
    raw_id_fields = ["customer", "appointment"]
    readonly_fields = [f.name for f in Arrival._meta.fields]

    def has_add_permission(self, request):
        return False  # arrivals come from the API, the kiosk, appointments and the tablets


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "store", "status", "purpose", "origin"]
    list_filter = ["store", "status", "origin"]
    raw_id_fields = ["customer"]
