from django.apps import AppConfig

from chatbot.action_registry import actions_register


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        actions_register("scheduling.actions")  # served by chatbot's action endpoint
