"""Error codes of the widget protocol; the text the visitor sees for each is a template."""

import functools
import re

from django.template.loader import get_template, render_to_string

from config.errors import ApplicationError

TEMPLATE = "chatbot/error_message.txt"


@functools.cache
def codes() -> frozenset[str]:
    """The error codes: the ones the template has a text for (its ``code == "..."`` branches), so the
    template is the one list of them."""
    return frozenset(re.findall(r'code == "(\w+)"', get_template(TEMPLATE).template.source))


def error_text(code: str, **params: object) -> str:
    """The text the visitor reads for an error code (or a notice such as ``bot_unavailable``)."""
    if code not in codes():
        raise KeyError(code)
    return render_to_string(TEMPLATE, {"code": code, **params}).strip()


class ChatError(ApplicationError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, error_text(code, **params), extra=dict(params))
