"""python manage.py create_source NAME --kind KIND (contract 12): prints the new write key once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from profiles.models import Channel, Source
from profiles.sources import source_create, source_rotate_key


class Command(BaseCommand):
    help = "Create a data source and print its write key (shown once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Short name, letters, digits, - and _ (e.g. shopify-eu).")
        parser.add_argument("--kind", required=True, choices=Channel.values, help="The channel it sends.")
        parser.add_argument("--rotate", action="store_true", help="The source exists: replace its write key.")

    def handle(self, *args, name, kind, rotate, **options):
        if rotate:
            try:
                source = Source.objects.get(name=name)
            except Source.DoesNotExist:
                raise CommandError(f"no source named {name!r}") from None
            key = source_rotate_key(source=source)
        else:
            if Source.objects.filter(name=name).exists():
                raise CommandError(f"a source named {name!r} exists; use --rotate to give it a new write key")
            try:
                source, key = source_create(name=name, kind=kind)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"Source {source.name} ({source.get_kind_display()}). Write key (shown once, keep it safe):")
        self.stdout.write(key)
