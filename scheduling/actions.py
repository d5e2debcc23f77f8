"""Scheduling's bot actions. PLACEHOLDER until the scheduling issue lands: offering
slots records that a qualified visitor wants to book and tells them what happens next."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionOfferSlots(Action):
    def name(self) -> str:
        return "action_offer_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_booking_placeholder")
        return [SlotSet("booking_requested", True)]
