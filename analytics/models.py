"""Admin entry points for the analytics pages; no tables of their own.

The dashboard reads conversations, leads, meetings and slot offers. These two
unmanaged models exist only so the pages appear on the admin index and carry the
``analytics.view_dashboard`` permission that the Marketing group holds.
"""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the marketing dashboard")]
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"

    def __str__(self) -> str:
        return "Dashboard"


class NotUnderstood(models.Model):
    """Visitor messages the bot did not understand (nlu_fallback / out_of_scope), grouped."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "what the bot didn't understand"
        verbose_name_plural = "what the bot didn't understand"

    def __str__(self) -> str:
        return "What the bot didn't understand"
