from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories.crm import AccountFactory, InteractionFactory


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def signal(now):
    """``signal(account, days_ago, **fields)`` records one interaction that long ago."""

    def make(account, days_ago: float, **fields):
        fields.setdefault("occurred_at", now - timedelta(days=days_ago))
        return InteractionFactory(account=account, **fields)

    return make


@pytest.fixture
def account(org, rep):
    return AccountFactory(name="Cedar Health", industry="healthcare", owner=rep)


@pytest.fixture
def other_manager_client(page_client, in_org, other_org, other_org_manager):
    """A browser logged in as a manager of the other organisation, on its host."""
    with in_org(other_org):
        return page_client(other_org_manager, host="globex.localhost")
