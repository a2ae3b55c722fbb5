import pytest

from apps.reviews.services import queue_save
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.reviews import RubricFactory
from tests.factories.users import UserFactory


@pytest.fixture
def other_rep(org, manager):
    return UserFactory(username="sasha", role="rep", manager=manager, first_name="Sasha")


@pytest.fixture
def third_rep(org, manager):
    return UserFactory(username="tom", role="rep", manager=manager, first_name="Tom")


@pytest.fixture
def quality(org):
    return RubricFactory(name="Quality", min_value=1, max_value=5, step=1)


@pytest.fixture
def outputs(org):
    """Five agent outputs on one account, oldest first."""
    account = AccountFactory(name="Bluefin Logistics")
    return [
        OutcomeFactory(account=account, output_text=f"Hi Dana, draft number {index}.")
        for index in range(5)
    ]


@pytest.fixture
def make_queue(manager):
    def make(*, rubrics, reviewers=(), roles=(), k=1, rate_bp=10000, **rule):
        return queue_save(
            name=rule.pop("name", "Emails"),
            rubrics=rubrics,
            reviewers=reviewers,
            reviewer_roles=roles,
            reviews_needed=k,
            sample_rate_bp=rate_bp,
            created_by=manager,
            **rule,
        )

    return make
