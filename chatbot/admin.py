from django.contrib import admin

from chatbot.models import Conversation, Message, Site, Visitor


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "embed_key", "is_active", "created_at")
    readonly_fields = ("embed_key", "created_at")
    search_fields = ("name",)


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ("token", "site", "first_seen", "last_seen")
    list_filter = ("site",)
    readonly_fields = ("site", "token", "first_seen", "last_seen")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "sender", "text", "intent", "confidence", "delivery")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("public_id", "site", "started_at", "last_activity_at", "status", "timezone", "handoff_requested")
    list_filter = ("site", "status", "handoff_requested", "started_at")
    search_fields = ("public_id", "messages__text")
    readonly_fields = (
        "public_id",
        "site",
        "visitor",
        "started_at",
        "last_activity_at",
        "page_url",
        "referrer",
        "utm",
        "timezone",
    )
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "sender", "text", "intent", "confidence", "delivery")
    list_filter = ("sender", "delivery", "intent")
    search_fields = ("text",)
    readonly_fields = (
        "conversation",
        "sender",
        "text",
        "buttons",
        "client_id",
        "intent",
        "confidence",
        "delivery",
        "created_at",
    )
