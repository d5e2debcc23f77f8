from django.core.management.base import BaseCommand

from privacy.services import retention_apply


class Command(BaseCommand):
    help = (
        "Anonymise the conversations past each site's retention period and prune Rasa's tracker store "
        "(the worker runs this daily; run it from cron where there is no worker)."
    )

    def handle(self, *args, **options):
        run = retention_apply()
        self.stdout.write(
            f"Anonymised {run.conversations} conversation(s), {run.meetings} meeting(s), {run.visitors} visitor(s); "
            f"deleted {run.tracker_events} tracker event(s)"
            + (f"; the tracker store was unreachable {run.tracker_failures} time(s)" if run.tracker_failures else "")
            + "."
        )
