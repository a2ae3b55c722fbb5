"""seed_demo: realistic data, idempotent, scalable, with a progress bar."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from apps.crm.models import Account, Deal, Interaction
from apps.tenancy.models import Organization
from apps.users.models import User


@pytest.fixture
def scratch_slug(django_db_setup, django_db_blocker):
    slug = "seedtest"
    with django_db_blocker.unblock():
        yield slug
        connection.set_schema_to_public()
        for org in Organization.objects.filter(slug=slug):
            org.delete(force_drop=True)


def _row_counts(schema: str) -> dict[str, int]:
    with schema_context(schema):
        return {
            model._meta.label: model.objects.count()
            for model in apps.get_models()
            if model.__module__.startswith("apps.") and model._meta.app_label != "tenancy"
        }


def test_seed_demo_creates_an_org_with_each_role_and_realistic_data_and_is_idempotent(scratch_slug):
    errors = StringIO()
    call_command("seed_demo", "--org", scratch_slug, stdout=StringIO(), stderr=errors)

    org = Organization.objects.get(slug=scratch_slug)
    with schema_context(org.schema_name):
        assert set(User.objects.values_list("role", flat=True)) == {
            "rep",
            "manager",
            "executive",
            "admin",
        }
        # 20 hand-made accounts; the simulator's customers (loop on and its control, 12 per
        # rep each) are the learning story's.
        simulated = Account.objects.filter(external_id__regex=r"^(sim|ctl)-acc-")
        assert Account.objects.count() - simulated.count() == 20
        assert simulated.count() == 2 * 2 * 12
        assert Deal.objects.exclude(external_id__regex=r"^(sim|ctl)-deal-").count() == 20
        assert Interaction.objects.count() > 100
        assert all(
            a.owner and a.owner.role == "rep" for a in Account.objects.select_related("owner")
        )
    assert "seed_demo" in errors.getvalue()  # the progress bar

    first = _row_counts(org.schema_name)
    call_command("seed_demo", "--org", scratch_slug, "--no-progress", stdout=StringIO())
    assert _row_counts(org.schema_name) == first


def test_seed_demo_scale_multiplies_the_volume(scratch_slug):
    call_command(
        "seed_demo", "--org", scratch_slug, "--scale", "2", "--no-progress", stdout=StringIO()
    )
    with schema_context(Organization.objects.get(slug=scratch_slug).schema_name):
        assert Account.objects.exclude(external_id__regex=r"^(sim|ctl)-acc-").count() == 40
