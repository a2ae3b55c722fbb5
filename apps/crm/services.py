"""Writes for CRM mirrors: upserts by external id, interactions and deal stage changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import NotRequired, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from apps.crm.models import CLOSED_STAGES, Account, Channel, Deal, DealStageChange, Interaction
from apps.users.models import User

_UNCHANGED = object()


def _insert_unless_exists(instance: models.Model, key: str) -> tuple[models.Model, bool]:
    """Insert ``instance`` unless a row with the same ``key`` exists: (stored row, created).

    One ``INSERT … ON CONFLICT (key) DO NOTHING``: under a retry storm the unique index
    decides, the other callers wait for the winner's commit and then read its row — never
    an IntegrityError (a 409) for what is the same request sent twice.
    """
    model = type(instance)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            setattr(instance, f.attname, timezone.now())
    key_column = model._meta.get_field(key).column
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
        f" ON CONFLICT ({connection.ops.quote_name(key_column)}) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return model._default_manager.get(**{key: getattr(instance, key)}), False
    instance.pk = row[0]
    instance._state.adding = False
    return instance, True


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
    # What a repeated upsert overwrites; the stage moves through deal_stage_change.
    values = {"account": account, "name": name, "amount": amount}
    if close_date is not _UNCHANGED:
        values["close_date"] = close_date
    new = Deal(
        external_id=external_id,
        stage=stage,
        stage_changed_at=now,
        closed_at=now if stage in CLOSED_STAGES else None,
        **values,
    )
    deal, created = _insert_unless_exists(new, "external_id")
    if created:
        DealStageChange.objects.create(deal=deal, from_stage="", to_stage=stage, changed_at=now)
        return deal, True
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    for field, value in values.items():
        setattr(deal, field, value)
    deal.save(update_fields=[*values, "updated_at"])
    return deal_stage_change(deal=deal, stage=stage, changed_at=now), False


class InteractionFields(TypedDict):
    """A customer signal: whose, how and when, and what it said (the model's fields, in its
    order, but ``external_id``)."""

    account: Account
    deal: NotRequired[Deal | None]
    channel: str
    direction: str
    occurred_at: datetime
    sentiment: NotRequired[float | None]
    summary: NotRequired[str]
    key_points: NotRequired[list[str]]
    contact_name: NotRequired[str]
    contact_title: NotRequired[str]
    contact: NotRequired[str]
    in_reply_to: NotRequired[str]
    thread_id: NotRequired[str]
    stage: NotRequired[str]


@transaction.atomic
def interaction_record(
    *, external_id: str | None = None, **fields: Unpack[InteractionFields]
) -> tuple[Interaction, bool]:
    """Record a customer signal. Idempotent on ``external_id`` when one is given, also
    under concurrent retries (one insert wins, the others return its row).

    A ``crm`` interaction naming a deal and a stage moves the deal to that stage.
    ``in_reply_to`` names the outcome (its ``external_id``) an inbound message answers;
    the resolution jobs then resolve that outcome and no other.
    """
    interaction = Interaction(external_id=external_id or None, **fields)
    deal, stage = interaction.deal, interaction.stage
    if deal is not None and deal.account_id != interaction.account.pk:
        raise ValidationError({"deal": "This deal belongs to another account."})
    if stage and (interaction.channel != Channel.CRM or deal is None):
        raise ValidationError({"stage": "A stage change needs channel 'crm' and a deal."})
    if external_id:
        interaction, created = _insert_unless_exists(interaction, "external_id")
        if not created:
            return interaction, False
    else:
        interaction.save()
    if stage:
        deal_stage_change(deal=deal, stage=stage, changed_at=interaction.occurred_at)
    return interaction, True
