"""Every text a visitor reads lives in the bot's domain, worded at least two ways.

Python chooses responses by name; the NLG (chatbot/rasa_plugins/nlg.py) never repeats the
previous message word for word, which it can only do when a response has a second wording.
"""

import re
from pathlib import Path

import pytest
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


def test_every_widget_error_has_its_own_text_in_the_template_unescaped():
    """The widget's error and notice texts are a template (templates/chatbot/error_message.txt), not Python;
    the template's branches are the list of codes, and every code the code raises is one of them."""
    from chatbot.errors import codes, error_text

    texts = {code: error_text(code, limit=500, name="Ana") for code in codes()}
    assert len(texts) >= 25 and all(texts.values()), texts
    assert len(set(texts.values())) == len(texts)  # one text per code
    assert "500 characters" in texts["text_too_long"]
    assert "can't" in texts["bot_unavailable"]  # shown as text: no HTML escaping
    with pytest.raises(KeyError):
        error_text("no_such_code")
    used = set()
    apps = ("chatbot", "qualification", "scheduling", "inbox", "analytics", "privacy", "access", "config")
    for module in (m for app in apps for m in (ROOT / app).rglob("*.py")):
        source = module.read_text()
        used |= set(re.findall(r'(?:ChatError|error_text)\("(\w+)"', source))
        used |= set(re.findall(r'notice\([^)]*?"(\w+)"', source)) if module.name == "turns.py" else set()
        assert not any(text in source for text in texts.values()), module
    assert used and used <= set(texts), used - set(texts)
