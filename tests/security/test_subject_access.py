"""Subject access: everything stored about one email, as JSON, from ``manage.py export_visitor`` or an admin action."""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from chatbot.models import Message
from privacy.models import PrivacyRecord
from privacy.selectors import email_hash
from qualification.models import Lead
from scheduling.models import Meeting
from tests.analytics.factories import SalesRepFactory, SiteFactory, conversation_at, say, slot_offer_for
from tests.security.privacy_support import another_visit

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc
STARTED = dt.datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def ada(db):
    site = SiteFactory(name="Northwind")
    first = conversation_at(
        site=site, started=STARTED, utm={"utm_source": "google"}, page_url="https://x.example/pricing"
    )
    say(first, 1, Message.Sender.BOT, "Hi! What brings you here?")
    say(first, 5, Message.Sender.VISITOR, "I'm Ada, we lose leads", intent="describe_need", confidence=0.9)
    lead = Lead.objects.create(
        conversation=first,
        name="Ada Lovelace",
        email="ada@analytical.example",
        company_name="Analytical Engines",
        company_size=120,
        raw={"company_size": "about 120"},
        outcome=Lead.Outcome.QUALIFIED,
        score=75,
        reasons=[{"rule": 1, "text": "company size ≥ 20", "points": 75}],
        decided_at=STARTED + dt.timedelta(minutes=2),
    )
    lead.decisions.create(
        score=40, outcome=Lead.Outcome.NURTURE, rule_set_version="v1", decided_at=STARTED + dt.timedelta(minutes=1)
    )
    lead.decisions.create(
        score=75, outcome=Lead.Outcome.QUALIFIED, rule_set_version="v2", decided_at=STARTED + dt.timedelta(minutes=2)
    )
    slot_offer_for(first)
    start = STARTED + dt.timedelta(days=2)
    Meeting.objects.create(
        rep=SalesRepFactory(name="Rita"),
        lead=lead,
        conversation=first,
        start=start,
        end=start + dt.timedelta(minutes=30),
        status=Meeting.Status.HELD,
        visitor_name="Ada Lovelace",
        visitor_email="ada@analytical.example",
    )
    # A later visit from the same browser, where she gave no email.
    second = another_visit(first.visitor, at=STARTED + dt.timedelta(days=5))
    say(second, 3, Message.Sender.VISITOR, "me again, about pricing")
    # Someone else on the same site.
    other = conversation_at(site=site, started=STARTED)
    say(other, 2, Message.Sender.VISITOR, "Bob from Globex here")
    Lead.objects.create(conversation=other, email="bob@globex.example", name="Bob")
    return {"first": first, "second": second, "other": other}


def test_export_visitor_writes_everything_stored_about_the_email(ada, tmp_path):
    out = tmp_path / "ada.json"

    call_command("export_visitor", "--email", "Ada@Analytical.example", "--out", str(out))

    document = json.loads(out.read_text())
    assert document["email"] == "ada@analytical.example"
    assert [c["id"] for c in document["conversations"]] == [str(ada["first"].public_id), str(ada["second"].public_id)]
    first, second = document["conversations"]
    assert [(m["from"], m["text"]) for m in first["messages"]] == [
        ("bot", "Hi! What brings you here?"),
        ("visitor", "I'm Ada, we lose leads"),
    ]
    assert first["messages"][1]["understood_as"] == "describe_need"
    assert first["utm"] == {"utm_source": "google"} and first["site"] == "Northwind"
    assert first["lead"]["facts"]["company_name"] == "Analytical Engines"
    assert first["lead"]["facts"]["company_size"] == 120
    assert first["lead"]["in_your_words"] == {"company_size": "about 120"}
    assert (first["lead"]["outcome"], first["lead"]["score"]) == ("qualified", 75)
    assert [(d["outcome"], d["rule_set_version"]) for d in first["lead"]["decisions"]] == [
        ("qualified", "v2"),
        ("nurture", "v1"),
    ]
    assert len(first["slots_offered"]) == 1
    assert [m["text"] for m in second["messages"]] == ["me again, about pricing"] and second["lead"] is None
    (meeting,) = document["meetings"]
    assert (meeting["with"], meeting["status"], meeting["visitor_name"]) == ("Rita", "held", "Ada Lovelace")
    assert meeting["conversation"] == str(ada["first"].public_id)
    assert len(document["browsers"]) == 1
    # Nobody else's data, and no visitor token (a key to the chat, not information about her).
    text = out.read_text()
    assert "Bob" not in text and "globex" not in text
    assert ada["first"].visitor.token not in text

    record = PrivacyRecord.objects.get()
    assert (record.kind, record.via, record.email_hash) == ("access", "command", email_hash("ada@analytical.example"))
    assert record.summary == {"conversations": 2, "messages": 3, "meetings": 1}


def test_export_of_an_unknown_email_says_so(ada):
    with pytest.raises(CommandError, match="Nothing is stored about nobody@example.com"):
        call_command("export_visitor", "--email", "nobody@example.com")
    assert not PrivacyRecord.objects.exists()


def test_admin_action_downloads_the_json_of_the_selected_person(ada, admin_client):
    lead = Lead.objects.get(email="ada@analytical.example")

    response = admin_client.post(
        "/admin/qualification/lead/", {"action": "privacy_export", "_selected_action": [lead.pk]}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    document = json.loads(response.content)
    assert document["email"] == "ada@analytical.example" and len(document["conversations"]) == 2
    record = PrivacyRecord.objects.get()
    assert (record.kind, record.performed_by_name) == ("access", "admin")

    # From the conversations list too: the later visit where she gave no email is hers by its browser.
    response = admin_client.post(
        "/admin/chatbot/conversation/", {"action": "privacy_export", "_selected_action": [ada["second"].pk]}
    )
    assert json.loads(response.content)["email"] == "ada@analytical.example"
    # A conversation nobody gave an email in names no one.
    lone = conversation_at(site=ada["other"].site, started=STARTED)
    response = admin_client.post(
        "/admin/chatbot/conversation/", {"action": "privacy_export", "_selected_action": [lone.pk]}, follow=True
    )
    assert "The selected rows have no email address" in response.content.decode()
    assert PrivacyRecord.objects.count() == 2
