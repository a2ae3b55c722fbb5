"""Clone and RegionProfile now live in apps.agents: personas forgets them (state only).

Runs after every app's foreign keys point at agents.Clone; the tables stay where they are.
While this migration is unapplied and agents' is not, both apps hold the models, and
Django gives personas content types of its own again; applying it drops those (and their
permissions): agents.0001 already moved the real ones, with their history.
"""

import django.db.models.deletion
from django.db import migrations, models


MOVED = ["clone", "regionprofile"]


def _drop_stale_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="personas", model__in=MOVED).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_clone_and_region_from_personas'),
        ('approvals', '0003_clone_moved_to_agents'),
        ('dashboards', '0003_clone_moved_to_agents'),
        ('goals', '0002_clone_moved_to_agents'),
        ('outcomes', '0007_clone_moved_to_agents'),
        ('personas', '0003_seed_region_profiles'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='personaversion',
                    name='clone',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='agents.clone'),
                ),
                migrations.AlterField(
                    model_name='personaversion',
                    name='region',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agents.regionprofile'),
                ),
                migrations.DeleteModel(
                    name='Clone',
                ),
                migrations.DeleteModel(
                    name='RegionProfile',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_drop_stale_content_types, migrations.RunPython.noop),
    ]
