"""Default guardrails and settings for every organisation; the audit trail made immutable."""

from decimal import Decimal

from django.db import migrations

# (name, kind, action_type, threshold, category)
DEFAULT_RULES = [
    ("Contracts are sent by people", "action_type", "contract_send", None, "hard_stop"),
    ("Pricing commitments are made by people", "action_type", "pricing_commitment", None, "hard_stop"),
    ("Discounts over 20 %", "discount_over", "", Decimal("20"), "hard_stop"),
    ("Amounts from 50,000", "amount_at_least", "", Decimal("50000"), "approval_required"),
    ("Action type not defined in this organisation", "unknown_action_type", "", None, "approval_required"),
    ("First contact with an executive", "executive_first_contact", "", None, "approval_required"),
]

IMMUTABLE_EVENTS_SQL = """
CREATE FUNCTION approvals_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The approvals audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_event_no_update BEFORE UPDATE ON approvals_actionevent
    FOR EACH ROW EXECUTE FUNCTION approvals_event_immutable();
"""
MUTABLE_EVENTS_SQL = """
DROP TRIGGER IF EXISTS approvals_event_no_update ON approvals_actionevent;
DROP FUNCTION IF EXISTS approvals_event_immutable();
"""


def seed(apps, schema_editor):
    GuardrailRule = apps.get_model("approvals", "GuardrailRule")
    ApprovalSettings = apps.get_model("approvals", "ApprovalSettings")
    for name, kind, action_type, threshold, category in DEFAULT_RULES:
        GuardrailRule.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "action_type": action_type,
                "threshold": threshold,
                "category": category,
            },
        )
    ApprovalSettings.objects.get_or_create(singleton=True)


def unseed(apps, schema_editor):
    GuardrailRule = apps.get_model("approvals", "GuardrailRule")
    GuardrailRule.objects.filter(name__in=[rule[0] for rule in DEFAULT_RULES]).delete()
    apps.get_model("approvals", "ApprovalSettings").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]
    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunSQL(IMMUTABLE_EVENTS_SQL, MUTABLE_EVENTS_SQL),
    ]
