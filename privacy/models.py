"""The privacy log: who erased or exported whose data, and when, without the data itself."""

from django.conf import settings
from django.db import models


class PrivacyRecord(models.Model):
    """One erasure or subject-access export.

    The person is recorded as a keyed hash of their email (privacy.selectors.email_hash), so the
    log can answer "was this address erased, by whom, when?" for someone who knows the address,
    and keeps nothing an erasure removed. The summary holds counts only.
    """

    class Kind(models.TextChoices):
        ERASURE = "erasure", "Erasure"
        ACCESS = "access", "Subject access export"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin action"
        COMMAND = "command", "Management command"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    email_hash = models.CharField(max_length=64, db_index=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The username as it was: the record outlives a deleted or renamed user account.
    performed_by_name = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    performed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # {"visitors": 1, "conversations": 2, "messages": 14, "leads": 1, "meetings": 1, "meetings_cancelled": 1,
    #  "tracker_events": 40}
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-performed_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("erase_visitor", "Can erase everything stored about a visitor"),
            ("export_visitor", "Can export everything stored about a visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.performed_by_name or 'system'} at {self.performed_at:%Y-%m-%d %H:%M} UTC"
