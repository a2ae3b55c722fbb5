"""Demo approvals: a queue of ~25 realistic proposals and a few weeks of decided history.

Everything goes through the real services (guardrails, decisions, expiry, results), so
the reasons, audit trail and outcomes are what production would show. Only the
timestamps are moved back afterwards, so the queue has a spread of ages and deadlines.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import F

from apps.agents.models import Clone
from apps.approvals.models import ActionEvent, ProposedAction
from apps.approvals.services import (
    DecisionConflict,
    action_decide,
    action_propose,
    action_record_result,
    actions_expire,
)
from apps.crm.models import CLOSED_STAGES, STAGE_ORDER, Account, Deal, DealStage
from apps.outcomes.models import ActionType, OutcomeRecord, Signal

PENDING_PER_SCALE = 25
QUEUE_ATTEMPTS = 6  # proposals tried per queue slot (most are autonomous)
HISTORY_PER_SCALE = 70
AGENT = "agent:northwind-runtime"

# Action types the demo agent proposes beyond the four every organisation starts with,
# defined as an admin would (code, name, window in hours, resolving signal). A type the
# organisation does not define would send every such proposal to a person.
DEMO_ACTION_TYPES = [
    ("discount_offer", "Discount offer", 720, Signal.DEAL_PROGRESSION),
    ("linkedin_message", "LinkedIn message", 72, Signal.INBOUND_EMAIL),
    ("contract_send", "Contract sent", 720, Signal.DEAL_PROGRESSION),
    ("pricing_commitment", "Pricing commitment", 720, Signal.DEAL_PROGRESSION),
]
# Kinds whose amount is the deal's value: they need an open deal on the account.
NEEDS_OPEN_DEAL = {"email_sent", "discount_offer", "escalation", "deal_progression"}
# Share of the history that is routine (follow-ups, notes, non-executive meetings): the
# guardrails let those through at once, as they would for a team that trusts its agent.
ROUTINE_SHARE = 0.62
ROUTINE = [
    (
        "email_sent",
        {
            "subject": "Notes from today's call",
            "to": "{first}@{domain}",
            "body": "Thanks for the call today; here are the three points we agreed on.",
        },
        "A recap the same day keeps the next steps visible to everyone on their side.",
    ),
    (
        "linkedin_message",
        {"profile": "linkedin.com/in/{handle}", "message": "Great talk at the summit!"},
        "A short personal note after the event keeps the relationship warm.",
    ),
    (
        "meeting_request",
        {"contact_name": "{first}", "contact_title": "IT Manager", "subject": "SSO setup call"},
        "Their IT manager asked how SSO is set up; a 20-minute call answers it faster.",
    ),
]
# (action type, has an amount, discount range or None, payload, rationale)
PROPOSALS = [
    (
        "email_sent",
        True,
        None,
        {
            "subject": "Proposal for {seats} seats",
            "to": "procurement@{domain}",
            "body": "Hi team, as promised, attached is the proposal for {seats} seats "
            "with the onboarding plan we discussed.",
        },
        "Procurement asked for a written proposal after Tuesday's call; sending it "
        "now keeps us ahead of the competing vendor's deadline.",
    ),
    (
        "discount_offer",
        True,
        (8, 18),
        {
            "subject": "A loyalty discount for your renewal",
            "to": "cfo@{domain}",
            "discount_reason": "multi-year renewal",
        },
        "Renewal is at risk: the champion mentioned a competitor's quote twice. A "
        "multi-year discount inside policy should close it this quarter.",
    ),
    (
        "meeting_request",
        False,
        None,
        {
            "contact_name": "{exec_name}",
            "contact_title": "{exec_title}",
            "subject": "30 minutes on your {quarter} priorities?",
        },
        "Their {exec_title} spoke at a conference about consolidating vendors; an "
        "intro meeting now could bring us into the evaluation early.",
    ),
    (
        "escalation",
        True,
        None,
        {"to": "support-lead@{domain}", "summary": "SSO outage raised in two chats"},
        "Negative sentiment in the last two chats and the deal is in negotiation; "
        "escalating to support leadership protects the renewal.",
    ),
    (
        "linkedin_message",
        False,
        None,
        {"profile": "linkedin.com/in/{handle}", "message": "Congrats on the new role!"},
        "The economic buyer changed jobs last week; a short personal note keeps the "
        "relationship warm.",
    ),
    (
        "deal_progression",
        True,
        None,
        {"stage": "{next_stage}", "next_step": "Send order form after legal review"},
        "Security review passed and pricing is agreed in principle; moving the deal "
        "to {next_stage} matches what the buyer told us.",
    ),
]
# Appended to a rationale so that neighbouring proposals read differently.
EXTRA_CONTEXT = [
    "The buyer replied within an hour to the last two emails.",
    "Their fiscal year ends next month, so budget decisions are happening now.",
    "Two stakeholders viewed the pricing page yesterday.",
    "The rep is on leave this week; the agent is covering the account.",
    "A competitor's sales team was seen on site last Thursday.",
    "Usage of the trial workspace doubled in the last 14 days.",
    "Procurement confirmed the deal is on their shortlist of three.",
]
EXECUTIVES = [
    ("Sofia Brandt", "Chief Revenue Officer"),
    ("Marcus Reed", "CFO"),
    ("Hana Ito", "VP Operations"),
    ("Olu Bakare", "Chief Information Officer"),
    ("Claire Dubois", "President"),
]
REJECT_REASONS = [
    "Too early: wait until the security review is done.",
    "Wrong contact: talk to their procurement lead first.",
    "They asked us to pause outreach until January.",
    "The discount sets a bad precedent for the other regional deals.",
    "Already covered in yesterday's call by the rep.",
]
BLOCKED = [
    (
        "contract_send",
        {"document": "MSA v3", "to": "legal@{domain}"},
        "Legal approved the redlines; sending the contract for signature.",
    ),
    (
        "pricing_commitment",
        {"price_per_seat": 42, "term_months": 36},
        "Locks in price before the list-price increase.",
    ),
    ("discount_offer", {"subject": "35 % off if you sign this week"}, "End-of-quarter push."),
]


def planned_steps(ctx) -> int:
    return (PENDING_PER_SCALE + HISTORY_PER_SCALE) * ctx.scale


def _fill(value, facts: dict):
    if isinstance(value, str):
        return value.format(**facts)
    if isinstance(value, dict):
        return {key: _fill(item, facts) for key, item in value.items()}
    return value


def define_action_types() -> None:
    """Every action type the demo proposes exists in the organisation (see DEMO_ACTION_TYPES)."""
    for code, name, window_hours, signal in DEMO_ACTION_TYPES:
        ActionType.objects.get_or_create(
            code=code, defaults={"name": name, "window_hours": window_hours, "signal": signal}
        )


def _next_stage(deal: Deal) -> str:
    """The stage after the deal's current one (never back, never a closed stage)."""
    position = STAGE_ORDER.get(deal.stage, 0)
    following = [stage for stage, order in STAGE_ORDER.items() if order == position + 1]
    return following[0] if following and following[0] not in CLOSED_STAGES else deal.stage


