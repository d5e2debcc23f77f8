"""Telling everyone who answers a conversation now, after a takeover or a hand-back."""

from channels.layers import get_channel_layer

from chatbot import live
from chatbot import selectors as chat_selectors
from chatbot import services as chat_services


async def announce(handover: chat_services.Handover, *, mode: str, name: str | None) -> None:
    """Tell the visitor's tabs (and the open transcripts) who answers now, and refresh the inbox rows."""
    layer = get_channel_layer()
    public_id = str(handover.conversation.public_id)
    notice = chat_selectors.message_frame(handover.notice)
    await layer.group_send(
        live.conversation_group(public_id), {"type": "chat.mode", "mode": mode, "name": name, "notice": notice}
    )
    await live.inbox_touch(site_id=handover.conversation.site_id, public_id=public_id)
