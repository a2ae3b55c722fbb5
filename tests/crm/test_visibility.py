"""One visibility rule for accounts and everything on them (crm.selectors.account_visibility)."""

from django.contrib.auth.models import AnonymousUser

from apps.crm.selectors import accounts_visible_to, deals_visible_to
from apps.outcomes.selectors import outcomes_visible_to
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.outcomes import OutcomeFactory, action_type
from tests.factories.users import UserFactory


def _accounts_with_deals_and_outcomes(rep):
    other_rep = UserFactory(username="sam", role="rep")
    mine = AccountFactory(owner=rep)
    theirs = AccountFactory(owner=other_rep)
    for account in (mine, theirs):
        DealFactory(account=account)
        OutcomeFactory(account=account, action_type=action_type())
    return mine, theirs


def test_a_rep_sees_only_the_deals_and_outcomes_of_their_own_accounts(org, rep, manager):
    mine, theirs = _accounts_with_deals_and_outcomes(rep)

    assert {deal.account for deal in deals_visible_to(rep)} == {mine}
    assert {outcome.account for outcome in outcomes_visible_to(rep)} == {mine}
    assert {deal.account for deal in deals_visible_to(manager)} == {mine, theirs}
    assert {outcome.account for outcome in outcomes_visible_to(manager)} == {mine, theirs}


def test_someone_who_may_not_read_the_crm_sees_no_account_deal_or_outcome(org, rep):
    _accounts_with_deals_and_outcomes(rep)
    nobody = AnonymousUser()

    assert not accounts_visible_to(nobody).exists()
    assert not deals_visible_to(nobody).exists()  # deals used to skip the check
    assert not outcomes_visible_to(nobody).exists()


def test_a_rep_sees_no_deal_of_another_organisation(org, other_org, in_org, rep):
    with in_org(other_org):
        DealFactory(account=AccountFactory())

    assert not deals_visible_to(rep).exists()
