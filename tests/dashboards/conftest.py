"""A crafted data set whose every dashboard number is known in advance.

Rory (``rep``) owns "Alpha"; Sam (``other_rep``) owns "Beta". In the last 30 days:

Alpha: 4 email_sent (2 resolved, 1 expired, 1 pending), 1 meeting_request resolved,
       1 deal_progression expired (score 0), by clone "Rory's clone" except the meeting.
       → 6 actions, 5 decided, 3 succeeded: success 60 %, reply 2/3, mean score 0.6.
       40 days ago: 1 email_sent expired (the previous period: success 0 %, reply 0 %).
Beta:  3 email_sent resolved → 3 actions, success 100 %.

The daily outcome summary is refreshed at the end, as the job would.

Deals: Alpha has an open 50,000 deal the agent acted on (an outcome names it) and a
20,000 deal won 5 days ago (influenced: Alpha has outcomes without a deal); Beta has an open
30,000 deal and a 10,000 deal won 10 days ago, both influenced through Beta's outcomes;
"Gamma" (no outcomes) has an open 40,000 deal and a 5,000 deal won 3 days ago.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.dashboards.services import outcome_daily_refresh
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.dashboards import decided_outcome
from tests.factories.outcomes import CloneFactory
from tests.factories.users import UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_rep(org, manager):
    return UserFactory(
        username="sam", role="rep", first_name="Sam", last_name="Seller", manager=manager
    )


@pytest.fixture
def crafted(org, rep, other_rep):
    now = timezone.now()
    alpha = AccountFactory(name="Alpha", owner=rep)
    beta = AccountFactory(name="Beta", owner=other_rep)
    gamma = AccountFactory(name="Gamma", owner=None)
    clone = CloneFactory(name="Rory's clone", owner=rep)
    alpha_open = DealFactory(account=alpha, stage="proposal", amount=Decimal("50000"))
    DealFactory(
        account=alpha,
        stage="closed_won",
        amount=Decimal("20000"),
        closed_at=now - timedelta(days=5),
    )
    DealFactory(account=beta, stage="discovery", amount=Decimal("30000"))
    DealFactory(
        account=beta,
        stage="closed_won",
        amount=Decimal("10000"),
        closed_at=now - timedelta(days=10),
    )
    DealFactory(account=gamma, stage="qualification", amount=Decimal("40000"))
    DealFactory(
        account=gamma, stage="closed_won", amount=Decimal("5000"), closed_at=now - timedelta(days=3)
    )

    for status, days in [("resolved", 1), ("resolved", 2), ("expired", 3), ("pending", 0.1)]:
        decided_outcome(account=alpha, code="email_sent", status=status, days_ago=days, clone=clone)
    decided_outcome(account=alpha, code="meeting_request", status="resolved", days_ago=4)
    decided_outcome(
        account=alpha,
        code="deal_progression",
        status="expired",
        days_ago=6,
        clone=clone,
        deal=alpha_open,
    )
    decided_outcome(account=alpha, code="email_sent", status="expired", days_ago=40, clone=clone)
    for days in (1, 2, 3):
        decided_outcome(account=beta, code="email_sent", status="resolved", days_ago=days)
    outcome_daily_refresh()  # what the refresh_analytics job does every 5 minutes
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "clone": clone}
