import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from analytics.demo_data import generate


class Command(BaseCommand):
    help = (
        "Append realistic demo data (conversations, messages, leads, reps, slot offers, meetings) over the "
        "last N days, deterministic for a given --seed and --end. Uses COPY on PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--conversations", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--end", help="Last day (YYYY-MM-DD, UTC); default today", default=None)
        parser.add_argument("--sites", type=int, default=3)
        parser.add_argument(
            "--reps",
            type=int,
            default=None,
            help="sales reps (default: 6, one more per 15,000 conversations past 90,000, so a rep's meetings fit "
            "the period: a million conversations with 6 reps would book them years ahead)",
        )

    def handle(self, *args, conversations, days, seed, end, sites, reps, **options):
        if conversations < 1 or days < 1:
            raise CommandError("--conversations and --days must be at least 1")
        if reps is None:
            reps = max(6, conversations // 15_000)
        end_date = dt.date.fromisoformat(end) if end else dt.datetime.now(dt.timezone.utc).date()
        began = time.monotonic()
        written = generate(
            conversations=conversations,
            days=days,
            seed=seed,
            end=end_date + dt.timedelta(days=1),
            sites=sites,
            reps=reps,
        )
        for label, count in written.items():
            self.stdout.write(f"{label:28} {count:>10,}")
        self.stdout.write(self.style.SUCCESS(f"done in {time.monotonic() - began:.1f} s"))
