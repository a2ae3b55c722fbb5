from django.db import migrations

DEFAULTS = [
    ("email_sent", "Email sent", 24, "inbound_email", "An inbound email on the account resolves it (1.0)."),
    ("meeting_request", "Meeting request", 168, "meeting", "A meeting on the account resolves it (1.0)."),
    ("escalation", "Escalation", 168, "meeting", "A meeting on the account resolves it (1.0)."),
    ("deal_progression", "Deal progression", 720, "deal_progression",
     "Scored 0.2 per stage the deal advanced since the action, at most 1.0."),
]


def seed(apps, schema_editor):
    ActionType = apps.get_model("outcomes", "ActionType")
    for code, name, hours, signal, description in DEFAULTS:
        ActionType.objects.get_or_create(
            code=code,
            defaults={"name": name, "window_hours": hours, "signal": signal, "description": description},
        )


def unseed(apps, schema_editor):
    ActionType = apps.get_model("outcomes", "ActionType")
    ActionType.objects.filter(code__in=[d[0] for d in DEFAULTS], outcomes__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
