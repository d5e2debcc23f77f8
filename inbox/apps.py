from django.apps import AppConfig

from chatbot.action_registry import actions_register


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Rep inbox"

    def ready(self) -> None:
        from chatbot import live
        from inbox.notify import talk_now_offered
        from inbox.receivers import on_handoff_requested, on_handoff_requested_again
        from scheduling import live as scheduling_live

        actions_register("inbox.actions")  # served by chatbot's action endpoint
        # scheduling offers "Talk now" beside the times; who is in the inbox is known here.
        scheduling_live.talk_now_check_register(talk_now_offered)

        # chatbot names no app built on it: it sends the signal, the inbox listens.
        live.handoff_requested.connect(on_handoff_requested, dispatch_uid="inbox.handoff_requested")
        live.handoff_requested_again.connect(on_handoff_requested_again, dispatch_uid="inbox.handoff_requested_again")
