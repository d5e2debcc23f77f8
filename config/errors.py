"""The one application error base: every app raises subclasses with a stable code."""


class ApplicationError(Exception):
    def __init__(self, code: str, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}
