"""Availability benchmark: free slots of 50 reps over 14 days with 2,000 busy blocks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbot .venv/bin/python bench/availability.py

It creates a scratch database next to the one DATABASE_URL names (``<name>_bench_<pid>``),
migrates it, fills it, times ``pool_free_slots`` for the whole pool and ``slots_for_lead``
(routing + fairness + availability), prints the timings (best and median of --runs) and
the query counts, and drops the scratch database. Target: under 100 ms for the pool.

Then, with the reps' calendars on Google and Microsoft 365 (half of the reps on each, played by the
tests' fake servers with a --latency-ms round trip, 50 ms by default), it times what a visitor waits
for when offered times (``services.slots_offer``): with busy times cached (target under 150 ms) and
with every rep's cache stale, so that all are read first, in parallel (target under 1 s), and, for
comparison, the same read one rep after another (SCHEDULING_BUSY_REFRESH_THREADS=1).
Options: --reps, --days, --busy, --meetings, --runs, --latency-ms, --no-calendars, --keep (do not
drop the database).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time as clock
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
UTC = dt_timezone.utc
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London", "America/Los_Angeles"]


@contextmanager
def scratch_database(keep: bool = False):
    """Point Django at a fresh PostgreSQL database beside DATABASE_URL's, migrated; drop it afterwards."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://user@host:5432/db (the scratch database is created beside it).")
    parts = urlparse(url)
    name = f"{parts.path.lstrip('/') or 'leadbot'}_bench_{os.getpid()}"
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{name}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        yield name
    finally:
        connections.close_all()
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(*, reps: int, days: int, busy: int, meetings: int, now: datetime) -> list:
    from chatbot.models import Conversation, Site, Visitor
    from scheduling.models import BusyBlock, Meeting, RoutingRule, SalesRep, TimeOff, WorkingHours

    rng = random.Random(42)
    rep_rows = SalesRep.objects.bulk_create(
        SalesRep(
            name=f"Rep {i}",
            email=f"rep{i}@vendor.example",
            timezone=ZONES[i % len(ZONES)],
            buffer_before_minutes=5,
            buffer_after_minutes=10,
            min_notice_minutes=120,
            max_meetings_per_day=6,
            horizon_days=days + 7,
            feed_token=f"bench-{i}",
        )
        for i in range(reps)
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(rep=rep, weekday=day, start=start, end=end)
        for rep in rep_rows
        for day in range(5)
        for start, end in [(time(9), time(12)), (time(13), time(17, 30))]
    )
    span = int(timedelta(days=days).total_seconds() // 900)

    def quarter(i: int) -> datetime:
        return now + timedelta(minutes=15 * i)

    blocks = []
    for _ in range(busy):
        start = quarter(rng.randrange(span))
        blocks.append(
            BusyBlock(rep=rng.choice(rep_rows), start=start, end=start + timedelta(minutes=rng.choice([30, 60, 90])))
        )
    BusyBlock.objects.bulk_create(blocks)
    TimeOff.objects.bulk_create(
        TimeOff(rep=rep, start=now + timedelta(days=3), end=now + timedelta(days=5)) for rep in rep_rows[::10]
    )
    site = Site.objects.create(name="Bench")
    visitor = Visitor.objects.create(site=site, token="bench-visitor")
    # Meetings without overlaps: one per rep per slot on a half-hour grid, skipping taken ones.
    taken, rows = set(), []
    while len(rows) < meetings:
        rep, slot = rng.choice(rep_rows), rng.randrange(span // 2) * 2
        if (rep.pk, slot) in taken or (rep.pk, slot + 1) in taken or (rep.pk, slot - 1) in taken:
            continue
        taken.add((rep.pk, slot))
        start = quarter(slot)
        rows.append(Meeting(rep=rep, start=start, end=start + timedelta(minutes=30), visitor_email="x@y.example"))
    Meeting.objects.bulk_create(rows)
    rule = RoutingRule.objects.create(name="Everyone", is_default=True)
    rule.reps.set(rep_rows)
    conversation = Conversation.objects.create(site=site, visitor=visitor, timezone="Europe/Paris")
    return rep_rows, conversation


def timed(fn, runs: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, result, queries = [], None, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = clock.perf_counter()
            result = fn()
            times.append((clock.perf_counter() - started) * 1000)
        queries = len(ctx)
    return result, min(times), statistics.median(times), queries


def serve_fakes(pipe, latency_ms: int, grants: int, now: datetime) -> None:
    """In a process of its own (as the real services are elsewhere): the tests' fake Google and Microsoft
    365, answering after ``latency_ms``, with ``grants`` account grants each and some busy times. Sends
    what our settings need, then serves until told to stop, and answers with how it was used."""
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft

    google = FakeGoogle().start()
    microsoft = FakeMicrosoft(Path(tempfile.mkdtemp(prefix="bench-microsoft-"))).start()
    google.latency = microsoft.latency = latency_ms / 1000
    for day in range(1, 10, 2):
        start = now + timedelta(days=day, hours=2)
        google.add_event(
            "primary",
            {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}},
        )
        microsoft.add_busy(start + timedelta(hours=3), start + timedelta(hours=4))
    pipe.send(
        {
            "settings": {
                "GOOGLE_OAUTH_CLIENT_ID": google.client_id,
                "GOOGLE_OAUTH_CLIENT_SECRET": google.client_secret,
                "GOOGLE_OAUTH_TOKEN_URI": google.token_uri,
                "GOOGLE_CALENDAR_API_ENDPOINT": google.api_endpoint,
                "MICROSOFT_OAUTH_CLIENT_ID": microsoft.client_id,
                "MICROSOFT_OAUTH_CLIENT_SECRET": microsoft.client_secret,
                "MICROSOFT_OAUTH_AUTHORITY": microsoft.authority,
                "MICROSOFT_GRAPH_ENDPOINT": microsoft.graph_endpoint,
            },
            "ca_bundle": str(microsoft.cert_path),
            "google": {"email": google.account_email, "grants": [google.grant() for _ in range(grants)]},
            "microsoft": {"email": microsoft.account_email, "grants": [microsoft.grant() for _ in range(grants)]},
        }
    )
    pipe.recv()
    pipe.send(
        {
            "in_flight": (google.max_in_flight, microsoft.max_in_flight),
            "violations": google.violations[:3] + microsoft.violations[:3],
        }
    )
    google.stop()
    microsoft.stop()


def connect_calendars(reps: list, fakes: dict) -> None:
    """Half of the reps on Google, half on Microsoft 365, each with its own grant; our settings point at the fakes."""
    from django.conf import settings

    from scheduling.calendars import connection_store_oauth_grant
    from scheduling.models import CalendarConnection

    for name, value in fakes["settings"].items():
        setattr(settings, name, value)
    os.environ["REQUESTS_CA_BUNDLE"] = fakes["ca_bundle"]  # requests (msal's and ours) trusts the fake
    for i, rep in enumerate(reps):
        provider, kind = ("google", CalendarConnection.Kind.GOOGLE) if i % 2 == 0 else ("microsoft", "microsoft")
        access, refresh, expiry = fakes[provider]["grants"][i // 2]
        connection_store_oauth_grant(
            connection=CalendarConnection(rep=rep, account_email=fakes[provider]["email"]),
            kind=kind,
            access_token=access,
            refresh_token=refresh,
            expires_at=expiry,
        )


def time_offers(conversation, now: datetime, runs: int, *, stale: bool) -> tuple[float, float, int]:
    """(best ms, median ms, calendar reads per offer) of ``slots_offer`` for a qualified visitor."""
    from django.db import connection

    from scheduling.models import CalendarConnection, SlotOffer
    from scheduling.services import slots_offer

    times, reads = [], 0
    for _ in range(runs):
        CalendarConnection.objects.update(last_synced_at=None if stale else datetime.now(UTC))
        before = CalendarConnection.objects.filter(last_synced_at__isnull=True).count()
        started = clock.perf_counter()
        offer = slots_offer(conversation=conversation, now=now)
        times.append((clock.perf_counter() - started) * 1000)
        reads = before - CalendarConnection.objects.filter(last_synced_at__isnull=True).count()
        assert offer.slots, offer.code
        SlotOffer.objects.filter(conversation=conversation).delete()
    connection.close()
    return min(times), statistics.median(times), reads


def bench_calendars(rep_rows: list, conversation, now: datetime, args) -> None:
    import multiprocessing

    from django.conf import settings
    from django.db import connections

    from qualification.models import Lead

    connections.close_all()  # nothing of the database crosses the fork
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve_fakes, args=(theirs, args.latency_ms, len(rep_rows), now), daemon=True
    )
    server.start()
    try:
        connect_calendars(rep_rows, ours.recv())
        Lead.objects.create(conversation=conversation, outcome=Lead.Outcome.QUALIFIED, email="ada@prospect.example")
        print(
            f"calendars: {len(rep_rows) - len(rep_rows) // 2} reps on the fake Google, {len(rep_rows) // 2} on the "
            f"fake Microsoft 365 (in a process of their own), {args.latency_ms} ms round trip; slots_offer for a "
            "qualified visitor:"
        )
        best, median, reads = time_offers(conversation, now, args.runs, stale=False)
        verdict = "OK" if median < 150 else "OVER the 150 ms target"
        print(f"  busy times cached:   best {best:.1f} ms, median {median:.1f} ms, {reads} calendars read  [{verdict}]")
        best, median, reads = time_offers(conversation, now, max(3, args.runs // 2), stale=True)
        verdict = "OK" if median < 1000 else "OVER the 1 s target"
        print(
            f"  all caches stale:    best {best:.1f} ms, median {median:.1f} ms, {reads} calendars read on "
            f"{settings.SCHEDULING_BUSY_REFRESH_THREADS} threads  [{verdict}]"
        )
        threads, settings.SCHEDULING_BUSY_REFRESH_THREADS = settings.SCHEDULING_BUSY_REFRESH_THREADS, 1
        _, median, reads = time_offers(conversation, now, 1, stale=True)
        settings.SCHEDULING_BUSY_REFRESH_THREADS = threads
        print(f"  stale, one by one:   {median:.1f} ms, {reads} calendars read on 1 thread (for comparison)")
        ours.send("stop")
        used = ours.recv()
        print(f"  most requests in flight at once: Google {used['in_flight'][0]}, Microsoft {used['in_flight'][1]}")
        if used["violations"]:
            print(f"  REQUESTS THE FAKES REFUSED: {used['violations']}")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--busy", type=int, default=2000)
    parser.add_argument("--meetings", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--no-calendars", action="store_true", help="skip the run with Google and Microsoft calendars")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with scratch_database(keep=args.keep) as name:
        from scheduling.models import SalesRep
        from scheduling.selectors import pool_free_slots, slots_for_lead

        rep_rows, conversation = fill(reps=args.reps, days=args.days, busy=args.busy, meetings=args.meetings, now=now)
        reps = list(SalesRep.objects.filter(pk__in=[r.pk for r in rep_rows]))
        end = now + timedelta(days=args.days)
        print(f"database {name}: {args.reps} reps, {args.days} days, {args.busy} busy blocks, {args.meetings} meetings")
        by_rep, best, median, queries = timed(
            lambda: pool_free_slots(reps=reps, start=now, end=end, now=now), args.runs
        )
        total = sum(len(s) for s in by_rep.values())
        verdict = "OK" if median < 100 else "OVER the 100 ms target"
        print(
            f"pool_free_slots: {total} free slots, best {best:.1f} ms, median {median:.1f} ms, "
            f"{queries} queries  [{verdict}]"
        )
        _, best, median, queries = timed(lambda: pool_free_slots(reps=reps[:1], start=now, end=end, now=now), args.runs)
        print(f"rep_free_slots (1 rep): best {best:.1f} ms, median {median:.1f} ms, {queries} queries")
        slots, best, median, queries = timed(
            lambda: slots_for_lead(lead=None, conversation=conversation, now=now), args.runs
        )
        print(
            f"slots_for_lead (route + fairness + availability): {len(slots)} slots, "
            f"best {best:.1f} ms, median {median:.1f} ms, {queries} queries"
        )
        if not args.no_calendars:
            bench_calendars(reps, conversation, now, args)


if __name__ == "__main__":
    main()
