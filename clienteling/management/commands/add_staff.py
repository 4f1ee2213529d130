from django.core.management.base import BaseCommand, CommandError

from clienteling.models import Role, Store
from clienteling.services import staff_upsert


class Command(BaseCommand):
    help = "Create or update a staff member and give them a store (contract 12)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--store", help="Store code; required except for admins.")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Sign-in password (omit to keep the current one).")
        parser.add_argument("--pin", help="Tablet PIN, 4 to 8 digits.")
        parser.add_argument("--name", dest="display_name", help="Name shown on tablets.")
        parser.add_argument("--email")

    def handle(self, *args, username, store, role, password, pin, display_name, email, **options):
        store_obj = None
        if store:
            store_obj = Store.objects.filter(code__iexact=store).first()
            if store_obj is None:
                known = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No store with code {store!r} (known: {known}).")
        elif role != Role.ADMIN:
            raise CommandError("--store is required for associates and managers.")
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise CommandError("--pin must be 4 to 8 digits.")
        try:
            associate, created = staff_upsert(
                username=username, store=store_obj, role=role, password=password, pin=pin,
                display_name=display_name, email=email,
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Updated"
        stores = ", ".join(associate.stores.values_list("code", flat=True)) or "all stores"
        self.stdout.write(f"{verb} {username} as {associate.get_role_display()} ({stores}).")