def _propose(
    ctx,
    index: int,
    accounts: list[Account],
    clones: list[Clone],
    *,
    kind: int,
    routine: bool = False,
):
    rng = ctx.rng
    if routine:
        action_type, payload, rationale = ROUTINE[kind % len(ROUTINE)]
        has_amount, discount_range = False, None
    else:
        action_type, has_amount, discount_range, payload, rationale = PROPOSALS[kind]
        rationale = " ".join([rationale, EXTRA_CONTEXT[index % len(EXTRA_CONTEXT)]])
    account = accounts[index % len(accounts)]
    deal = _open_deal(account)
    if action_type in NEEDS_OPEN_DEAL and not routine and deal is None:
        # Money and stage moves only make sense on a deal still open: use the next account
        # that has one (deal_progression on a closed-won deal would move it back).
        account = next((a for a in _rotate(accounts, index) if _open_deal(a)), account)
        deal = _open_deal(account)
    executive = EXECUTIVES[index % len(EXECUTIVES)]
    facts = {
        "seats": rng.choice([50, 120, 200, 350]),
        "domain": account.name.lower().split()[0] + ".example",
        "exec_name": executive[0],
        "exec_title": executive[1],
        "quarter": rng.choice(["Q1", "Q2"]),
        "handle": executive[0].lower().replace(" ", "-"),
        "first": rng.choice(["dana", "luis", "priya", "tom"]),
        "next_stage": _next_stage(deal) if deal else DealStage.QUALIFICATION,
    }
    # The amount at stake is the deal's value: never more than the deal is worth.
    amount = deal.amount if has_amount and deal is not None else None
    discount = Decimal(rng.randint(*discount_range)) if discount_range else None
    action, created = action_propose(
        external_id=f"demo-prop-{index}",
        action_type=action_type,
        account=account,
        deal=deal if (has_amount or action_type in NEEDS_OPEN_DEAL) else None,
        clone=clones[index % len(clones)] if clones else None,
        payload=_fill(payload, facts),
        rationale=_fill(rationale, facts),
        amount=amount,
        discount_pct=discount,
        confidence=round(rng.uniform(0.35, 0.93), 2),
        proposed_by=AGENT,
    )
    return action, created


