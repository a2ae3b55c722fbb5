"""Reads for approvals: the queue, the history, one action's trail, autonomy suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.approvals.models import (
    ActionEvent,
    ActionStatus,
    ApprovalDelegation,
    ApprovalSettings,
    ProposedAction,
)
from apps.crm.selectors import account_visibility, accounts_visible_to
from apps.tenancy.lookups import LookupCache
from apps.users.models import User
from apps.web.compiled import CompiledGet

QUEUE_SORTS = {
    "risk": ["-risk", "expires_at", "pk"],
    "value": [F("sort_value").desc(nulls_last=True), "-risk", "pk"],
    "age": ["proposed_at", "pk"],
}
DEFAULT_SORT = "risk"
QUEUE_PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 50
DECIDED_STATUSES = [
    ActionStatus.APPROVED,
    ActionStatus.REJECTED,
    ActionStatus.EXPIRED,
    ActionStatus.EXECUTED,
    ActionStatus.BLOCKED,
]

# Autonomy suggestions: a type approved this often over this many decisions, with outcomes
# at least this good, could run without approval; outcomes this poor after approval are flagged.
SUGGEST_APPROVAL_RATE = 0.95
SUGGEST_MIN_DECISIONS = 50
GOOD_OUTCOME_SCORE = 0.5
POOR_OUTCOME_SCORE = 0.25
MIN_OUTCOMES_TO_FLAG = 10
# The suggestions aggregate all past decisions; they move slowly, so pages reuse them a while.
SUGGESTIONS_CACHE_SECONDS = 600
SUGGESTIONS_CACHE_KEY = "approvals:autonomy-suggestions"


def approval_settings_get() -> ApprovalSettings:
    """The organisation's settings row (created with defaults if an admin deleted it)."""
    settings, _ = ApprovalSettings.objects.get_or_create(singleton=True)
    return settings


# Every decision asks where to send its webhook: per organisation (schema), kept like the
# host and key lookups (apps.tenancy.lookups), cleared when a settings row is saved.
webhook_urls = LookupCache(max_entries=1024)


def webhook_url_get() -> str:
    """The organisation's decision webhook URL, "" when it polls only.

    A change saved in this process applies at once; one saved by another process within
    ``LOOKUP_CACHE_SECONDS``. Deliveries already queued keep the URL they were made with.
    """
    schema = connection.schema_name
    url = webhook_urls.get(schema)
    if url is None:
        generation = webhook_urls.generation
        url = approval_settings_get().webhook_url
        webhook_urls.put(schema, url, generation)
    return url


def pending_count() -> int:
    return ProposedAction.objects.filter(status=ActionStatus.PENDING).count()


def _with_related(actions: QuerySet[ProposedAction]) -> QuerySet[ProposedAction]:
    return actions.select_related("account", "deal", "clone", "decided_by")


def actions_visible_to(user) -> QuerySet[ProposedAction]:
    """Actions on the accounts ``user`` may see: the accounts' one visibility rule
    (``accounts_visible_to``: a rep only the accounts they own) applies to actions too.

    A person standing in for an approver today (``notifications.may_decide``: a delegate
    while the delegation runs) sees what the approvers see, so they can decide."""
    from apps.approvals.notifications import may_decide  # it reads this module

    if isinstance(user, User) and may_decide(user):
        return ProposedAction.objects.all()
    if not account_visibility(user):  # every account (an action always has one)
        return ProposedAction.objects.all()
    return ProposedAction.objects.filter(
        account__in=accounts_visible_to(user).order_by().values("pk")
    )


def queue_actions(*, sort: str = DEFAULT_SORT) -> QuerySet[ProposedAction]:
    """Pending actions, riskiest (or most valuable, or oldest) first."""
    ordering = QUEUE_SORTS.get(sort, QUEUE_SORTS[DEFAULT_SORT])
    return (
        _with_related(ProposedAction.objects.filter(status=ActionStatus.PENDING))
        .annotate(sort_value=Coalesce("amount", "deal__amount"))
        .order_by(*ordering)
    )


@dataclass(frozen=True)
class HistoryFilters:
    status: str = ""
    action_type: str = ""
    decided_by: str = ""  # a username, or "guardrails" / "expiry"
    account: str = ""  # part of the account name
    since: date | None = None
    until: date | None = None
    payload: dict | None = None  # e.g. {"to": "dana@example.com"}: payload contains it


