"""The demo conversations are this bot's conversations: its questions, in its order, its intents, its words."""

import datetime as dt

import pytest

from analytics.demo_data import bot_domain, generate
from chatbot.models import Message
from qualification.parsing import QUESTIONS

pytestmark = pytest.mark.django_db
END = dt.date(2026, 11, 20)


@pytest.fixture
def demo():
    generate(conversations=200, days=30, seed=3, end=END)
    return bot_domain()


def test_every_intent_in_the_demo_exists_in_the_domain(demo):
    intents = set(Message.objects.filter(sender="visitor").values_list("intent", flat=True))
    assert intents - demo.intents == set()
    assert {"describe_need", "inform", "nlu_fallback"} <= intents


def test_the_demo_asks_the_bots_questions_in_the_bots_order(demo):
    asked = set(Message.objects.exclude(asked_slot="").values_list("asked_slot", flat=True))
    assert asked == set(QUESTIONS)  # every question the bot asks, and no other
    for conversation_id in Message.objects.values_list("conversation_id", flat=True).distinct()[:50]:
        slots = list(
            Message.objects.filter(conversation_id=conversation_id)
            .exclude(asked_slot="")
            .order_by("id")
            .values_list("asked_slot", flat=True)
        )
        distinct = list(dict.fromkeys(slots))
        assert distinct == list(QUESTIONS[: len(distinct)])


def test_the_bots_questions_greeting_and_rephrase_are_the_domains_texts(demo):
    domain_texts = {variation["text"] for variations in demo.responses.values() for variation in variations}
    for slot, text in Message.objects.exclude(asked_slot="").values_list("asked_slot", "text").distinct():
        assert text in {variation["text"] for variation in demo.responses[f"utter_ask_{slot}"]}
    first_bot_texts = {
        Message.objects.filter(conversation_id=cid, sender="bot").order_by("id").first().text
        for cid in Message.objects.values_list("conversation_id", flat=True).distinct()[:50]
    }
    assert first_bot_texts == {demo.text("utter_greet")}
    after_fallback = Message.objects.filter(sender="bot", text=demo.text("utter_please_rephrase"))
    assert after_fallback.exists()
    # Booking lines come from scheduling (slot texts), every other bot line from the domain.
    other = Message.objects.filter(sender="bot", asked_slot="").exclude(text__startswith="Here are some times")
    other = other.exclude(text__startswith="You're booked with")
    assert set(other.values_list("text", flat=True)) <= domain_texts


def test_writing_in_chunks_writes_the_same_data_as_writing_once(monkeypatch):
    """A million conversations are written as they are generated, a chunk at a time: the rows are the same."""
    from collections import Counter

    from analytics import demo_data
    from chatbot.models import Conversation, Visitor
    from scheduling.models import Meeting

    def transcripts(conversation_ids) -> Counter:
        rows = Message.objects.filter(conversation_id__in=conversation_ids).values_list("sender", "text", "intent")
        return Counter(rows)

    monkeypatch.setattr(demo_data, "WRITE_EVERY", 7)
    chunked = generate(conversations=30, days=10, seed=5, end=END)
    first = transcripts(Conversation.objects.values_list("id", flat=True))
    # the same seed makes the same tokens and ids: the first data set goes before the second is written
    Meeting.objects.all().delete()
    Visitor.objects.all().delete()  # and their conversations, messages, leads, slot offers
    monkeypatch.setattr(demo_data, "WRITE_EVERY", 10_000)
    once = generate(conversations=30, days=10, seed=5, end=END)
    second = transcripts(Conversation.objects.values_list("id", flat=True))
    assert chunked == once and chunked["chatbot.Conversation"] == 30
    assert first == second and sum(first.values()) == chunked["chatbot.Message"]
