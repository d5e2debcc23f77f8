"""Rasa's SQL tracker store, handing each turn's interpretation to our channel.

Loaded by the Rasa server (bot_endpoints writes its name into endpoints.yml),
never by Django. The leadbot channel (chatbot/rasa_plugins/channel.py) answers a turn
with its interpretation, which lives in the tracker the turn ends with. Reading
that tracker back from the database cost Rasa a query and a replay of the whole
conversation per turn, on the one thread that also runs the model (8% of its
time under load); Rasa hands this store the very tracker when the turn saves it.
"""

import json
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

# sender id -> the interpretation of its turn in progress ({} until the turn saves),
# only for turns our channel is answering.
awaited: dict[str, dict] = {}
ENTITY_KEYS = ("entity", "value", "start", "end", "extractor")


def interpretation_from_tracker(tracker: Any) -> dict:
    latest = getattr(tracker, "latest_message", None)
    parse = (latest.parse_data if latest is not None else None) or {}
    intent = parse.get("intent") or {}
    entities = [
        {key: entity.get(key) for key in ENTITY_KEYS if key in entity}
        for entity in parse.get("entities") or []
        if isinstance(entity, dict)
    ]
    requested = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
    return {
        "intent": intent.get("name") or "",
        "confidence": intent.get("confidence"),
        "entities": entities,
        "requested_slot": requested or "",
    }


class LeadbotTrackerStore(SQLTrackerStore):
    async def save(self, tracker: Any) -> None:
        await super().save(tracker)
        if tracker.sender_id in awaited:
            awaited[tracker.sender_id] = interpretation_from_tracker(tracker)

    def message_seen(self, sender_id: str, message_id: str) -> bool:
        """Has this conversation a user event with this message id? One indexed query, no replay.

        The web process names every turn (chatbot/rasa_client.py); a turn sent again after a
        timeout or a server's death must be answered from the record, not handled twice.
        """
        needle = json.dumps({"message_id": message_id})[1:-1]  # '"message_id": "…"' as the events store it
        with self.session_scope() as session:
            found = (
                session.query(self.SQLEvent.id)
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.type_name == "user",
                    self.SQLEvent.data.contains(needle, autoescape=True),
                )
                .first()
            )
        return found is not None
