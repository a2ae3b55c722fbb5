from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_organization_currency")]

    operations = [
        migrations.CreateModel(
            name="ThrottleCounter",
            fields=[
                ("key", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("window_start", models.BigIntegerField()),
                ("count", models.IntegerField()),
            ],
        ),
        # Counters need no crash safety: skip the write-ahead log on every API request.
        migrations.RunSQL(
            "ALTER TABLE tenancy_throttlecounter SET UNLOGGED",
            "ALTER TABLE tenancy_throttlecounter SET LOGGED",
        ),
    ]
