from __future__ import annotations

from django.db.models import QuerySet

from apps.crm.models import Account, Deal
from apps.users.models import User
from apps.users.roles import Role, can


def accounts_visible_to(user) -> QuerySet[Account]:
    """Reps see the accounts they own; managers, executives, admins and agents see all."""
    accounts = Account.objects.select_related("owner")
    if isinstance(user, User) and user.role == Role.REP:
        return accounts.filter(owner=user)
    if can(user, "crm.read"):
        return accounts
    return accounts.none()


def deals_visible_to(user) -> QuerySet[Deal]:
    deals = Deal.objects.select_related("account")
    if isinstance(user, User) and user.role == Role.REP:
        return deals.filter(account__owner=user)
    return deals
