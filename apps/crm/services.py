"""Writes for CRM mirrors: upserts by external id, interactions and deal stage changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.crm.models import CLOSED_STAGES, Account, Channel, Deal, DealStageChange, Interaction
from apps.users.models import User

_UNCHANGED = object()


def account_upsert(
    *, external_id: str, name: str, industry: str = "", owner: User | None = None
) -> tuple[Account, bool]:
    """Create or update the account with this CRM id. Returns (account, created)."""
    account, created = Account.objects.update_or_create(
        external_id=external_id,
        defaults={"name": name, "industry": industry, "owner": owner},
    )
    return account, created


@transaction.atomic
def deal_stage_change(*, deal: Deal, stage: str, changed_at: datetime | None = None) -> Deal:
    """Move a deal to ``stage`` and keep the move in its history (no-op if unchanged)."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if deal.stage == stage:
        return deal
    changed_at = changed_at or timezone.now()
    DealStageChange.objects.create(
        deal=deal, from_stage=deal.stage, to_stage=stage, changed_at=changed_at
    )
    deal.stage = stage
    deal.stage_changed_at = changed_at
    deal.closed_at = changed_at if stage in CLOSED_STAGES else None
    deal.save(update_fields=["stage", "stage_changed_at", "closed_at", "updated_at"])
    return deal


@transaction.atomic
def deal_upsert(
    *,
    external_id: str,
    account: Account,
    name: str,
    stage: str,
    amount: Decimal,
    changed_at: datetime | None = None,
    close_date: date | None | object = _UNCHANGED,
) -> tuple[Deal, bool]:
    """Create or update a deal by CRM id; a new stage is recorded as a stage change.

    ``close_date`` (expected close) is kept as it is when not given."""
    now = changed_at or timezone.now()
    deal = Deal.objects.select_for_update().filter(external_id=external_id).first()
    if deal is None:
        deal = Deal.objects.create(
            external_id=external_id,
            account=account,
            name=name,
            stage=stage,
            amount=amount,
            close_date=None if close_date is _UNCHANGED else close_date,
            stage_changed_at=now,
            closed_at=now if stage in CLOSED_STAGES else None,
        )
        DealStageChange.objects.create(deal=deal, from_stage="", to_stage=stage, changed_at=now)
        return deal, True
    deal.account, deal.name, deal.amount = account, name, amount
    fields = ["account", "name", "amount", "updated_at"]
    if close_date is not _UNCHANGED:
        deal.close_date = close_date
        fields.append("close_date")
    deal.save(update_fields=fields)
    return deal_stage_change(deal=deal, stage=stage, changed_at=now), False


@transaction.atomic
def interaction_record(
    *,
    account: Account,
    channel: str,
    direction: str,
    occurred_at: datetime,
    deal: Deal | None = None,
    sentiment: float | None = None,
    summary: str = "",
    key_points: list[str] | None = None,
    contact_name: str = "",
    contact_title: str = "",
    stage: str = "",
    external_id: str | None = None,
) -> tuple[Interaction, bool]:
    """Record a customer signal. Idempotent on ``external_id`` when one is given.

    A ``crm`` interaction naming a deal and a stage moves the deal to that stage.
    """
    if deal is not None and deal.account_id != account.pk:
        raise ValidationError({"deal": "This deal belongs to another account."})
    if stage and (channel != Channel.CRM or deal is None):
        raise ValidationError({"stage": "A stage change needs channel 'crm' and a deal."})
    if external_id:
        existing = Interaction.objects.filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
    interaction = Interaction.objects.create(
        external_id=external_id or None,
        account=account,
        deal=deal,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        sentiment=sentiment,
        summary=summary,
        key_points=key_points or [],
        contact_name=contact_name,
        contact_title=contact_title,
        stage=stage,
    )
    if stage:
        deal_stage_change(deal=deal, stage=stage, changed_at=occurred_at)
    return interaction, True
