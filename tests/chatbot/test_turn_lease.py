"""One sender per conversation (chatbot/services.py's lease): turns reach the bot in the order sent,
none waits with nobody sending it, and an answer stored twice is stored once."""

import datetime as dt

import pytest
from django.utils import timezone

from chatbot import services
from chatbot.models import Conversation, Message
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def visitor_message(conversation, text: str) -> Message:
    return services.message_record_visitor(conversation=conversation, text=text, client_id=text).message


def reply(text: str) -> list[services.BotReply]:
    return [services.BotReply(text=text, buttons=[])]


def test_the_oldest_waiting_message_goes_first_and_only_one_sender_holds_the_conversation():
    conversation = ConversationFactory()
    first, second = visitor_message(conversation, "one"), visitor_message(conversation, "two")

    assert services.conversation_turn_claim(conversation_id=conversation.pk, owner="a", seconds=30) == first
    assert services.conversation_turn_claim(conversation_id=conversation.pk, owner="b", seconds=30) is None

    stored, following = services.turn_record_and_next(
        visitor_message=first,
        replies=reply("answer one"),
        interpretation=services.NO_INTERPRETATION,
        owner="a",
        seconds=30,
    )
    assert [m.text for m in stored] == ["answer one"] and following == second
    assert Conversation.objects.get(pk=conversation.pk).bot_lease_owner == "a"  # kept for the next one

    stored, following = services.turn_record_and_next(
        visitor_message=second,
        replies=reply("answer two"),
        interpretation=services.NO_INTERPRETATION,
        owner="a",
        seconds=30,
    )
    assert following is None
    assert Conversation.objects.get(pk=conversation.pk).bot_lease_owner == ""  # let go when nothing waits


def test_a_message_stored_while_the_lease_was_taken_is_sent_by_the_holder():
    conversation = ConversationFactory()
    first = visitor_message(conversation, "one")
    services.conversation_turn_claim(conversation_id=conversation.pk, owner="a", seconds=30)
    late = visitor_message(conversation, "two")  # its sender finds the lease taken...
    assert services.conversation_turn_claim(conversation_id=conversation.pk, owner="b", seconds=30) is None

    _, following = services.turn_record_and_next(
        visitor_message=first, replies=reply("x"), interpretation=services.NO_INTERPRETATION, owner="a", seconds=30
    )
    assert following == late  # ...and the holder sends it


def test_a_dead_senders_lease_runs_out():
    conversation = ConversationFactory()
    message = visitor_message(conversation, "one")
    services.conversation_turn_claim(conversation_id=conversation.pk, owner="dead", seconds=30)
    Conversation.objects.filter(pk=conversation.pk).update(bot_lease_until=timezone.now() - dt.timedelta(seconds=1))

    assert services.conversation_turn_claim(conversation_id=conversation.pk, owner="b", seconds=30) == message


def test_an_answer_stored_twice_is_stored_once_and_queued_messages_are_told_once():
    conversation = ConversationFactory()
    message = visitor_message(conversation, "one")
    notice = services.message_queue_for_later(visitor_message=message, text="later")
    assert notice is not None and notice.sender == Message.Sender.SYSTEM
    assert services.message_queue_for_later(visitor_message=message, text="later") is None  # told once

    first = services.message_record_bot_replies(visitor_message=message, replies=reply("a"))
    again = services.message_record_bot_replies(visitor_message=message, replies=reply("a"))
    assert len(first) == 1 and again == []
    assert Message.objects.get(pk=message.pk).delivery == Message.Delivery.DELIVERED


def test_the_sweep_finds_what_waits_with_nobody_sending_it():
    from chatbot import selectors

    old = timezone.now() - dt.timedelta(minutes=5)
    waiting, sending, answered = ConversationFactory(), ConversationFactory(), ConversationFactory()
    for conversation in (waiting, sending, answered):
        message = visitor_message(conversation, "hello")
        Message.objects.filter(pk=message.pk).update(created_at=old)
    services.conversation_turn_claim(conversation_id=sending.pk, owner="alive", seconds=60)
    services.message_record_bot_replies(
        visitor_message=Message.objects.get(conversation=answered, sender="visitor"), replies=reply("hi")
    )

    assert selectors.conversations_waiting(since=timezone.now() - dt.timedelta(minutes=1)) == [waiting.pk]
    assert selectors.conversations_waiting(since=old - dt.timedelta(minutes=1)) == []  # too recent to sweep
