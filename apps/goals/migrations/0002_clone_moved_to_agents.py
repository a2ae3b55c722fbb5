"""The clone foreign key now points at agents.Clone (moved from personas): state only.

The table it references (personas_clone) is the same, so the database does nothing.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_clone_and_region_from_personas'),
        ('goals', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='goal',
                    name='clone',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='goals', to='agents.clone'),
                ),
                migrations.AlterField(
                    model_name='performancesnapshot',
                    name='clone',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='performance_snapshots', to='agents.clone'),
                ),
            ],
            database_operations=[],
        ),
    ]
