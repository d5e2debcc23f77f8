"""The dashboard runs a fixed number of queries, whatever the amount of data; demo data is deterministic."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.demo_data import generate
from chatbot.models import Conversation, Message, Visitor
from qualification.models import Lead
from scheduling.models import Meeting

END = dt.date(2026, 11, 20)
PARAMS = {"start": "2026-10-01", "end": "2026-11-20", "fresh": "1"}  # compute, never a snapshot


@pytest.fixture
def admin_client_(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def test_dashboard_query_count_is_the_same_for_10_and_1000_conversations(admin_client_):
    generate(conversations=10, days=30, seed=1, end=END)
    small = _queries(admin_client_, "/admin/analytics/dashboard/", PARAMS)
    small_nu = _queries(admin_client_, "/admin/analytics/notunderstood/", PARAMS)
    generate(conversations=990, days=30, seed=2, end=END)
    assert Conversation.objects.count() == 1000
    large = _queries(admin_client_, "/admin/analytics/dashboard/", PARAMS)
    large_nu = _queries(admin_client_, "/admin/analytics/notunderstood/", PARAMS)
    assert large == small
    assert large_nu == small_nu
    # The numbers did grow: the page reads the data, it is not empty.
    response = admin_client_.get("/admin/analytics/dashboard/", {**PARAMS, "export": "funnel"})
    started = next(
        row
        for row in b"".join(response.streaming_content).decode().splitlines()
        if row.startswith("Conversations started")
    )
    assert started.split(",")[1] == "1000"


def test_demo_data_is_deterministic_and_realistic(db):
    generate(conversations=300, days=30, seed=7, end=END)
    first = list(Message.objects.order_by("id").values_list("text", "intent", "asked_slot", "created_at")[:200])
    counts = (Message.objects.count(), Lead.objects.count(), Meeting.objects.count())
    Meeting.objects.all().delete()
    Visitor.objects.all().delete()  # and their conversations, messages, leads
    generate(conversations=300, days=30, seed=7, end=END)
    again = list(Message.objects.order_by("id").values_list("text", "intent", "asked_slot", "created_at")[:200])
    assert again == first
    assert (Message.objects.count(), Lead.objects.count(), Meeting.objects.count()) == counts
    assert 6 <= counts[0] / 300 <= 16  # about ten messages a conversation
    assert Lead.objects.filter(outcome="qualified").exists()
    assert Message.objects.filter(intent="nlu_fallback").exists()
    assert Message.objects.exclude(asked_slot="").exists()
    assert Conversation.objects.filter(started_at__date__gt=END).count() == 0
