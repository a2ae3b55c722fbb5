"""The clone foreign key now points at agents.Clone (moved from personas): state only.

The table it references (personas_clone) is the same, so the database does nothing.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_clone_and_region_from_personas'),
        ('approvals', '0002_guardrail_defaults'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='proposedaction',
                    name='clone',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='proposed_actions', to='agents.clone'),
                ),
            ],
            database_operations=[],
        ),
    ]
