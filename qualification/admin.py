"""Marketing's and sales' view of leads and the rules that score them.

Leads are read-mostly: their facts come from the conversation, so every field is read-only here.
A lead is re-scored only through the explicit "Re-score with current rules" action, which shows
what would change and asks for confirmation; editing rules never touches recorded decisions.
"""

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from access.admin import VisibleRowsAdminMixin
from access.selectors import visible_leads
from config.csv_export import CSVExportMixin
from privacy.admin_actions import PrivacyActionsMixin
from qualification.fact_fields import FACT_FIELDS
from qualification.models import (
    Lead,
    LeadDecision,
    QualificationRule,
    RuleSetVersion,
    ScoringPolicy,
)
from qualification.rules import condition_help
from qualification.scoring import lead_decide, reason_label, rule_set_current, score_with


def shown_time(value: datetime | None) -> str:
    """A stored (UTC) time in the reader's active zone, written with the zone's name."""
    if value is None:
        return "-"
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}"


def reasons_html(reasons: list[dict]) -> str:
    if not reasons:
        return "No rule matched."
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((reason_label(r),) for r in reasons)))


def rule_set_version_link(version: str) -> str:
    if not version:
        return "-"
    snapshot = RuleSetVersion.objects.filter(version=version).first()
    if snapshot is None:
        return version
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:qualification_rulesetversion_change", args=[snapshot.pk]), version
    )


class LeadDecisionInline(admin.TabularInline):
    model = LeadDecision
    fields = ("decided", "outcome", "score", "reasons_list", "rule_set_version_link", "trigger")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Decision history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Decided at")
    def decided(self, decision: LeadDecision) -> str:
        return shown_time(decision.decided_at)

    @admin.display(description="Reasons")
    def reasons_list(self, decision: LeadDecision) -> str:
        return reasons_html(decision.reasons)

    @admin.display(description="Rule set version")
    def rule_set_version_link(self, decision: LeadDecision) -> str:
        return rule_set_version_link(decision.rule_set_version)