def _shift_back(action_id: int, hours: float) -> None:
    """Move one freshly seeded action, its trail and its outcome back in time.

    Demo only: the trail refuses UPDATE, so its rows (written moments ago by the seeder)
    are re-inserted with the shifted times.
    """
    delta = timedelta(hours=hours)
    ProposedAction.objects.filter(pk=action_id).update(
        proposed_at=F("proposed_at") - delta,
        expires_at=F("expires_at") - delta,
        decided_at=F("decided_at") - delta,
        executed_at=F("executed_at") - delta,
    )
    OutcomeRecord.objects.filter(proposed_action__pk=action_id).update(
        occurred_at=F("occurred_at") - delta, window_ends_at=F("window_ends_at") - delta
    )
    events = list(ActionEvent.objects.filter(action_id=action_id))
    ActionEvent.objects.filter(action_id=action_id).delete()
    for event in events:
        event.pk = None
        event.created_at -= delta
    ActionEvent.objects.bulk_create(events)


# How a team decides the proposals held for it, in turn: mostly approve (the agent then
# reports the result; one in six bounces), one in four rejected, one in nine left to lapse.
DECISIONS = [
    "approve",
    "reject",
    "approve",
    "approve",
    "expire",
    "approve",
    "reject",
    "approve",
    "approve",
]


def _decide_history(action: ProposedAction, held: int, deciders: list) -> None:
    """Decide the ``held``-th held history proposal the way a team would (DECISIONS)."""
    if action.status != "pending":
        return
    decision = DECISIONS[held % len(DECISIONS)]
    if not deciders or decision == "expire":
        ProposedAction.objects.filter(pk=action.pk).update(expires_at=action.proposed_at)
        actions_expire(only_ids=[action.pk])
        return
    decider = deciders[held % len(deciders)]
    try:
        if decision == "reject":
            action_decide(
                action_id=action.pk,
                user=decider,
                decision="reject",
                reason=REJECT_REASONS[held % len(REJECT_REASONS)],
                ip="10.20.0.14",
            )
            return
        action_decide(action_id=action.pk, user=decider, decision="approve", ip="10.20.0.14")
    except DecisionConflict:
        return
    success = held % 6 != 5
    action_record_result(
        action_id=action.pk,
        reported_by=AGENT,
        success=success,
        output_text="Sent as approved." if success else "Bounced: mailbox full.",
    )


def _open_deal(account: Account) -> Deal | None:
    deals = [deal for deal in account.deals.all() if deal.stage not in CLOSED_STAGES]
    return min(deals, key=lambda deal: deal.pk) if deals else None


def _rotate(items: list, start: int) -> list:
    start %= len(items)
    return items[start:] + items[:start]


def seed(ctx) -> None:
    define_action_types()
    accounts = list(Account.objects.order_by("external_id").prefetch_related("deals")[:40])
    if not accounts:
        return
    clones = list(Clone.objects.order_by("external_id")[:3])
    deciders = [u for u in ctx.users.values() if u.role in ("manager", "admin")]
    pending_total = PENDING_PER_SCALE * ctx.scale
    history_total = HISTORY_PER_SCALE * ctx.scale
    rng = ctx.rng

    # History first (older), then the queue.
    held = 0
    for number in range(history_total):
        index = 10_000 + number
        roll = rng.random()
        if roll < 0.06:
            action_type, payload, rationale = BLOCKED[number % len(BLOCKED)]
            action, created = action_propose(
                external_id=f"demo-prop-{index}",
                action_type=action_type,
                account=accounts[number % len(accounts)],
                payload=_fill(payload, {"domain": "client.example"}),
                rationale=rationale,
                discount_pct=Decimal("35") if action_type == "discount_offer" else None,
                confidence=0.6,
                proposed_by=AGENT,
            )
        elif roll < 0.06 + ROUTINE_SHARE:
            action, created = _propose(ctx, index, accounts, clones, kind=number, routine=True)
        else:
            action, created = _propose(ctx, index, accounts, clones, kind=number % len(PROPOSALS))
        ctx.step()
        if not created:
            continue
        if action.status == "approved" and rng.random() < 0.9:
            # Autonomous: the agent went ahead and reports how it went.
            action_record_result(
                action_id=action.pk, reported_by=AGENT, success=True, output_text="Sent."
            )
        if action.status == "pending":
            _decide_history(action, held, deciders)
            held += 1
        _shift_back(action.pk, rng.uniform(60, 24 * 21))

    # The queue: proposals until enough of them wait for a person. The guardrails let the
    # rest through at once; they stay as the agent's most recent autonomous actions.
    pending = 0
    for number in range(pending_total * QUEUE_ATTEMPTS):
        if pending >= pending_total:
            break
        action, created = _propose(ctx, number, accounts, clones, kind=number % len(PROPOSALS))
        if action.status != "pending":
            continue
        pending += 1
        ctx.step()
        if created:
            _shift_back(action.pk, rng.uniform(0.2, 44))
    ctx.step(pending_total - pending)
