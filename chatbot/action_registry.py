"""Which modules hold the bot's custom actions: each app names its own.

`chatbot` serves every custom action at one endpoint (`chatbot/action_server.py`) but imports
none of the apps built on it, so it cannot list their actions itself. Instead each app that has
actions registers its module from its ``AppConfig.ready()``::

    actions_register("scheduling.actions")

and the endpoint imports what was registered the first time it builds its executor. Only an
installed app's ``ready()`` runs, so an app left out of INSTALLED_APPS brings no actions.
"""

_modules: list[str] = []


def actions_register(module: str) -> None:
    """Add a module whose rasa_sdk ``Action`` classes the endpoint serves (idempotent)."""
    if module not in _modules:
        _modules.append(module)


def action_modules() -> tuple[str, ...]:
    """The registered action modules, in the order the apps registered them."""
    return tuple(_modules)
