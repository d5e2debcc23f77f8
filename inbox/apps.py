from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Rep inbox"

    def ready(self) -> None:
        from chatbot import live
        from inbox.receivers import on_handoff_requested

        # chatbot names no app built on it: it sends the signal, the inbox listens.
        live.handoff_requested.connect(on_handoff_requested, dispatch_uid="inbox.handoff_requested")
