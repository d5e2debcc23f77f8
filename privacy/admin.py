"""The privacy log in admin (superusers only): who erased or exported whose data, and when."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from privacy.errors import PrivacyError
from privacy.models import PrivacyRecord
from privacy.selectors import email_hashes


@admin.register(PrivacyRecord)
class PrivacyRecordAdmin(admin.ModelAdmin):
    list_display = ("performed_at", "kind", "performed_by_name", "via", "what")
    list_filter = ("kind", "via")
    search_fields = ("email_hash",)
    search_help_text = "Type an email address: records about it are found by its hash (the address is not stored)."
    fields = ("kind", "performed_at", "performed_by", "performed_by_name", "via", "email_hash", "summary")
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False  # records are written by the erasure and export services only

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log is evidence

    @admin.display(description="what")
    def what(self, record: PrivacyRecord) -> str:
        return ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in record.summary.items())

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            hashes = email_hashes(term)
        except (PrivacyError, ValidationError):
            return queryset.none(), False
        return queryset.filter(email_hash__in=hashes), False
