"""Records of a live handoff: who took over, when, how long the visitor waited, and the rep's
messages marked as the rep's in the transcript and in the rep's meeting email."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chatbot import services as chat_services
from chatbot.models import Conversation, Message, Takeover
from tests.factories import ConversationFactory
from tests.inbox.conftest import make_rep
from tests.scheduling.conftest import book_chat_lead
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db


def test_takeover_records_who_when_and_the_wait():
    conversation = ConversationFactory()
    ana = make_rep("Ana", conversation.site)
    chat_services.conversation_request_handoff(public_id=str(conversation.public_id))
    Conversation.objects.filter(pk=conversation.pk).update(handoff_requested_at=timezone.now() - timedelta(seconds=42))
    handover = chat_services.conversation_take_over(public_id=str(conversation.public_id), user=ana, rep_name="Ana")
    takeover = Takeover.objects.get(conversation=conversation)
    assert (takeover.rep, takeover.rep_name, takeover.released_at) == (ana, "Ana", None)
    assert 42 <= takeover.waited_seconds < 60
    assert handover.notice.sender == Message.Sender.SYSTEM
    # A second request does not restart the wait.
    first = Conversation.objects.get(pk=conversation.pk).handoff_requested_at
    chat_services.conversation_request_handoff(public_id=str(conversation.public_id))
    assert Conversation.objects.get(pk=conversation.pk).handoff_requested_at == first


def test_rep_messages_are_marked_in_the_meeting_email(mailoutbox, chat_lead, django_capture_on_commit_callbacks):
    conversation = chat_lead.conversation
    ana = make_rep("Ana Admin", conversation.site)
    public_id = str(conversation.public_id)
    chat_services.conversation_take_over(public_id=public_id, user=ana, rep_name="Ana Admin")
    message = chat_services.message_record_rep(public_id=public_id, user=ana, text="I can show you a forecast demo.")
    assert (message.sender, message.author, message.author_name) == (Message.Sender.REP, ana, "Ana Admin")
    chat_services.conversation_hand_back(public_id=public_id, user_id=ana.pk)

    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="Europe/Berlin")
    book_chat_lead(
        rep=rep, lead=chat_lead, visitor_timezone="Europe/London", capture_on_commit=django_capture_on_commit_callbacks
    )
    (email,) = [m for m in mailoutbox if m.to == ["rita@vendor.example"]]
    assert "Ana Admin (rep): I can show you a forecast demo." in email.body
    assert "Ana Admin has left the chat" not in email.body  # system notices stay out


def test_the_conversation_page_in_admin_shows_the_takeover_and_the_reps_messages(client):
    from django.contrib.auth.models import User

    conversation = ConversationFactory()
    ana = make_rep("Ana", conversation.site)
    public_id = str(conversation.public_id)
    chat_services.conversation_request_handoff(public_id=public_id)
    chat_services.conversation_take_over(public_id=public_id, user=ana, rep_name="Ana")
    chat_services.message_record_rep(public_id=public_id, user=ana, text="Hello from Ana")
    chat_services.conversation_hand_back(public_id=public_id, user_id=ana.pk)
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    page = client.get(f"/admin/chatbot/conversation/{conversation.pk}/change/").content.decode()
    assert "<strong>Live chat:</strong> Ana took over at" in page
    assert "handed back to the bot at" in page
    assert "Rep (Ana)" in page and "Hello from Ana" in page
