"""The dashboard and "what the bot didn't understand" pages, inside admin (same login, same look)."""

import datetime as dt
from contextlib import contextmanager

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from access.selectors import may_view_reports
from analytics import not_understood, selectors, snapshots, tables
from analytics.models import Dashboard, NotUnderstood
from chatbot.models import Site
from config.csv_export import csv_response

DEFAULT_DAYS = 30


class ScopeForm(forms.Form):
    start = forms.DateField(label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (UTC, inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    site = forms.ModelChoiceField(queryset=Site.objects.order_by("name"), required=False, empty_label="All sites")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


def scope_from_request(request) -> tuple[ScopeForm, selectors.Scope]:
    today = timezone.now().astimezone(dt.timezone.utc).date()
    initial = {"start": today - dt.timedelta(days=DEFAULT_DAYS - 1), "end": today}
    form = ScopeForm({**{k: v.isoformat() for k, v in initial.items()}, **request.GET.dict()})
    if form.is_valid():
        site = form.cleaned_data["site"]
        return form, selectors.Scope(form.cleaned_data["start"], form.cleaned_data["end"], site.pk if site else None)
    return form, selectors.Scope(initial["start"], initial["end"])


@contextmanager
def report_transaction():
    """Settings for the report queries, for this transaction only (PostgreSQL).

    JIT compiling costs more than it saves on these sub-second queries; a larger work_mem
    keeps the groupings of a 90-day range in memory instead of spilling sorts to disk.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
        yield


class ReportAdmin(admin.ModelAdmin):
    """A read-only page guarded by access.selectors.may_view_reports instead of a model's own permissions.

    That is analytics.view_dashboard held by someone who sees every conversation: the figures add up
    all reps' visitors, so a Sales user never reaches them, even if given the permission.
    """

    def has_view_permission(self, request, obj=None):
        return may_view_reports(user=request.user)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_model_perms(self, request):
        return {"view": self.has_view_permission(request)}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name="{}_{}_changelist".format(*info))]

    def report_scope(self, request) -> tuple[ScopeForm, selectors.Scope]:
        """The dates and site the page reports on; PermissionDenied for a user who may not see reports."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return scope_from_request(request)

    def page_context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            **extra,
        }


@admin.register(Dashboard)
class DashboardAdmin(ReportAdmin):
    def changelist_view(self, request, extra_context=None):
        form, scope = self.report_scope(request)
        with report_transaction():
            snapshot = snapshots.dashboard_snapshot(
                scope, snapshot_id=request.GET.get("snapshot", ""), fresh=bool(request.GET.get("fresh"))
            )
        data = snapshot.data
        all_tables = tables.dashboard_tables(data)
        export = request.GET.get("export")
        if export:
            table = next((t for t in all_tables if t.key == export), None)
            if table is None:
                return HttpResponse("Unknown table.", status=404, content_type="text/plain")
            return csv_response(f"{table.key}-{scope.start}-{scope.end}.csv", table.header, table.rows)
        query = request.GET.copy()
        for name in ("export", "snapshot", "fresh"):
            query.pop(name, None)
        charts = {
            "funnel": {"labels": [r["label"] for r in data["funnel"]], "counts": [r["count"] for r in data["funnel"]]},
            "fallback": {
                "labels": [r["day"].isoformat() for r in data["fallback_days"]],
                "rates": [r["fallback_rate"] for r in data["fallback_days"]],
            },
            "dropoff": {
                "labels": [r["question"] for r in data["drop_off"]],
                "answered": [r["answered"] for r in data["drop_off"]],
                "left": [r["left"] for r in data["drop_off"]],
            },
        }
        context = self.page_context(
            request,
            title="Marketing dashboard",
            form=form,
            scope=scope,
            tables=all_tables,
            median=selectors.format_duration(data["median_seconds"]),
            median_supported=data["median_supported"],
            handoffs=data.get("handoffs"),  # (a snapshot computed before the figure existed has none)
            handoff_median=selectors.format_duration((data.get("handoffs") or {}).get("median_wait_seconds")),
            charts=charts,
            query=query.urlencode(),
            snapshot=snapshot,
            export_query=f"{query.urlencode()}&snapshot={snapshot.id}" if query else f"snapshot={snapshot.id}",
            max_age=int(snapshots.max_age_seconds()),
        )
        return TemplateResponse(request, "admin/analytics/dashboard.html", context)


@admin.register(NotUnderstood)
class NotUnderstoodAdmin(ReportAdmin):
    def changelist_view(self, request, extra_context=None):
        form, scope = self.report_scope(request)
        with report_transaction():
            groups = not_understood.fallback_groups(scope)
        export = request.GET.get("export")
        if export == "yaml":
            response = HttpResponse(not_understood.nlu_yaml(groups), content_type="application/x-yaml; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="not-understood-{scope.start}-{scope.end}.yml"'
            return response
        table = tables.not_understood_table(groups)
        if export == "csv":
            return csv_response(f"not-understood-{scope.start}-{scope.end}.csv", table.header, table.rows)
        query = request.GET.copy()
        query.pop("export", None)
        context = self.page_context(
            request,
            title="What the bot didn't understand",
            form=form,
            scope=scope,
            groups=groups,
            table=table,
            query=query.urlencode(),
            stop_words=", ".join(sorted(not_understood.STOP_WORDS)),
        )
        return TemplateResponse(request, "admin/analytics/not_understood.html", context)
