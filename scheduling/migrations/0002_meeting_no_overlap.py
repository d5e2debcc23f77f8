"""No two live meetings of one rep overlap, enforced by PostgreSQL itself.

An exclusion constraint over tstzrange(start, end) per rep, ignoring cancelled
meetings. PostgreSQL only (btree_gist lets the rep id share the GiST index); the
embedded SQLite default serialises writers and relies on the booking service's
overlap check under its lock.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduling_meeting ADD CONSTRAINT meeting_no_overlap_per_rep
    EXCLUDE USING gist (rep_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status <> 'cancelled');
"""
DROP = "ALTER TABLE scheduling_meeting DROP CONSTRAINT IF EXISTS meeting_no_overlap_per_rep;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
