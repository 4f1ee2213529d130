from django.core.management.base import BaseCommand

from feedback import services


class Command(BaseCommand):
    help = "Create invitations for new qualifying touchpoints and send every invitation that is due now."

    def add_arguments(self, parser):
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many claimed batches.")

    def handle(self, *args, max_batches=None, **options):
        scheduled = services.invitations_schedule()
        result = services.invitations_send_due(max_batches=max_batches)
        self.stdout.write(
            f"sent={result.sent} created={scheduled.created} expired={result.expired} "
            f"suppressed={result.suppressed} deferred={result.deferred} retrying={result.retrying} "
            f"failed={result.failed}"
        )
        for error in result.errors[:5]:
            self.stderr.write(f"  {error}")
