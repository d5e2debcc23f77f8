"""Analytics in admin: marketing's reports, and the conversation review pages (registered on import)."""

from analytics.admin import conversations, reports  # noqa: F401
