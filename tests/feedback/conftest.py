import pytest

from tests.factories.crm import AccountFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory


@pytest.fixture
def other_rep(org, manager):
    return UserFactory(username="sasha", role="rep", manager=manager)


@pytest.fixture
def rory_output(rep):
    """An agent output on an account Rory owns."""
    return OutcomeFactory(account=AccountFactory(owner=rep, name="Bluefin Logistics"))


@pytest.fixture
def sasha_output(other_rep):
    """An agent output on another rep's account."""
    return OutcomeFactory(account=AccountFactory(owner=other_rep, name="Cedar Health"))


@pytest.fixture
def globex_output(other_org, in_org):
    """An output that lives in the other organisation (its id means nothing in acme)."""
    with in_org(other_org):
        return OutcomeFactory(external_id="globex-out-1")
