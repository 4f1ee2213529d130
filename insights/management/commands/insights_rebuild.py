"""Recompute every dashboard rollup from the source tables (after a backfill or a definition change)."""

from django.core.management.base import BaseCommand

from insights import services


class Command(BaseCommand):
    help = "Rebuild the dashboard rollups from touchpoints and survey answers, then run the nightly segments."

    def add_arguments(self, parser):
        parser.add_argument("--skip-nightly", action="store_true", help="Do not take the lifecycle/persona snapshot.")

    def handle(self, *args, skip_nightly=False, **options):
        result = services.rollups_rebuild()
        self.stdout.write(f"rollups rebuilt: {result}")
        if not skip_nightly:
            services.lifecycle_snapshot_take()
            changed = services.personas_assign()
            self.stdout.write(f"personas assigned: changed={changed}")
