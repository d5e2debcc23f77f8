import datetime as dt

import factory

from chatbot.models import Conversation, Message
from qualification.models import Lead
from scheduling.models import Meeting, SalesRep, SlotOffer
from tests.factories import ConversationFactory, SiteFactory

UTC = dt.timezone.utc


class SalesRepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesRep

    name = factory.Sequence(lambda n: f"Rep {n}")
    email = factory.Sequence(lambda n: f"rep{n}@northwind.example")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    conversation = factory.SubFactory(ConversationFactory)


def conversation_at(
    *, site, started: dt.datetime, utm: dict | None = None, referrer: str = "", page_url: str = ""
) -> Conversation:
    """A conversation whose started_at (auto_now_add) is set to ``started``."""
    conversation = ConversationFactory(site=site, utm=utm or {}, referrer=referrer, page_url=page_url)
    Conversation.objects.filter(pk=conversation.pk).update(started_at=started, last_activity_at=started)
    conversation.refresh_from_db()
    return conversation


def say(
    conversation: Conversation,
    seconds: float,
    sender: str,
    text: str,
    *,
    intent: str = "",
    confidence: float | None = None,
    entities: list | None = None,
    asked_slot: str = "",
) -> Message:
    """A message ``seconds`` after the conversation started."""
    message = Message.objects.create(
        conversation=conversation,
        sender=sender,
        text=text,
        intent=intent,
        confidence=confidence,
        entities=entities or [],
        asked_slot=asked_slot,
    )
    at = conversation.started_at + dt.timedelta(seconds=seconds)
    Message.objects.filter(pk=message.pk).update(created_at=at)
    message.created_at = at
    return message


def meeting_for(conversation, *, rep, lead=None, booked_after_seconds: float, status=Meeting.Status.BOOKED, day=0):
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + dt.timedelta(days=day)
    meeting = Meeting.objects.create(
        rep=rep,
        lead=lead,
        conversation=conversation,
        start=start,
        end=start + dt.timedelta(minutes=30),
        status=status,
        visitor_email=lead.email if lead else "",
    )
    booked_at = conversation.started_at + dt.timedelta(seconds=booked_after_seconds)
    Meeting.objects.filter(pk=meeting.pk).update(created_at=booked_at)
    return meeting


def slot_offer_for(conversation):
    return SlotOffer.objects.create(conversation=conversation, slots=[{"rep": 1, "start": "2026-12-01T09:00:00+00:00"}])


__all__ = ["SiteFactory", "SalesRepFactory", "LeadFactory", "conversation_at", "say", "meeting_for", "slot_offer_for"]
