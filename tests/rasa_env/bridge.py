"""Rasa's own code for tests of the web environment, run in the Rasa environment (.venv-rasa).

The web environment has no Rasa, yet some of its tests must check their work against Rasa itself:
that the "not understood" export loads as Rasa training data, and that erasure and retention
delete what Rasa's tracker store wrote (written and read back by the very store class the Rasa
server runs). Those tests start this module with .venv-rasa's Python (tests/rasa_side.py):

    python -m tests.rasa_env.bridge nlu-examples < data.yml
        prints the intent examples Rasa reads from the YAML as JSON [[intent, text], ...]
    python -m tests.rasa_env.bridge tracker-store '<the tracker_store section of endpoints.yml, as JSON>'
        builds the store as the Rasa server does from its endpoints file, then answers one JSON request
        per line of stdin with one JSON line on stdout:
        {"op": "write_turn", "sender": ..., "at": UNIX_TIME, "email": ...} -> {"ok": true}
        {"op": "has", "sender": ...} -> {"ok": true, "has": bool}
        a failed request -> {"ok": false, "error": traceback}

No Django here: this runs where Django is not installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any


def nlu_examples(text: str) -> list[list[str]]:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    return [[m.get("intent"), m.get("text")] for m in RasaYAMLReader().reads(text).intent_examples]


def tracker_store(config: dict) -> Any:
    """The store `rasa run --endpoints` builds from this section (our class, by the name in `type`)."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    store = TrackerStore.create(EndpointConfig.from_dict(dict(config)), domain=Domain.empty())
    built = f"{type(store).__module__}.{type(store).__qualname__}"
    if built != config.get("type"):  # Rasa falls back to an in-memory store when the type cannot be loaded
        raise RuntimeError(f"Rasa built {built}, not the configured {config.get('type')}")
    return store


def write_turn(store: Any, *, sender: str, at: float, email: str) -> None:
    """One turn of the bot's memory: what the visitor said and the slot it filled, stamped ``at``."""
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    said = UserUttered(
        f"my email is {email}",
        intent={"name": "inform_email", "confidence": 0.97},
        entities=[{"entity": "email", "value": email, "start": 12, "end": 12 + len(email)}],
        timestamp=at,
    )
    tracker = DialogueStateTracker.from_events(sender, [said, SlotSet("email", email, timestamp=at)])
    asyncio.run(store.save(tracker))


def serve_tracker_store(config: dict) -> None:
    store = tracker_store(config)
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    try:
        for line in sys.stdin:
            try:
                request = json.loads(line)
                if request["op"] == "write_turn":
                    write_turn(store, sender=request["sender"], at=request["at"], email=request["email"])
                    answer: dict = {"ok": True}
                elif request["op"] == "has":
                    answer = {"ok": True, "has": asyncio.run(store.retrieve(request["sender"])) is not None}
                else:
                    answer = {"ok": False, "error": f"unknown op {request['op']!r}"}
            except Exception:
                answer = {"ok": False, "error": traceback.format_exc()}
            print(json.dumps(answer), flush=True)
    finally:
        store.engine.dispose()


def main(argv: list[str]) -> None:
    if argv[:1] == ["nlu-examples"]:
        print(json.dumps(nlu_examples(sys.stdin.read())))
    elif argv[:1] == ["tracker-store"] and len(argv) == 2:
        serve_tracker_store(json.loads(argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
