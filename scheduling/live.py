"""Whether a visitor could talk with someone of their routed pool right now: "Talk now" beside offered times.

Scheduling routes the lead, but who has the reps' inbox open is known to the inbox app, which is built
on scheduling: it registers its check here from ``InboxConfig.ready()``, the way each app registers its
bot actions with chatbot (chatbot/action_registry.py). Without the inbox app, "Talk now" is never offered.
"""

from collections.abc import Callable

from chatbot.models import Conversation

_checks: list[Callable[[Conversation], bool]] = []


def talk_now_check_register(check: Callable[[Conversation], bool]) -> None:
    """Set the check (idempotent: registering the same function again changes nothing)."""
    if check not in _checks:
        _checks.append(check)


def talk_now_available(*, conversation: Conversation | None) -> bool:
    return conversation is not None and any(check(conversation) for check in _checks)
