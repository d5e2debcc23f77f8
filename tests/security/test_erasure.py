"""Erasure: one person removed everywhere, by an admin action or ``manage.py erase_visitor``, and logged.

Everywhere: Django's tables, Rasa's tracker store (the real PostgreSQL one), the rep's CalDAV
calendar (the real Radicale), and the dashboard's rollups.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail, serializers
from django.core.management import CommandError, call_command

from access.groups import MARKETING
from analytics import rollups
from chatbot.models import Conversation, Message, Visitor
from privacy.models import PrivacyRecord
from privacy.selectors import email_hash
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer
from scheduling.services import meeting_book
from tests.analytics.factories import SiteFactory, conversation_at, say, slot_offer_for
from tests.scheduling.conftest import connect_rep_calendar
from tests.scheduling.factories import SalesRepFactory
from tests.security.privacy_support import another_visit, dashboard_of, tracker_has, tracker_store, tracker_write
from tests.servers import free_port

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc
# Monday 23 Nov 2026, before the tests' real "now" (late Nov 2026): Ada's first meeting is over.
PAST_MONDAY = dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
# A Monday well after it: her second meeting is still to come.
FUTURE_MONDAY = dt.datetime(2027, 1, 11, 6, 0, tzinfo=UTC)
ADA = "ada@analytical.example"


@pytest.fixture
def people(radicale, django_capture_on_commit_callbacks):
    """Ada (two visits from one browser, a held meeting and one to come) and Bob, on a rep with a real calendar."""
    site = SiteFactory(name="Site A")
    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="UTC", horizon_days=400)
    calendar = connect_rep_calendar(radicale, rep)

    first = conversation_at(
        site=site,
        started=PAST_MONDAY - dt.timedelta(hours=2),
        utm={"utm_source": "google"},
        page_url="https://x.example/",
    )
    say(first, 1, Message.Sender.BOT, "Hi! What brings you here?")
    say(first, 10, Message.Sender.VISITOR, "I'm Ada Lovelace, our leads go cold", intent="describe_need")
    say(first, 20, Message.Sender.VISITOR, f"write to {ADA}", intent="inform_email")
    lead = Lead.objects.create(
        conversation=first,
        name="Ada Lovelace",
        email=ADA,
        company_name="Analytical Engines",
        need_text="our leads go cold",
        outcome=Lead.Outcome.QUALIFIED,
        score=80,
    )
    lead.decisions.create(score=80, outcome=Lead.Outcome.QUALIFIED, rule_set_version="v1", decided_at=PAST_MONDAY)
    slot_offer_for(first)
    second = another_visit(first.visitor, at=PAST_MONDAY + dt.timedelta(days=1))
    say(second, 5, Message.Sender.VISITOR, "Ada again, can we meet in January?")
    with django_capture_on_commit_callbacks(execute=True):
        held = meeting_book(
            rep_id=rep.pk,
            start=PAST_MONDAY + dt.timedelta(hours=4),
            conversation=first,
            lead=lead,
            visitor_email=ADA,
            visitor_name="Ada Lovelace",
            now=PAST_MONDAY,
        ).meeting
        to_come = meeting_book(
            rep_id=rep.pk,
            start=FUTURE_MONDAY + dt.timedelta(hours=4),
            conversation=second,
            lead=None,
            visitor_email="Ada@Analytical.example",
            visitor_name="Ada Lovelace",
            now=FUTURE_MONDAY - dt.timedelta(days=30),
        ).meeting
    Meeting.objects.filter(pk=held.pk).update(status=Meeting.Status.HELD)

    bob_chat = conversation_at(site=site, started=PAST_MONDAY - dt.timedelta(hours=1))
    say(bob_chat, 10, Message.Sender.VISITOR, "Bob here from Globex")
    bob_lead = Lead.objects.create(conversation=bob_chat, name="Bob", email="bob@globex.example", company_name="Globex")
    with django_capture_on_commit_callbacks(execute=True):
        bob_meeting = meeting_book(
            rep_id=rep.pk,
            start=PAST_MONDAY + dt.timedelta(hours=6),
            conversation=bob_chat,
            lead=bob_lead,
            visitor_email="bob@globex.example",
            visitor_name="Bob",
            now=PAST_MONDAY,
        ).meeting
    rollups.refresh()
    mail.outbox.clear()
    return {
        "site": site,
        "rep": rep,
        "calendar": calendar,
        "visitor": first.visitor,
        "conversations": [first, second],
        "held": held,
        "to_come": to_come,
        "bob_chat": bob_chat,
        "bob_meeting": bob_meeting,
    }


def events_by_uid(calendar) -> dict:
    return {str(e.component["uid"]): e.component for e in calendar.events()}


def test_erase_visitor_removes_the_person_everywhere_and_logs_it(people, django_capture_on_commit_callbacks, capsys):
    ada_senders = [str(c.public_id) for c in people["conversations"]]
    bob_sender = str(people["bob_chat"].public_id)
    day = PAST_MONDAY.date()
    funnel_before = {row["step"]: row["count"] for row in dashboard_of(day)["funnel"]}
    assert funnel_before["started"] == 2 and funnel_before["booked"] == 2
    assert set(events_by_uid(people["calendar"])) == {
        people["held"].calendar_uid,
        people["to_come"].calendar_uid,
        people["bob_meeting"].calendar_uid,
    }

    with tracker_store() as store:
        for sender in [*ada_senders, bob_sender]:
            tracker_write(store, sender, at=PAST_MONDAY)

        with django_capture_on_commit_callbacks(execute=True):
            call_command("erase_visitor", "--email", "  ADA@analytical.example ")

        # Rasa no longer remembers Ada's conversations; Bob's are untouched.
        assert not any(tracker_has(store, sender) for sender in ada_senders)
        assert tracker_has(store, bob_sender)

    out = capsys.readouterr().out
    assert "Erased ADA@analytical.example: 1 visitors, 2 conversations, 4 messages, 1 leads, 2 meetings" in out

    # Django: her browser, conversations, messages, lead and its decisions, slot offers are gone.
    assert not Visitor.objects.filter(pk=people["visitor"].pk).exists()
    assert not Conversation.objects.filter(pk__in=[c.pk for c in people["conversations"]]).exists()
    assert not Lead.objects.filter(email__iexact=ADA).exists()
    assert not Message.objects.filter(text__icontains="ada").exists()
    assert not SlotOffer.objects.exclude(conversation=people["bob_chat"]).exists()
    # Her meetings stay as the rep's history, with nothing about her; the one to come is cancelled.
    held = Meeting.objects.get(pk=people["held"].pk)
    to_come = Meeting.objects.get(pk=people["to_come"].pk)
    for meeting in (held, to_come):
        assert (meeting.visitor_name, meeting.visitor_email, meeting.visitor_email_domain) == ("", "", "")
        assert meeting.conversation_id is None and meeting.lead_id is None
    assert held.status == Meeting.Status.HELD and to_come.status == Meeting.Status.CANCELLED
    assert to_come.cancel_reason == ""
    # Bob is untouched.
    assert Lead.objects.get(conversation=people["bob_chat"]).email == "bob@globex.example"
    assert Meeting.objects.get(pk=people["bob_meeting"].pk).visitor_name == "Bob"

    # The rep's calendar: the held meeting's event no longer describes her, the one to come is removed.
    events = events_by_uid(people["calendar"])
    assert set(events) == {held.calendar_uid, people["bob_meeting"].calendar_uid}
    held_event = events[held.calendar_uid]
    for text in ("Ada", "Lovelace", "Analytical", "leads go cold"):
        assert text not in str(held_event["summary"]) and text not in str(held_event["description"])
    assert "attendee" not in held_event
    assert "Bob" in str(events[people["bob_meeting"].calendar_uid]["summary"])
    # The rep is told the slot is free; Ada is not emailed (her address is what she asked us to forget).
    assert [m.to for m in mail.outbox] == [["rita@vendor.example"]]
    assert "Cancelled" in mail.outbox[0].subject and "Ada" not in mail.outbox[0].body + mail.outbox[0].subject

    # The dashboard is recomputed without her conversations.
    funnel_after = {row["step"]: row["count"] for row in dashboard_of(day)["funnel"]}
    assert funnel_after["started"] == 1 and funnel_after["booked"] == 1
    rollups.refresh(full=True)
    assert {row["step"]: row["count"] for row in dashboard_of(day)["funnel"]} == funnel_after

    # Who erased what, when: without her address (a keyed hash of it instead).
    record = PrivacyRecord.objects.get()
    assert record.kind == PrivacyRecord.Kind.ERASURE and record.via == PrivacyRecord.Via.COMMAND
    assert record.email_hash == email_hash(ADA) and len(record.email_hash) == 64
    assert record.summary == {
        "visitors": 1,
        "conversations": 2,
        "messages": 4,
        "leads": 1,
        "meetings": 2,
        "meetings_cancelled": 1,
        "tracker_events": 4,
    }
    logged = serializers.serialize("json", [record]).lower()
    assert "ada" not in logged and "analytical" not in logged


def test_erasing_an_unknown_email_says_so_and_changes_nothing(people):
    tables = (Visitor, Conversation, Message, Lead, Meeting, SlotOffer)
    before = {model.__name__: model.objects.count() for model in tables}

    with pytest.raises(CommandError, match="Nothing is stored about nobody@nowhere.example.*Nothing was changed"):
        call_command("erase_visitor", "--email", "nobody@nowhere.example")
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("erase_visitor", "--email", "ada")

    assert {model.__name__: model.objects.count() for model in tables} == before
    assert not PrivacyRecord.objects.exists()


def test_admin_action_shows_what_goes_and_erases_only_when_confirmed(people, admin_client, admin_user):
    conversation = people["conversations"][1]  # the visit where she gave no lead: her meeting says who she is
    url = "/admin/chatbot/conversation/"

    response = admin_client.post(url, {"action": "privacy_erase", "_selected_action": [conversation.pk]})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Erase everything about {ADA}?" in page
    assert "2 conversation(s) with their 4 message(s)" in page
    assert "1 meeting(s) still to come will be cancelled" in page
    assert Conversation.objects.filter(pk=conversation.pk).exists() and not PrivacyRecord.objects.exists()

    response = admin_client.post(
        url, {"action": "privacy_erase", "_selected_action": [conversation.pk], "confirm": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert f"Erased everything about {ADA}" in response.content.decode()
    assert not Conversation.objects.filter(visitor=people["visitor"]).exists()
    record = PrivacyRecord.objects.get()
    assert (record.performed_by, record.performed_by_name, record.via) == (admin_user, "admin", "admin")


def test_admin_action_on_leads_and_refusal_for_several_people(people, admin_client):
    leads = Lead.objects.order_by("pk")

    response = admin_client.post(
        "/admin/qualification/lead/",
        {"action": "privacy_erase", "_selected_action": [lead.pk for lead in leads]},
        follow=True,
    )

    page = response.content.decode()
    assert "2 different email addresses (ada@analytical.example, bob@globex.example)" in page
    assert Lead.objects.count() == 2 and not PrivacyRecord.objects.exists()

    response = admin_client.post(
        "/admin/qualification/lead/",
        {"action": "privacy_erase", "_selected_action": [leads[1].pk], "confirm": "yes"},
        follow=True,
    )
    assert "Erased everything about bob@globex.example" in response.content.decode()
    assert list(Lead.objects.values_list("email", flat=True)) == [ADA]


def test_only_superusers_read_the_privacy_log_and_it_finds_records_by_email(people, client, admin_client):
    call_command("erase_visitor", "--email", "bob@globex.example")
    call_command("export_visitor", "--email", ADA, "--out", "/dev/null")
    bob_record = PrivacyRecord.objects.get(kind=PrivacyRecord.Kind.ERASURE)
    ada_record = PrivacyRecord.objects.get(kind=PrivacyRecord.Kind.ACCESS)
    marketing = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    marketing.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(marketing)

    assert client.get("/admin/privacy/privacyrecord/").status_code == 403
    assert client.get(f"/admin/privacy/privacyrecord/{bob_record.pk}/change/").status_code == 403
    changelist = client.get("/admin/chatbot/conversation/").content.decode()
    assert "privacy_erase" not in changelist and "privacy_export" not in changelist

    def listed(query: str) -> set[int]:
        page = admin_client.get("/admin/privacy/privacyrecord/", {"q": query}).content.decode()
        return {r.pk for r in (bob_record, ada_record) if f"/admin/privacy/privacyrecord/{r.pk}/change/" in page}

    assert listed("") == {bob_record.pk, ada_record.pk}
    assert listed(" Bob@Globex.example") == {bob_record.pk}
    assert listed(ADA) == {ada_record.pk}
    assert listed("someone@else.example") == set()
    assert "privacy_erase" in admin_client.get("/admin/chatbot/conversation/").content.decode()


def test_erasure_changes_nothing_while_the_bots_store_cannot_be_reached(settings):
    conversation = conversation_at(site=SiteFactory(), started=PAST_MONDAY)
    say(conversation, 5, Message.Sender.VISITOR, f"I'm Ada, {ADA}")
    Lead.objects.create(conversation=conversation, email=ADA, name="Ada")
    settings.RASA_TRACKER_DATABASE_URL = f"postgres://postgres@127.0.0.1:{free_port()}/leadbot_rasa_down"

    with pytest.raises(CommandError, match=r"(?s)could not be reached.*nothing was erased"):
        call_command("erase_visitor", "--email", ADA)

    assert Lead.objects.filter(email=ADA).exists() and conversation.messages.count() == 1
    assert not PrivacyRecord.objects.exists()
