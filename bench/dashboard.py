"""Times the marketing dashboard and the conversation changelist on the database's current data.

Fill the database first, then run (PostgreSQL, the set-up the 1 s target is about):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbot_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py generate_demo_data --conversations 100000 --seed 1
    .venv/bin/python bench/dashboard.py --repeat 5

Requests go through Django's test client as a superuser (created if missing: `bench-admin`),
so the figures are the full request: selectors, templates, admin machinery. For each page it
prints the first request, the median and worst of the next --repeat ones, and the query
count. The dashboard is measured twice: "computed" asks for fresh figures (`fresh=1`: every
request refreshes the daily rollups and runs every aggregate query), "snapshot" is a repeat
view within ANALYTICS_DASHBOARD_MAX_AGE (served from the cached snapshot, see
analytics/snapshots.py).

Then it times the rollups' upkeep (analytics/rollups.py), the work the worker does every
minute: recomputing the buckets of the last day (what a refresh after a busy day costs at
most) and rebuilding every bucket from scratch (once, on the first refresh).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page (after one cold request)")
    args = parser.parse_args()

    import django

    django.setup()
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from chatbot.models import Conversation, Message

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    today = dt.datetime.now(dt.timezone.utc).date()
    last_90 = {"start": (today - dt.timedelta(days=90)).isoformat(), "end": today.isoformat()}
    pages = [
        ("dashboard, last 30 days (default), computed", "/admin/analytics/dashboard/", {"fresh": "1"}),
        ("dashboard, last 90 days, computed", "/admin/analytics/dashboard/", {**last_90, "fresh": "1"}),
        ("dashboard, last 30 days (default), snapshot", "/admin/analytics/dashboard/", {}),
        ("dashboard, last 90 days, snapshot", "/admin/analytics/dashboard/", last_90),
        ("not understood, last 30 days", "/admin/analytics/notunderstood/", {}),
        ("conversation changelist", "/admin/chatbot/conversation/", {}),
        (
            "conversation changelist, qualified + has meeting",
            "/admin/chatbot/conversation/",
            {"outcome": "qualified", "has_meeting": "yes"},
        ),
        ("conversation changelist, search 'free trial'", "/admin/chatbot/conversation/", {"q": "free trial"}),
    ]
    print(
        f"database: {connection.vendor}, {Conversation.objects.count():,} conversations, {Message.objects.count():,} messages"
    )
    print(f"{'page':52} {'cold s':>8} {'median s':>9} {'max s':>7} {'queries':>8}")
    for label, url, params in pages:
        timings = []
        for attempt in range(args.repeat + 1):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url, params)
                elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if attempt == 0:
                cold = elapsed
            else:
                timings.append(elapsed)
        print(f"{label:52} {cold:8.3f} {statistics.median(timings):9.3f} {max(timings):7.3f} {len(queries):8d}")

    from analytics import rollups

    last_day = Conversation.objects.filter(started_at__gte=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
    upkeep = [
        (f"rollups: recompute the last day ({last_day.count():,} conversations)", {"conversations": last_day}),
        ("rollups: rebuild everything", {"full": True}),
    ]
    for label, kwargs in upkeep:
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            rollups.refresh(**kwargs)
            elapsed = time.perf_counter() - began
        print(f"{label:52} {elapsed:8.3f} {'':>9} {'':>7} {len(queries):8d}")


if __name__ == "__main__":
    main()
