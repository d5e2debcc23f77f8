"""Two reps' worlds side by side, and the three kinds of admin user who read them.

| conversation | meeting with | lead (email, company)                  | utm_source    | landing page          | message text          |
|--------------|--------------|----------------------------------------|---------------|-----------------------|-----------------------|
| own          | Alice        | ann@alice-client.example, AliceClientCo | alice-source  | https://shop.example/alice-page | alice secret words  |
| other        | Bob          | ben@bob-client.example, BobClientCo     | bob-source    | https://shop.example/bob-page   | bob secret words    |
| unbooked     | nobody       | nora@no-meeting.example, NoMeetingCo    | nobody-source | https://shop.example/nobody-page | nobody secret words |

The Sales user is Alice's login, with the Sales group's permissions as the product grants them
(the data migration's plus what ``seed_scheduling`` adds: their own rep profile, hours, time off).

Also the abuse tests' fixtures: each test counts on its own, and a real web process when the
test is about what a server does with bytes on a socket.
"""

import datetime as dt
import os
import subprocess
import uuid
from types import SimpleNamespace

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission, User
from django.db import connection

from access.groups import MARKETING, SALES
from chatbot.models import Message
from config.asgi import application
from qualification.models import Lead
from scheduling.management.commands.seed_scheduling import SALES_PERMISSIONS
from tests.analytics.factories import LeadFactory, SalesRepFactory, conversation_at, meeting_for, say
from tests.factories import TEST_ORIGIN, SiteFactory
from tests.servers import ROOT, free_port, stop, wait_http, web_command

UTC = dt.timezone.utc
STARTED = dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
OWN, OTHER, UNBOOKED = "own", "other", "unbooked"
WHO = {OWN: "alice", OTHER: "bob", UNBOOKED: "nobody"}


@pytest.fixture(autouse=True)
def own_snapshot_cache(monkeypatch):
    """Each test its own dashboard snapshots: the shared Redis cache outlives a test's database rows."""
    from django.core.cache.backends.locmem import LocMemCache

    from analytics import snapshots

    monkeypatch.setattr(snapshots, "cache", LocMemCache(f"security-test-{id(monkeypatch)}", {}))


def staff_user(username: str, *groups: str, **flags) -> User:
    user = User.objects.create_user(username, f"{username}@vendor.example", "pw", is_staff=True, **flags)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def world(db):
    sales_group = Group.objects.get(name=SALES)
    sales_group.permissions.add(
        *Permission.objects.filter(content_type__app_label="scheduling", codename__in=SALES_PERMISSIONS)
    )
    site = SiteFactory(name="Customer site")
    alice_user = staff_user("alice", SALES)
    bob_user = staff_user("bob", SALES)
    alice = SalesRepFactory(name="Alice Rep", email="alice@vendor.example", user=alice_user)
    bob = SalesRepFactory(name="Bob Rep", email="bob@vendor.example", user=bob_user)
    conversations, leads, messages, meetings = {}, {}, {}, {}
    for n, (key, rep, company) in enumerate(
        [(OWN, alice, "AliceClientCo"), (OTHER, bob, "BobClientCo"), (UNBOOKED, None, "NoMeetingCo")]
    ):
        who = WHO[key]
        conversation = conversation_at(
            site=site,
            started=STARTED + dt.timedelta(hours=n),
            utm={"utm_source": f"{who}-source", "utm_campaign": f"{who}-campaign"},
            referrer=f"https://{who}-referrer.example/",
            page_url=f"https://shop.example/{who}-page?utm_source={who}-source",
        )
        say(conversation, 0, Message.Sender.BOT, "Hi! What brings you here?")
        messages[key] = say(conversation, 10, Message.Sender.VISITOR, f"{who} secret words", intent="greet")
        lead = LeadFactory(
            conversation=conversation,
            outcome=Lead.Outcome.QUALIFIED,
            score=70,
            email=f"{who[0]}@{who}-client.example",
            company_name=company,
            name=f"{who.title()} Visitor",
        )
        if rep is not None:
            meetings[key] = meeting_for(conversation, rep=rep, lead=lead, booked_after_seconds=60, day=n)
            meetings[key].visitor_name = f"{who.title()} Visitor"
            meetings[key].save(update_fields=["visitor_name"])
        conversations[key], leads[key] = conversation, lead
    return SimpleNamespace(
        site=site,
        alice=alice,
        bob=bob,
        alice_user=alice_user,
        conversations=conversations,
        leads=leads,
        messages=messages,
        meetings=meetings,
        marketing_user=staff_user("mia", MARKETING),
        superuser=staff_user("boss", is_superuser=True),
    )


@pytest.fixture
def login(client, world):
    """``login("sales" | "marketing" | "superuser")`` logs the test client in as that person."""

    def _login(role: str):
        user = {"sales": world.alice_user, "marketing": world.marketing_user, "superuser": world.superuser}[role]
        client.force_login(user)
        return client

    return _login


@pytest.fixture(autouse=True)
def own_counters(settings):
    """A fresh key prefix per test: no test inherits another's hits in the shared Redis."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex[:12]}:"


def communicator_from(ip: str | None, *, origin: str = TEST_ORIGIN, headers: list | None = None):
    """A widget socket whose peer address is ``ip`` (what an ASGI server puts in the scope)."""
    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", origin.encode()), *(headers or [])]
    )
    communicator.scope["client"] = (ip, 50000) if ip else None
    return communicator


def database_url() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    return url


class LiveWeb:
    """The web process alone (uvicorn, as the Procfile runs it) on the test database."""

    def __init__(self, logs, env_extra: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / "web.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
            **(env_extra or {}),
        }
        self.process = subprocess.Popen(
            web_command(self.port), cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        try:
            wait_http(f"{self.url}/", timeout=60, process=self.process, log=self.log)
        except Exception:
            stop(self.process)
            raise

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
def live_web(transactional_db, tmp_path, request):
    """``@pytest.mark.parametrize("live_web", [{"ENV": "value"}], indirect=True)`` sets its environment."""
    web = LiveWeb(tmp_path, getattr(request, "param", None))
    yield web
    web.stop()
