"""CSV export for any ModelAdmin: exactly the changelist's columns and the rows its filters show.

Use it by mixing it in first::

    class LeadAdmin(CSVExportMixin, admin.ModelAdmin): ...

That adds

- an "Export CSV" button on the changelist: every row matching the current filters, search
  and ordering (all pages), with the ``list_display`` columns as shown;
- an admin action "Export selected as CSV" for ticked rows.

Rows are streamed, read in chunks with the changelist's own queryset (so its
``select_related`` and annotations apply: no query per row).

Every CSV the product writes goes through ``csv_response``, which makes each cell inert for a
spreadsheet (``csv_safe``): visitors control UTM tags, referrers, landing pages, names, companies
and message text, and a cell such as ``=HYPERLINK(...)`` must never run as a formula when
marketing opens the file (OWASP "CSV injection").
"""

import csv
import datetime as dt
import re

from django.contrib.admin.utils import display_for_field, display_for_value, label_for_field, lookup_field
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import capfirst

CSV_CHUNK_SIZE = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


# What makes a spreadsheet read a cell as a formula (OWASP): = + - @, a tab or a carriage return first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Left as they are: a negative number (a lead's score may be below zero) and the lone "-" the admin
# columns write for "none". Neither can compute anything, and quoting them would turn numbers into text.
_INERT = re.compile(r"-(\d+(\.\d+)?)?", re.ASCII)


def csv_safe(value):
    """The cell as a spreadsheet may open it: text that would start a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _INERT.fullmatch(value):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """A streamed CSV download (UTF-8 with BOM so spreadsheet apps read accents correctly), every cell inert."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([csv_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_cell(value) -> str:
    """A value as text for a CSV cell: booleans as yes/no, times in UTC with the zone's name."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return strip_tags(str(value))


class CSVExportMixin:
    change_list_template = "admin/csv_export_change_list.html"
    csv_export_max_rows: int | None = None

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_view_permission(request):
            actions["export_selected_csv"] = (
                CSVExportMixin.export_selected_csv,
                "export_selected_csv",
                "Export selected as CSV",
            )
        return actions

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export-csv/", self.admin_site.admin_view(self.export_csv_view), name="{}_{}_export_csv".format(*info)
            ),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        """Every row the changelist shows for this query string (all pages)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self._csv_for(request, changelist, changelist.queryset)

    def export_selected_csv(self, request, queryset):
        changelist = self.get_changelist_instance(request)
        selected = changelist.queryset.filter(pk__in=queryset.values("pk"))
        return self._csv_for(request, changelist, selected)

    def _csv_columns(self, changelist) -> list[str]:
        return [name for name in changelist.list_display if name != "action_checkbox"]

    def _csv_for(self, request, changelist, queryset) -> StreamingHttpResponse:
        columns = self._csv_columns(changelist)
        header = [capfirst(strip_tags(str(label_for_field(name, self.model, self)))) for name in columns]
        if self.csv_export_max_rows:
            queryset = queryset[: self.csv_export_max_rows]
        empty = self.get_empty_value_display()

        def rows():
            for obj in queryset.iterator(chunk_size=CSV_CHUNK_SIZE):
                yield [self._csv_value(obj, name, empty) for name in columns]

        filename = f"{self.opts.model_name}s-{timezone.now():%Y%m%d-%H%M}.csv"
        return csv_response(filename, header, rows())

    def _csv_value(self, obj, name, empty) -> str:
        try:
            field, attr, value = lookup_field(name, obj, self)
        except (AttributeError, ObjectDoesNotExist):
            return ""
        if value is None or value == "":
            return ""  # the screen shows the empty-value dash; a CSV cell stays empty
        if field is None:
            if getattr(attr, "boolean", False) or isinstance(value, bool):
                return csv_cell(bool(value))
            if isinstance(value, dt.datetime):
                return csv_cell(value)
            return strip_tags(str(display_for_value(value, empty)))
        if isinstance(field, models.BooleanField):
            return csv_cell(value)
        if isinstance(field, models.DateTimeField):
            return csv_cell(value)
        if field.flatchoices:
            return strip_tags(str(display_for_field(value, field, empty)))
        if isinstance(field, models.ForeignKey):
            return str(value)
        return csv_cell(value)
