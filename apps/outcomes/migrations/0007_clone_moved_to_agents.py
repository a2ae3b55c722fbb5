"""The clone foreign key now points at agents.Clone (moved from personas): state only.

The table it references (personas_clone) is the same, so the database does nothing.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_clone_and_region_from_personas'),
        ('outcomes', '0006_decided_status_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='outcomerecord',
                    name='clone',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outcomes', to='agents.clone'),
                ),
            ],
            database_operations=[],
        ),
    ]
