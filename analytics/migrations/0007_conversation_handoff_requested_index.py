"""The dashboard's live-handoff figures read the conversations of the range that asked for a person.

Few do, but without an index on just those the query read every conversation of the range (0.15 s
for 90 days at a million conversations). Partial, so it holds only the requests.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS conversation_handoff_requested_started "
    "ON chatbot_conversation (started_at) WHERE handoff_requested_at IS NOT NULL"
)
DROP = "DROP INDEX IF EXISTS conversation_handoff_requested_started"


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_meeting_and_fallback_text_rollups"),
        ("chatbot", "0015_site_offer_person_button"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
