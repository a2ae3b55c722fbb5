from django.db import migrations


def create_settings(apps, schema_editor):
    apps.get_model("insights", "InsightSettings").objects.get_or_create(id=1)


def delete_settings(apps, schema_editor):
    apps.get_model("insights", "InsightSettings").objects.filter(id=1).delete()


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]

    operations = [migrations.RunPython(create_settings, delete_settings)]
