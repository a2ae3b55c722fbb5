from django.db import migrations

# code, name, greeting, formality baseline, date format, sign-off
REGIONS = [
    ("us", "United States", "Hi {first_name},", 35, "%m/%d/%Y", "Best,"),
    ("uk", "United Kingdom", "Dear {first_name},", 55, "%d/%m/%Y", "Kind regards,"),
    (
        "dach",
        "DACH (Germany, Austria, Switzerland)",
        "Dear {title} {last_name},",
        80,
        "%d.%m.%Y",
        "With kind regards,",
    ),
    ("nordics", "Nordics", "Hi {first_name},", 25, "%Y-%m-%d", "Best regards,"),
    ("france", "France", "Bonjour {first_name},", 65, "%d/%m/%Y", "Bien cordialement,"),
    ("japan", "Japan", "Dear {last_name}-san,", 90, "%Y/%m/%d", "With sincere thanks,"),
]


def seed(apps, schema_editor):
    RegionProfile = apps.get_model("personas", "RegionProfile")
    for code, name, greeting, formality, date_format, sign_off in REGIONS:
        RegionProfile.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "greeting_style": greeting,
                "formality_baseline": formality,
                "date_format": date_format,
                "sign_off": sign_off,
            },
        )


def unseed(apps, schema_editor):
    # Only profiles nobody uses: deleting one a clone points at would silently clear the
    # clone's region (SET_NULL), and re-applying the migration could not bring it back.
    RegionProfile = apps.get_model("personas", "RegionProfile")
    PersonaVersion = apps.get_model("personas", "PersonaVersion")
    RegionProfile.objects.filter(
        code__in=[region[0] for region in REGIONS], clones__isnull=True
    ).exclude(
        pk__in=PersonaVersion.objects.filter(region__isnull=False).values("region_id")
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("personas", "0002_persona_version")]
    operations = [migrations.RunPython(seed, unseed)]
