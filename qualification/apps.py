from django.apps import AppConfig

from chatbot.action_registry import actions_register


class QualificationConfig(AppConfig):
    name = "qualification"
    verbose_name = "Qualification"

    def ready(self) -> None:
        actions_register("qualification.actions")  # served by chatbot's action endpoint