def history_actions(filters: HistoryFilters, *, user) -> QuerySet[ProposedAction]:
    """Decided actions ``user`` may see, newest decision first, narrowed by the page's filters."""
    actions = _with_related(actions_visible_to(user).filter(status__in=DECIDED_STATUSES))
    if filters.status:
        actions = actions.filter(status=filters.status)
    if filters.action_type:
        actions = actions.filter(action_type=filters.action_type)
    if filters.decided_by == "guardrails":
        actions = actions.filter(
            decided_by__isnull=True, status__in=[ActionStatus.APPROVED, ActionStatus.EXECUTED]
        ) | actions.filter(status=ActionStatus.BLOCKED)
    elif filters.decided_by == "expiry":
        actions = actions.filter(status=ActionStatus.EXPIRED)
    elif filters.decided_by:
        actions = actions.filter(decided_by__username=filters.decided_by)
    if filters.account:
        actions = actions.filter(account__name__icontains=filters.account)
    if filters.payload:
        # jsonb @> : served by the GIN index on payload (action_payload_gin).
        actions = actions.filter(payload__contains=filters.payload)
    zone = timezone.get_current_timezone()
    if filters.since:
        actions = actions.filter(
            proposed_at__gte=datetime.combine(filters.since, time.min, tzinfo=zone)
        )
    if filters.until:
        actions = actions.filter(
            proposed_at__lt=datetime.combine(
                filters.until + timedelta(days=1), time.min, tzinfo=zone
            )
        )
    return actions.order_by(F("decided_at").desc(nulls_last=True), "-proposed_at", "-pk")


def history_choices() -> dict[str, list]:
    """Values for the history filters: action types and deciders seen so far (2 queries)."""
    action_types = list(
        ProposedAction.objects.order_by("action_type")
        .values_list("action_type", flat=True)
        .distinct()
    )
    deciders = list(
        ProposedAction.objects.filter(decided_by__isnull=False)
        .order_by("decided_by__username")
        .values_list("decided_by__username", "decided_by__first_name", "decided_by__last_name")
        .distinct()
    )
    return {"action_types": action_types, "deciders": deciders}


# Every action with its related rows, by id, in SQL compiled once (the compiling cost more
# than the read: apps/web/compiled.py). Deciding reads it back in its own statement.
action_by_id = CompiledGet(lambda: _with_related(ProposedAction.objects.all()))
# What a decision made in the queue reads back to confirm it ("Approved: email sent for
# Acme"): a fifth of the columns, whose reading cost 0.1 ms of a 2.3 ms decision.
action_summary_by_id = CompiledGet(
    lambda: ProposedAction.objects.select_related("account").only(
        "id", "action_type", "status", "edited", "account__name"
    )
)


def sees_every_action(user) -> bool:
    """Whether ``actions_visible_to(user)`` is every action (those who decide, for one)."""
    return action_by_id.covers(actions_visible_to(user))


def action_get(action_id: int, *, user) -> ProposedAction:
    """One action ``user`` may see; ``DoesNotExist`` otherwise (a 404, like another org's id)."""
    return action_by_id.get_within(_with_related(actions_visible_to(user)), action_id)


def action_events(action: ProposedAction) -> QuerySet[ActionEvent]:
    return action.events.select_related("actor").order_by("created_at", "pk")


def action_public_data(action: ProposedAction, *, reveal: bool = False) -> dict:
    """What the agent sees of an action (API detail and webhook body share it).

    A browser decision still inside its undo window reads as pending (``reveal`` is for
    the webhook body, which is only sent once the window has passed).
    """
    hidden = (
        not reveal
        and action.visible_at is not None
        and action.status in (ActionStatus.APPROVED, ActionStatus.REJECTED)
        and action.visible_at > timezone.now()
    )
    if hidden:
        return {
            **action_public_data(action, reveal=True),
            "status": ActionStatus.PENDING,
            "final_payload": action.payload,
            "edited": False,
            "decided_by": None,
            "decided_at": None,
            "decision_reason": "",
        }
    return {
        "id": action.pk,
        "external_id": action.external_id,
        "action_type": action.action_type,
        "account": action.account.external_id,
        "deal": action.deal.external_id if action.deal_id else None,
        "clone": action.clone.external_id if action.clone_id else None,
        "payload": action.payload,
        "final_payload": action.to_execute,
        "edited": action.edited,
        "rationale": action.rationale,
        "amount": str(action.amount) if action.amount is not None else None,
        "discount_pct": str(action.discount_pct) if action.discount_pct is not None else None,
        "confidence": action.confidence,
        "calibrated_confidence": action.calibrated_confidence,
        "category": action.category,
        "status": action.status,
        "reasons": action.reasons,
        "risk": action.risk,
        "proposed_at": action.proposed_at.isoformat() if action.proposed_at else None,
        "expires_at": action.expires_at.isoformat() if action.expires_at else None,
        "decided_by": action.decided_by.username if action.decided_by_id else None,
        "decided_at": action.decided_at.isoformat() if action.decided_at else None,
        "decision_reason": action.decision_reason,
        "executed_at": action.executed_at.isoformat() if action.executed_at else None,
        "result": action.result,
        "outcome": action.outcome_id,
    }


