from django.core.management.base import BaseCommand, CommandError

from clienteling.models import Store
from clienteling.services import api_key_create


class Command(BaseCommand):
    help = "Create an Arrivals API key and print it once (contract 12). Only its hash is stored."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--store", help="Store code the key may report arrivals for.")
        scope.add_argument("--all-stores", action="store_true", help="An integration key valid for every active store.")
        parser.add_argument("--name", help="What uses the key, e.g. 'wifi-portal' (default: the store code).")

    def handle(self, *args, store, all_stores, name, **options):
        store_obj = None
        if store:
            store_obj = Store.objects.filter(code__iexact=store).first()
            if store_obj is None:
                known = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No store with code {store!r} (known: {known}).")
        key, secret = api_key_create(name=name or (store_obj.code if store_obj else "integration"), store=store_obj)
        scope = store_obj.code if store_obj else "all stores"
        self.stderr.write(f"Created arrivals key {key.prefix} for {scope}. It is shown once; store it now:")
        self.stdout.write(secret)
