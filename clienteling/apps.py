from django.apps import AppConfig


class ClientelingConfig(AppConfig):
    name = "clienteling"
    verbose_name = "Store floor"

    def ready(self) -> None:
        from clienteling.models import Store
        from profiles import stores

        def lookup(code: str) -> stores.StoreInfo | None:
            store = Store.objects.filter(code__iexact=code).only("code", "name", "timezone", "country").first()
            if store is None:
                return None
            return stores.StoreInfo(code=store.code, name=store.name, timezone=store.timezone, country=store.country)

        stores.register(lookup)

        from clienteling import signals  # noqa: F401  (cards follow consent: see signals.py)
