"""Every text a visitor reads lives in the bot's domain, worded at least two ways.

Python chooses responses by name; the NLG (chatbot/rasa_plugins/nlg.py) never repeats the
previous message word for word, which it can only do when a response has a second wording.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DOMAIN = ROOT / "chatbot/bot/domain"
ACTION_MODULES = sorted(ROOT.glob("*/actions.py"))
RESPONSE_NAME = re.compile(r"""["'](utter_[a-z0-9_]+)["']""")
NOT_A_RESPONSE = {"utter_action"}  # the key Rasa stores a message's response name under


def responses() -> dict:
    found: dict = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        found.update((yaml.safe_load(path.read_text()) or {}).get("responses") or {})
    return found


def test_every_response_has_at_least_two_wordings():
    single = [name for name, variations in responses().items() if len({v.get("text") for v in variations}) < 2]

    assert single == []


def test_every_response_an_action_names_exists_in_the_domain():
    known = responses()
    named = {name for module in ACTION_MODULES for name in RESPONSE_NAME.findall(module.read_text())}
    # names built from a slot or field, e.g. f"utter_why_{slot}", are checked where they are built
    missing = sorted(name for name in named if name not in known.keys() | NOT_A_RESPONSE and not name.endswith("_"))

    assert named, "no action module names a response"
    assert missing == []


def test_no_bot_action_writes_text_itself():
    writers = [str(m.relative_to(ROOT)) for m in ACTION_MODULES if "utter_message(text=" in m.read_text()]

    assert writers == []
