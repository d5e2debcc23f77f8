from django.db import migrations

from access.groups import groups_sync, noop


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chatbot", "0001_initial"),
        ("qualification", "0002_lead_visitor_type"),
        ("scheduling", "0002_meeting_no_overlap"),
    ]

    operations = [migrations.RunPython(groups_sync, noop)]