@admin.register(Lead)
class LeadAdmin(PrivacyActionsMixin, CSVExportMixin, VisibleRowsAdminMixin, admin.ModelAdmin):
    visible_rows = staticmethod(visible_leads)
    list_display = (
        "company",
        "email",
        "company_size",
        "authority",
        "buying_stage",
        "score",
        "outcome",
        "decided",
    )
    list_filter = ("outcome", "buying_stage", "authority", "visitor_type", "rule_set_version")
    search_fields = ("company_name", "email", "name", "need_text")
    date_hierarchy = "created_at"
    list_select_related = ("conversation",)
    actions = ("rescore_with_current_rules",)
    inlines = (LeadDecisionInline,)
    fieldsets = (
        (
            "Decision",
            {"fields": ("outcome", "score", "reasons_list", "rule_set_version_link", "decided", "transcript")},
        ),
        ("Facts from the conversation", {"fields": ("facts_table",)}),
        ("Consent", {"fields": ("consent_email_followup", "consent_marketing")}),
        ("Record", {"classes": ("collapse",), "fields": ("conversation", "raw", "created", "updated")}),
    )
    readonly_fields = (
        "outcome",
        "score",
        "reasons_list",
        "rule_set_version_link",
        "decided",
        "transcript",
        "facts_table",
        "consent_email_followup",
        "consent_marketing",
        "conversation",
        "raw",
        "created",
        "updated",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a lead exists because a conversation happened

    def change_view(self, request, object_id, form_url="", extra_context=None):
        read_only = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**read_only, **(extra_context or {})})

    @admin.display(description="Company", ordering="company_name")
    def company(self, lead: Lead) -> str:
        return lead.company_name or "-"

    @admin.display(description="Decided at", ordering="decided_at")
    def decided(self, lead: Lead) -> str:
        return shown_time(lead.decided_at)

    @admin.display(description="Created at", ordering="created_at")
    def created(self, lead: Lead) -> str:
        return shown_time(lead.created_at)

    @admin.display(description="Updated at", ordering="updated_at")
    def updated(self, lead: Lead) -> str:
        return shown_time(lead.updated_at)

    @admin.display(description="Reasons")
    def reasons_list(self, lead: Lead) -> str:
        return reasons_html(lead.reasons)

    @admin.display(description="Rule set version")
    def rule_set_version_link(self, lead: Lead) -> str:
        return rule_set_version_link(lead.rule_set_version)

    @admin.display(description="Transcript")
    def transcript(self, lead: Lead) -> str:
        url = reverse("admin:chatbot_conversation_change", args=[lead.conversation_id])
        return format_html('<a href="{}">Conversation transcript</a>', url)

    @admin.display(description="Facts (value, and what the visitor typed)")
    def facts_table(self, lead: Lead) -> str:
        rows = []
        for name in FACT_FIELDS:
            field = Lead._meta.get_field(name)
            value = getattr(lead, name)
            shown = getattr(lead, f"get_{name}_display")() if field.choices else value
            rows.append(
                (field.verbose_name.capitalize(), "-" if value in (None, "") else shown, lead.raw.get(name, ""))
            )
        return format_html(
            "<table><thead><tr><th>Fact</th><th>Value</th><th>Visitor's words</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.action(description="Re-score with current rules", permissions=["change"])
    def rescore_with_current_rules(self, request: HttpRequest, queryset: QuerySet[Lead]):
        """Show each lead's recorded decision next to what the current rules say; decide only on confirm.

        The confirmation carries the previewed rule-set version: if marketing changed the rules in
        between, nothing is decided and the new preview is shown instead.
        """
        rule_set = rule_set_current()
        if request.POST.get("confirm") == "yes":
            if request.POST.get("version") == rule_set.version:
                changed = 0
                for lead in queryset:
                    before = lead.outcome
                    lead = lead_decide(lead=lead, trigger=f"admin re-score by {request.user}")
                    changed += lead.outcome != before
                self.message_user(
                    request,
                    f"Re-scored {queryset.count()} lead(s) with rule set {rule_set.version}; "
                    f"{changed} changed outcome. Earlier decisions stay in each lead's decision history.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(request.get_full_path())
            self.message_user(
                request,
                "The rules changed since the preview, so nothing was re-scored. Check the new preview and confirm again.",
                messages.WARNING,
            )
        previews = [(lead, score_with(lead=lead, rule_set=rule_set)) for lead in queryset]
        context = {
            **self.admin_site.each_context(request),
            "title": "Re-score leads with the current rules?",
            "opts": self.model._meta,
            "previews": previews,
            "queryset": queryset,
            "version": rule_set.version,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/qualification/lead/rescore_confirmation.html", context)


@admin.register(QualificationRule)
class QualificationRuleAdmin(admin.ModelAdmin):
    list_display = ("reason_text", "order", "field", "operator", "value", "effect", "points", "active")
    list_display_links = ("reason_text",)
    list_editable = ("order", "points", "active")
    list_filter = ("active", "effect", "field")
    search_fields = ("reason_text", "value")
    ordering = ("order", "id")

    def get_fieldsets(self, request, obj=None):
        return (
            (None, {"fields": ("field", "operator", "value"), "description": condition_help()}),
            (None, {"fields": ("effect", "points", "reason_text", "active", "order")}),
        )

    def changelist_view(self, request, extra_context=None):
        rule_set = rule_set_current()
        title = (
            f"Qualification rules: current rule set version {rule_set.version}, "
            f"qualifies at {rule_set.qualify_at} points"
        )
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


@admin.register(ScoringPolicy)
class ScoringPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "qualify_at", "updated")
    fields = ("qualify_at", "outcome_rules", "updated")
    readonly_fields = ("outcome_rules", "updated")

    @admin.display(description="Updated at", ordering="updated_at")
    def updated(self, policy: ScoringPolicy) -> str:
        return shown_time(policy.updated_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ScoringPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="How a lead is decided")
    def outcome_rules(self, policy: ScoringPolicy) -> str:
        return (
            "Any knockout rule → disqualified; otherwise any nurture rule → nurture; otherwise "
            "points ≥ the threshold → qualified (exactly at the threshold qualifies); otherwise nurture."
        )


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "qualify_at", "rule_count", "created")
    search_fields = ("version",)
    fields = ("version", "qualify_at", "created", "leads", "rules_table")
    readonly_fields = fields

    @admin.display(description="Leads")
    def leads(self, snapshot: RuleSetVersion) -> str:
        url = reverse("admin:qualification_lead_changelist") + "?" + urlencode({"rule_set_version": snapshot.version})
        count = Lead.objects.filter(rule_set_version=snapshot.version).count()
        return format_html('<a href="{}">{} lead(s) currently decided with this version</a>', url, count)

    @admin.display(description="Created at", ordering="created_at")
    def created(self, snapshot: RuleSetVersion) -> str:
        return shown_time(snapshot.created_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a snapshot is evidence: never edited

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Rules")
    def rule_count(self, snapshot: RuleSetVersion) -> int:
        return len(snapshot.rules)

    @admin.display(description="Rules in this version (in order)")
    def rules_table(self, snapshot: RuleSetVersion) -> str:
        operators = dict(QualificationRule.Operator.choices)
        effects = dict(QualificationRule.Effect.choices)
        rows = [
            (
                rule["reason_text"],
                rule["field"],
                operators.get(rule["operator"], rule["operator"]),
                rule["value"],
                effects.get(rule["effect"], rule["effect"]),
                rule["points"],
            )
            for rule in snapshot.rules
        ]
        return format_html(
            "<table><thead><tr><th>Reason</th><th>Field</th><th>Operator</th><th>Value</th><th>Effect</th>"
            "<th>Points</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )
