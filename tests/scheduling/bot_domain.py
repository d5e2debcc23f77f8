"""The bot's domain as Rasa hands it to an action (its responses), and a message as the visitor reads it.

`visible_text` words a message the way the bot's NLG does on its first choice: the first variation
whose {variables} all have a value. It fails when no variation can be filled, which is what a
visitor would otherwise see as a dropped message or a raw "{x}".
"""

import re
from functools import cache
from pathlib import Path

import yaml

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "chatbot" / "bot" / "domain"
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


@cache
def domain_file(name: str) -> dict:
    return yaml.safe_load((DOMAIN_DIR / name).read_text())


def bot_domain() -> dict:
    """The merged domain's responses, as the action server receives them."""
    responses: dict = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        responses.update(domain_file(path.name).get("responses") or {})
    return {"responses": responses}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def visible_text(message: dict, domain: dict | None = None) -> str:
    """The text of a dispatcher message `{"response": ..., **variables}` on the visitor's screen."""
    variations = (domain or bot_domain())["responses"][message["response"]]
    values = {k: v for k, v in message.items() if v not in (None, "", [])}
    for variation in variations:
        if placeholders(variation["text"]) <= values.keys():
            return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), variation["text"])
    raise AssertionError(f"no variation of {message['response']} can be filled from {sorted(values)}")
