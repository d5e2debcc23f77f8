"""The Marketing and Sales groups and their permissions, as data migrations apply them.

Kept here (no imports of app code) so every data migration can call it with its
historical ``apps``; a permission whose model does not exist yet is skipped, and
a later migration calls ``groups_sync`` again once it does.
"""

MARKETING = "Marketing"
SALES = "Sales"

GROUP_PERMISSIONS = {
    # Marketing reads everything the funnel is made of and tunes who counts as qualified;
    # it cannot change reps, routing or sites.
    MARKETING: [
        ("analytics", "view_dashboard"),
        ("chatbot", "view_site"),
        ("chatbot", "view_visitor"),
        ("chatbot", "view_conversation"),
        ("chatbot", "view_message"),
        ("qualification", "view_lead"),
        ("qualification", "view_qualificationrule"),
        ("qualification", "add_qualificationrule"),
        ("qualification", "change_qualificationrule"),
        ("qualification", "delete_qualificationrule"),
        # The thresholds that turn a score into qualified / nurture (qualification's ScoringPolicy).
        ("qualification", "view_scoringpolicy"),
        ("qualification", "change_scoringpolicy"),
        ("scheduling", "view_salesrep"),
        ("scheduling", "view_meeting"),
        ("scheduling", "view_slotoffer"),
    ],
    # Sales sees its meetings with the conversation behind each; which rows (only their own
    # rep's) is decided by access.selectors, not by these permissions.
    SALES: [
        ("chatbot", "view_conversation"),
        ("chatbot", "view_message"),
        ("qualification", "view_lead"),
        ("scheduling", "view_meeting"),
        ("scheduling", "change_meeting"),
    ],
}


def groups_sync(apps, schema_editor=None) -> None:
    """Create the groups and grant every listed permission that exists (idempotent)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create them now so the
    # groups can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)


def noop(apps, schema_editor) -> None:
    """Reversing leaves the groups: an admin may have put users in them."""
