"""Erasure and subject access as admin actions on the conversations and leads changelists.

Mixed into ConversationAdmin and LeadAdmin. The ticked rows must belong to one person (one
email among their leads and meetings); the action then works on everything stored about that
email (privacy.selectors.subject_find), not only on the ticked rows. Offered only to users
holding privacy.erase_visitor / privacy.export_visitor (superusers hold both).
"""

import json

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from chatbot.models import Conversation
from privacy import selectors, services
from privacy.errors import PrivacyError
from privacy.models import PrivacyRecord


class PrivacyActionsMixin:
    def get_actions(self, request):
        actions = super().get_actions(request)
        if request.user.has_perm("privacy.export_visitor"):
            actions["privacy_export"] = (
                PrivacyActionsMixin.privacy_export,
                "privacy_export",
                "Export everything about this person (JSON)",
            )
        if request.user.has_perm("privacy.erase_visitor"):
            actions["privacy_erase"] = (
                PrivacyActionsMixin.privacy_erase,
                "privacy_erase",
                "Erase everything about this person…",
            )
        return actions

    def _privacy_email(self, request, queryset) -> str | None:
        """The one email behind the ticked rows, or None after telling the user why there is none."""
        field = "pk" if self.model is Conversation else "conversation_id"
        try:
            return selectors.subject_email_of_conversations(list(queryset.values_list(field, flat=True)))
        except PrivacyError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None

    def privacy_export(self, request, queryset):
        email = self._privacy_email(request, queryset)
        if email is None:
            return None
        try:
            document = services.visitor_export(email=email, actor=request.user, via=PrivacyRecord.Via.ADMIN)
        except PrivacyError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        response = HttpResponse(
            json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="personal-data-{timezone.now():%Y%m%d-%H%M%S}.json"'
        return response

    def privacy_erase(self, request, queryset):
        """Show what would be erased; erase only on confirmation."""
        email = self._privacy_email(request, queryset)
        if email is None:
            return None
        if request.POST.get("confirm") == "yes":
            try:
                record = services.visitor_erase(email=email, actor=request.user, via=PrivacyRecord.Via.ADMIN)
            except PrivacyError as error:
                self.message_user(request, error.message, messages.ERROR)
                return None
            counts = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in record.summary.items())
            self.message_user(
                request,
                f"Erased everything about {email}: {counts}. Logged as privacy record {record.pk}.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(request.get_full_path())
        subject = selectors.subject_find(email=email)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Erase everything about {email}?",
            "opts": self.model._meta,
            "email": email,
            "counts": selectors.subject_counts(subject),
            "queryset": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/privacy/erase_confirmation.html", context)
