from django.apps import AppConfig

from chatbot.action_registry import actions_register


class ChatbotConfig(AppConfig):
    name = "chatbot"
    verbose_name = "Chat"

    def ready(self) -> None:
        actions_register("chatbot.actions")  # served by chatbot's action endpoint
