"""Data: every learning's confidence under the Beta(3, 3) prior (0.5 without evidence), the
source of existing detailed ratings, and the organisation's starting list of aspects.

The formula is written out here, frozen, so that a later change of ``scoring`` does not
rewrite history through an old migration.
"""

from django.db import migrations

ASPECTS = [
    ("on-point", "On point", "positive"),
    ("clear", "Clear", "positive"),
    ("right-tone", "Right tone", "positive"),
    ("personal", "Personal", "positive"),
    ("good-ask", "Good call to action", "positive"),
    ("generic", "Generic", "negative"),
    ("too-long", "Too long", "negative"),
    ("wrong-tone", "Wrong tone", "negative"),
    ("inaccurate", "Inaccurate", "negative"),
    ("pushy", "Pushy", "negative"),
]


def forwards(apps, schema_editor):
    Learning = apps.get_model("feedback", "Learning")
    FeedbackEntry = apps.get_model("feedback", "FeedbackEntry")
    FeedbackAspect = apps.get_model("feedback", "FeedbackAspect")
    table = Learning._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET confidence_score = "
            "(evidence_positive + success_points + 3.0) "
            "/ (evidence_total + application_count + 6.0)"
        )
    FeedbackEntry.objects.filter(kind="dashboard").update(feedback_source="dashboard")
    FeedbackAspect.objects.bulk_create(
        [
            FeedbackAspect(code=code, label=label, polarity=polarity, position=position)
            for position, (code, label, polarity) in enumerate(ASPECTS)
        ],
        ignore_conflicts=True,
    )


def backwards(apps, schema_editor):
    # Leave the values: a rollback changes no row, and the previous code's next refresh
    # (the extraction job, every 6 hours) recomputes its own formula. The aspects go with
    # their table when 0002 is reversed.
    pass


class Migration(migrations.Migration):
    dependencies = [("feedback", "0002_learning_lift_and_detailed_feedback")]

    operations = [migrations.RunPython(forwards, backwards)]
