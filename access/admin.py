"""What an admin needs to show only the rows ``access.selectors`` allows."""

from django.contrib import admin
from django.db.models import Exists, Q
from django.http import Http404

from access.selectors import visible_reps


class VisibleRowsAdminMixin:
    """A ModelAdmin whose rows come from one ``access.selectors`` function.

    Set ``visible_rows = staticmethod(visible_conversations)`` (or another selector). Its list,
    search, date hierarchy, value filters, exports and actions all start from ``get_queryset``,
    so they are narrowed together. A detail, history or delete URL of a row outside it is a 404,
    exactly as for a row that does not exist, so a URL tells nothing about other reps' rows
    (Django's default is a redirect to the admin index).
    """

    visible_rows = None

    def get_queryset(self, request):
        return self.visible_rows(user=request.user, queryset=super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id that you may see.")
        return obj


class VisibleRepListFilter(admin.SimpleListFilter):
    """A "rep" list filter that offers only the reps the user may see (a Sales user: their own name).

    Subclasses say how a rep narrows their rows (``rep_filter``).
    """

    title = "rep"
    parameter_name = "rep"

    def lookups(self, request, model_admin):
        return [(str(rep.pk), rep.name) for rep in visible_reps(user=request.user).order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(self.rep_filter(self.value())) if self.value() else queryset

    def rep_filter(self, rep_id: str) -> Q | Exists:
        raise NotImplementedError
