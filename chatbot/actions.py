"""Custom actions for the chat itself (session start)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot import services
from config import zones
from config.db import db


class ActionSessionStart(Action):
    """Starts a Rasa session and remembers the visitor's time zone.

    The web process sends the browser's zone as message metadata; Rasa hands it
    to this action as `session_started_metadata`. It becomes the `timezone`
    slot (for scheduling) and the Conversation's time zone.
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # Carry slots over from an earlier session of the same conversation.
        events.extend(
            SlotSet(key=name, value=value)
            for name, value in tracker.current_slot_values().items()
            if value is not None and name != "session_started_metadata"
        )
        metadata = tracker.get_slot("session_started_metadata") or {}
        zone = zones.zone_clean(metadata.get("timezone"))
        if zone:
            events.append(SlotSet(key="timezone", value=zone))
            await db(services.conversation_set_timezone)(public_id=tracker.sender_id, timezone_name=zone)
        events.append(ActionExecuted("action_listen"))
        return events
