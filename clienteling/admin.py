from django.contrib import admin

from clienteling.models import Associate, Region, Store, StoreDevice


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
