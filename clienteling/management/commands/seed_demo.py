from django.core.management.base import BaseCommand, CommandError

from clienteling import demo


class Command(BaseCommand):
    help = "Generate a deterministic, realistic demo data set: stores, staff, customers and touchpoints (contract 11)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--touchpoints", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when stores already exist.")
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")

    def handle(self, *args, customers, touchpoints, seed, if_empty, logins, **options):
        if logins:
            self.stdout.write(demo.logins_text())
            return
        if customers < 0 or touchpoints < 0:
            raise CommandError("--customers and --touchpoints must be zero or more.")
        if if_empty and demo.already_seeded():
            self.stdout.write("Demo data already present; skipping (first start only).")
            return
        stats = demo.seed(customers=customers, touchpoints=touchpoints, seed=seed, out=self.stdout)
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {stats['stores']} stores, {stats['staff']} staff, {stats['customers']} customers, "
            f"{stats['touchpoints']} touchpoints, {stats.get('responses', 0)} survey answers."
        ))  # fmt: skip
