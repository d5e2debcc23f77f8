"""Trigram indexes on the lead's email and company, for the conversation list's search (issue 14).

The search matches each word in message text, lead email or company with icontains, which Django
compiles to UPPER(column) LIKE UPPER(%s); message text has had its index since chatbot 0004. Without
these two, every search read all the leads (a second at 700,000). PostgreSQL only (pg_trgm); the
embedded SQLite default scans, which is fine at its size.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS lead_email_upper_trgm ON qualification_lead USING gin (upper(email) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS lead_company_upper_trgm ON qualification_lead USING gin (upper(company_name) gin_trgm_ops);
"""
DROP = """
DROP INDEX IF EXISTS lead_email_upper_trgm;
DROP INDEX IF EXISTS lead_company_upper_trgm;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_daily_rollups"),
        ("qualification", "0007_authority_contributor"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
