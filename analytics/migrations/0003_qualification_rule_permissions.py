"""Marketing may edit qualification rules and the scoring threshold now that they exist."""

from django.db import migrations

from access.groups import groups_sync, noop


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_groups"), ("qualification", "0003_scoring_rules")]

    operations = [migrations.RunPython(groups_sync, noop)]
