"""The admin bases in apps/tenancy/admin_display.py, through the admins built on them."""

import pytest
from django.contrib.admin import site
from django.test import RequestFactory

from apps.approvals.models import ApprovalSettings
from apps.insights.models import InsightSettings
from tests.factories.users import UserFactory


@pytest.mark.parametrize("model", [ApprovalSettings, InsightSettings])
def test_a_settings_row_is_added_once_and_never_deleted(admin_user, model):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = site._registry[model]
    model.objects.all().delete()

    assert model_admin.has_add_permission(request)

    row = model.objects.create()

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, row)
    assert model_admin.has_change_permission(request, row)


@pytest.mark.parametrize("model", [ApprovalSettings, InsightSettings])
def test_staff_without_the_add_permission_cannot_add_the_first_row(org, model):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="staffer", role="rep", is_staff=True)
    model.objects.all().delete()

    assert not site._registry[model].has_add_permission(request)
