from django.apps import AppConfig

from chatbot.action_registry import actions_register


class ChatbotConfig(AppConfig):
    name = "chatbot"
    verbose_name = "Chat"

    def ready(self) -> None:
        from chatbot import live
        from chatbot.tasks import on_rasa_server_back

        actions_register("chatbot.actions")  # served by chatbot's action endpoint
        live.rasa_server_back.connect(on_rasa_server_back, dispatch_uid="chatbot.rasa_server_back")
