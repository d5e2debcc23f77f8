"""The chat's own admin: sites (embed keys, allowed origins, daily caps).

The pages marketing and sales read (conversations with their transcripts, visitors, messages)
are in `analytics.admin.conversations`: they need who-may-see-what (`access`), meetings and
leads, which sit above this app, and `chatbot` imports none of the apps built on it.
"""

from django.contrib import admin
from django.db.models import Count, Q

from chatbot.models import Site
from chatbot.selectors import site_conversations_today, utc_day_start


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "embed_key", "is_active", "conversations_today", "daily_conversation_limit", "created_at")
    readonly_fields = ("embed_key", "conversations_today", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request):
        started_today = Q(conversations__started_at__gte=utc_day_start())
        return super().get_queryset(request).annotate(started_today=Count("conversations", filter=started_today))

    @admin.display(description="new conversations today (UTC)", ordering="started_today")
    def conversations_today(self, obj):
        today = obj.started_today if hasattr(obj, "started_today") else site_conversations_today(site=obj)
        if not obj.daily_conversation_limit:
            return f"{today} (no daily cap)"
        return f"{today} of {obj.daily_conversation_limit}"