def delegations_of(user) -> list[ApprovalDelegation]:
    """The user's current and future delegations (who stands in for them, when)."""
    return list(
        ApprovalDelegation.objects.filter(user=user, ends_on__gte=timezone.localdate())
        .select_related("delegate")
        .order_by("starts_on")
    )


def delegations_to(user) -> list[ApprovalDelegation]:
    """Current and future delegations naming the user as the stand-in."""
    return list(
        ApprovalDelegation.objects.filter(delegate=user, ends_on__gte=timezone.localdate())
        .select_related("user")
        .order_by("starts_on")
    )


def delegate_choices(user) -> list:
    """Active colleagues one may name as delegate (usernames and names, one query)."""
    from apps.users.models import User

    return list(
        User.objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .order_by("first_name", "last_name", "username")
        .only("username", "first_name", "last_name")
    )


def action_corrections(*, since: datetime | None = None) -> QuerySet[ProposedAction]:
    """Approvals an approver edited: ``payload`` (the agent's) against ``final_payload``.

    For learning extraction and reviews: what managers consistently change in the agent's
    output is a coaching pattern. The per-field changes are on the approval's audit event.
    """
    corrections = ProposedAction.objects.filter(edited=True)
    if since is not None:
        corrections = corrections.filter(decided_at__gte=since)
    return corrections.select_related("account", "clone", "decided_by").order_by("-decided_at")


@dataclass(frozen=True)
class AutonomySuggestion:
    action_type: str
    decisions: int
    approvals: int
    outcomes: int
    mean_outcome: float | None
    verdict: str  # "suggest_autonomous" or "poor_outcomes"

    @property
    def approval_rate(self) -> float:
        return self.approvals / self.decisions if self.decisions else 0.0


def autonomy_suggestions() -> list[AutonomySuggestion]:
    """Action types people nearly always approve with good results, and ones that go badly.

    One aggregate query over human decisions and the outcomes of executed actions.
    """
    human = Q(decided_by__isnull=False)
    approved = Q(status__in=[ActionStatus.APPROVED, ActionStatus.EXECUTED])
    resolved_outcome = Q(outcome__isnull=False) & ~Q(outcome__status="pending")
    rows = (
        ProposedAction.objects.filter(human)
        .values("action_type")
        .annotate(
            decisions=Count("pk"),
            approvals=Count("pk", filter=approved),
            outcomes=Count("pk", filter=approved & resolved_outcome),
            mean_outcome=Avg("outcome__score", filter=approved & resolved_outcome),
        )
        .order_by("action_type")
    )
    suggestions = []
    for row in rows:
        rate = row["approvals"] / row["decisions"] if row["decisions"] else 0.0
        mean = row["mean_outcome"]
        if (
            row["decisions"] >= SUGGEST_MIN_DECISIONS
            and rate >= SUGGEST_APPROVAL_RATE
            and mean is not None
            and mean >= GOOD_OUTCOME_SCORE
        ):
            verdict = "suggest_autonomous"
        elif (
            row["outcomes"] >= MIN_OUTCOMES_TO_FLAG
            and mean is not None
            and mean < POOR_OUTCOME_SCORE
        ):
            verdict = "poor_outcomes"
        else:
            continue
        suggestions.append(AutonomySuggestion(verdict=verdict, **row))
    return suggestions


def autonomy_suggestions_cached() -> list[AutonomySuggestion]:
    """``autonomy_suggestions()`` for pages: computed at most every 10 minutes per org."""
    return cache.get_or_set(SUGGESTIONS_CACHE_KEY, autonomy_suggestions, SUGGESTIONS_CACHE_SECONDS)


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    high_risk: int
    expiring_soon: int
    decided_today: int


def queue_summary() -> QueueSummary:
    """Counters for the top of the queue page, in one query."""
    now = timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    pending = Q(status=ActionStatus.PENDING)
    counts = ProposedAction.objects.aggregate(
        pending=Count("pk", filter=pending),
        high_risk=Count("pk", filter=pending & Q(risk__gte=60)),
        expiring_soon=Count("pk", filter=pending & Q(expires_at__lte=now + timedelta(hours=4))),
        decided_today=Count("pk", filter=Q(decided_by__isnull=False, decided_at__gte=start_of_day)),
    )
    return QueueSummary(**counts)
