"""python manage.py customer_privacy export|erase (--id PUBLIC_ID | --email EMAIL | --phone PHONE) [--yes]

For the person who handles data requests: ``export`` prints everything held on her as JSON (audited),
``erase`` forgets her in every app (``profiles.privacy``); it asks for ``--yes`` because it cannot be undone.
"""

from __future__ import annotations

import json
import uuid

from django.core.management.base import BaseCommand, CommandError

from profiles import privacy
from profiles.models import Customer, PiiAccess
from profiles.normalize import normalize
from profiles.services import customer_find, customer_survivor


class Command(BaseCommand):
    help = "Export (as JSON) or erase everything held on one customer."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "erase"])
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--id", help="Her public id (the one in her profile's address).")
        who.add_argument("--email")
        who.add_argument("--phone", help="International format, or national with --country.")
        parser.add_argument("--country", default="", help="Default region for a national phone number, e.g. FR.")
        parser.add_argument("--yes", action="store_true", help="Erase without asking (erasing cannot be undone).")

    def _customer(self, options) -> Customer:
        if options["id"]:
            try:
                found = Customer.objects.filter(public_id=uuid.UUID(options["id"])).first()
            except ValueError:
                raise CommandError(f"not a customer id: {options['id']!r}") from None
            customer = customer_survivor(found) if found is not None else None
            if found is not None and customer is None:
                raise CommandError("this customer was already erased")
        else:
            kind = "email" if options["email"] else "phone"
            value = options[kind]
            if kind == "phone" and options["country"]:
                try:
                    value = normalize("phone", value, region=options["country"]) or ""
                except ValueError as error:
                    raise CommandError(str(error)) from None
            customer = customer_find(kind=kind, value=value)
        if customer is None:
            raise CommandError("no customer found for that identifier")
        return customer

    def handle(self, *args, action, **options):
        customer = self._customer(options)
        if action == "export":
            PiiAccess.objects.create(customer=customer, action="export_cli")
            self.stdout.write(json.dumps(privacy.customer_export(customer), ensure_ascii=False, indent=2))
            return
        if not options["yes"]:
            raise CommandError("erasing cannot be undone: add --yes to confirm (export her data first if she asked)")
        erasure = privacy.customer_erase(customer)
        self.stdout.write(
            f"Erased customer {customer.public_id}: {len(erasure.customer_ids)} profile(s), "
            f"{erasure.identifiers} identifier(s) tombstoned, {erasure.touchpoints} touchpoint(s) deleted, "
            f"{erasure.rejected_rows_redacted} rejected import row(s) redacted."
        )
