"""A trigram index on message text, so admin search (icontains) does not read every message.

PostgreSQL only (pg_trgm); the embedded SQLite default scans, which is fine at its size.
Django's icontains compiles to UPPER(text) LIKE UPPER(%s), hence the index on upper(text).
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS message_text_upper_trgm ON chatbot_message USING gin (upper(text) gin_trgm_ops);
"""
DROP = "DROP INDEX IF EXISTS message_text_upper_trgm;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("chatbot", "0003_message_analytics_index")]

    operations = [migrations.RunPython(forwards, backwards)]
