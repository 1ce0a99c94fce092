"""The "Editors" group: staff who curate papers and editions and look after subscribers, and nothing else.

Give a staff user this group (not superuser) to let them run Paperboy from /admin/. No permission on users,
groups, tokens or settings; suppressions are added and seen as hashes, never removed.
"""

from django.db import migrations

GROUP = "Editors"
# app label -> model -> the actions editors may take on it.
PERMISSIONS = {
    "papers": {
        "paper": ("view", "change"),  # edit, feature, hide, merge
        "dump": ("view", "add", "change"),  # upload; re-ingest a failed one
        "listing": ("view", "change"),
    },
    "newsletter": {
        "edition": ("view", "change"),  # order, picks, approve / hold, previews
        "editionpaper": ("view", "change"),
        "subscriber": ("view", "change", "delete"),  # resend, suppress, export; delete: erase on request
        "delivery": ("view",),
        "suppression": ("view", "add"),
    },
}


def editors_group_create(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are made after all migrations (post_migrate): on a fresh database make them now.
    for app_config in apps.get_app_configs():
        previous = getattr(app_config, "models_module", None)  # historical apps' configs have none
        app_config.models_module = previous or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            permissions = Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
            group.permissions.add(*permissions)


def editors_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_initial"),
        ("papers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(editors_group_create, editors_group_delete)]
