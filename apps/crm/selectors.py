from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.crm.models import Account, Deal
from apps.users.roles import can, sees_only_own


def account_visibility(user, via: str = "") -> Q:
    """The one rule for who sees which accounts, as a filter through ``via`` to an account.

    Without ``crm.read`` nothing; a rep, the accounts they own; everyone else who may read
    (managers, executives, admins, the agent), all. ``via`` is the lookup path from the
    queried model to its account, e.g. ``"account__"`` for deals and outcomes.
    """
    if not can(user, "crm.read"):
        return Q(pk__in=[])
    if sees_only_own(user):
        return Q(**{f"{via}owner": user})
    return Q()


def accounts_visible_to(user) -> QuerySet[Account]:
    """Accounts ``user`` may see (``account_visibility``)."""
    return Account.objects.select_related("owner").filter(account_visibility(user))


def deals_visible_to(user) -> QuerySet[Deal]:
    """Deals on the accounts ``user`` may see (``account_visibility``)."""
    return Deal.objects.select_related("account").filter(account_visibility(user, "account__"))
