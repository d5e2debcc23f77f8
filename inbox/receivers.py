"""What the inbox does when the chat tells of a change (signals of chatbot.live, connected in InboxConfig.ready)."""

from inbox.tasks import handoff_notify_task


def on_handoff_requested(sender, *, conversation_id: int, **kwargs) -> None:
    """A visitor asked for a person for the first time: tell the routed rep (queued; sent after commit)."""
    handoff_notify_task.delay(conversation_id)
