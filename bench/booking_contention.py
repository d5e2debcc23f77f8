"""Booking contention benchmark: many visitors booking overlapping slots at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbot .venv/bin/python bench/booking_contention.py

Works in a scratch database beside DATABASE_URL's (created, migrated and dropped, see
bench/availability.py). --threads workers, each with its own PostgreSQL connection, make
--attempts bookings between them, each from a new conversation, for random 60-minute slots
on a 30-minute grid of --reps reps (so most attempts collide). Prints attempts and
successful bookings per second, latency, the outcome of every attempt, and the double
bookings found afterwards by a self-join over live meetings (must be 0). With
--without-exclusion-constraint the database constraint is dropped first, to show that the
row lock and the re-check alone keep the calendar clean. Calendar/email tasks are not run.
"""

import argparse
import random
import statistics
import threading
import time as clock
from collections import Counter
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from availability import scratch_database  # bench/availability.py

UTC = dt_timezone.utc

DOUBLE_BOOKINGS = """
SELECT count(*) FROM scheduling_meeting a JOIN scheduling_meeting b
  ON a.rep_id = b.rep_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""
TWO_PER_CONVERSATION = """
SELECT count(*) FROM (SELECT conversation_id FROM scheduling_meeting WHERE status = 'booked'
  GROUP BY conversation_id HAVING count(*) > 1) AS doubled
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--days", type=int, default=2, help="how many days of slots the attempts spread over")
    parser.add_argument("--without-exclusion-constraint", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(keep=args.keep) as name:
        from django.db import connection

        from chatbot.models import Conversation, Site, Visitor
        from scheduling import tasks
        from scheduling.errors import SchedulingError
        from scheduling.models import SalesRep, WorkingHours
        from scheduling.services import meeting_book

        tasks.meeting_changed.delay = lambda *a, **k: None  # measure booking, not calendars or email
        if args.without_exclusion_constraint:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE scheduling_meeting DROP CONSTRAINT meeting_no_overlap_per_rep")

        reps = SalesRep.objects.bulk_create(
            SalesRep(
                name=f"Rep {i}",
                email=f"rep{i}@vendor.example",
                timezone="UTC",
                meeting_minutes=60,
                buffer_after_minutes=0,
                min_notice_minutes=0,
                max_meetings_per_day=0,
                feed_token=f"contention-{i}",
            )
            for i in range(args.reps)
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(rep=rep, weekday=day, start=time(0), end=time(23, 59)) for rep in reps for day in range(7)
        )
        site = Site.objects.create(name="Contention")
        conversations = Conversation.objects.bulk_create(
            Conversation(site=site, visitor=Visitor.objects.create(site=site, token=f"c{i}"))
            for i in range(args.attempts)
        )
        first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        grid = [first + timedelta(minutes=30 * i) for i in range(args.days * 48)]
        grid = [start for start in grid if start.time() <= time(22, 30)]  # 60 min inside 00:00-23:59
        rng = random.Random(7)
        plan = [(rng.choice(reps).pk, rng.choice(grid), conversations[i]) for i in range(args.attempts)]
        connection.close()

        outcomes: Counter = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        cursor_at = iter(range(len(plan)))
        barrier = threading.Barrier(args.threads)

        def worker() -> None:
            barrier.wait()
            try:
                while True:
                    with lock:
                        i = next(cursor_at, None)
                    if i is None:
                        return
                    rep_id, start, conversation = plan[i]
                    began = clock.perf_counter()
                    try:
                        meeting_book(
                            rep_id=rep_id,
                            start=start,
                            conversation=conversation,
                            lead=None,
                            visitor_email=f"v{conversation.pk}@company{conversation.pk}.example",
                        )
                        result = "booked"
                    except SchedulingError as exc:
                        result = exc.code
                    except Exception as exc:  # counted, so a crash shows in the figures
                        result = type(exc).__name__
                    with lock:
                        outcomes[result] += 1
                        latencies.append(clock.perf_counter() - began)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        started = clock.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = clock.perf_counter() - started

        with connection.cursor() as cursor:
            cursor.execute(DOUBLE_BOOKINGS)
            doubles = cursor.fetchone()[0]
            cursor.execute(TWO_PER_CONVERSATION)
            two_per_conversation = cursor.fetchone()[0]
        ordered = sorted(latencies)
        constraint = "dropped" if args.without_exclusion_constraint else "in place"
        print(
            f"database {name}: {args.threads} threads, {args.attempts} attempts on {args.reps} reps x "
            f"{len(grid)} overlapping 60-min slots; exclusion constraint {constraint}"
        )
        print(
            f"{args.attempts / elapsed:.0f} attempts/s, {outcomes['booked'] / elapsed:.0f} bookings/s "
            f"({elapsed:.2f} s); latency p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.1f} ms"
        )
        print("outcomes:", dict(outcomes))
        print(f"double bookings found: {doubles}; conversations with two live meetings: {two_per_conversation}")
        if doubles or two_per_conversation:
            raise SystemExit("DOUBLE BOOKING")


if __name__ == "__main__":
    main()
