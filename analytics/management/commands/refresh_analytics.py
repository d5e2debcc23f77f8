import time

from django.core.management.base import BaseCommand

from analytics import rollups


class Command(BaseCommand):
    help = (
        "Bring the dashboard's daily rollups up to date (the worker does this every minute). "
        "--full rebuilds every day from the chats, e.g. after importing conversations with old timestamps."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="recompute every day, not only what changed")

    def handle(self, *args, full, **options):
        began = time.monotonic()
        recomputed = rollups.refresh(full=full)
        what = "every day" if recomputed is None else f"{recomputed} site-day(s)"
        self.stdout.write(f"Rollups up to date: recomputed {what} in {time.monotonic() - began:.2f} s.")
