"""The inline (−1 / 0 / +1) and detailed (1–5) ratings become the two built-in rubrics.

Their stored values stay where they are (FeedbackEntry); the rubrics only name the scales.
"""

from django.db import migrations

BUILTIN = [
    {
        "builtin": "inline",
        "name": "Inline rating",
        "kind": "numeric",
        "min_value": -1,
        "max_value": 1,
        "step": 1,
        "description": "The one-click verdict on an output: −1 bad, 0 neutral, +1 good.",
    },
    {
        "builtin": "dashboard",
        "name": "Detailed rating",
        "kind": "numeric",
        "min_value": 1,
        "max_value": 5,
        "step": 1,
        "description": "The detailed rating of an output, 1 (poor) to 5 (excellent).",
    },
]


def create(apps, schema_editor):
    Rubric = apps.get_model("reviews", "Rubric")
    for row in BUILTIN:
        Rubric.objects.update_or_create(builtin=row["builtin"], defaults=row)


def remove(apps, schema_editor):
    apps.get_model("reviews", "Rubric").objects.filter(builtin__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_rubrics_queues_scores")]
    operations = [migrations.RunPython(create, remove)]
