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
from apps.crm.models import Account
from apps.outcomes.models import OutcomeRecord

PENDING_PER_SCALE = 25
HISTORY_PER_SCALE = 70
AGENT = "agent:northwind-runtime"

# (action type, amount range in thousands or None, discount or None, payload, rationale)
PROPOSALS = [
    (
        "email_sent",
        (55, 180),
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
        (60, 240),
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
        None,
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
        (50, 120),
        None,
        {"to": "support-lead@{domain}", "summary": "SSO outage raised in two chats"},
        "Negative sentiment in the last two chats and the deal is in negotiation; "
        "escalating to support leadership protects the renewal.",
    ),
    (
        "linkedin_message",
        None,
        None,
        {"profile": "linkedin.com/in/{handle}", "message": "Congrats on the new role!"},
        "The economic buyer changed jobs last week; a short personal note keeps the "
        "relationship warm.",
    ),
    (
        "deal_progression",
        (70, 300),
        None,
        {"stage": "proposal", "next_step": "Send order form after legal review"},
        "Security review passed and pricing is agreed in principle; moving the deal "
        "to proposal matches what the buyer told us.",
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


def _propose(ctx, index: int, accounts: list[Account], clones: list[Clone], *, kind: int):
    rng = ctx.rng
    action_type, amount_range, discount_range, payload, rationale = PROPOSALS[kind]
    rationale = " ".join([rationale, EXTRA_CONTEXT[index % len(EXTRA_CONTEXT)]])
    account = accounts[index % len(accounts)]
    deal = account.deals.first()
    executive = EXECUTIVES[index % len(EXECUTIVES)]
    facts = {
        "seats": rng.choice([50, 120, 200, 350]),
        "domain": account.name.lower().split()[0] + ".example",
        "exec_name": executive[0],
        "exec_title": executive[1],
        "quarter": rng.choice(["Q1", "Q2"]),
        "handle": executive[0].lower().replace(" ", "-"),
    }
    amount = Decimal(rng.randint(*amount_range) * 1000) if amount_range else None
    discount = Decimal(rng.randint(*discount_range)) if discount_range else None
    action, created = action_propose(
        external_id=f"demo-prop-{index}",
        action_type=action_type,
        account=account,
        deal=deal,
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


def _decide_history(action: ProposedAction, number: int, roll: float, deciders: list) -> None:
    """Decide a history proposal the way a team would: mostly approve, some reject, a few lapse."""
    if action.status != "pending":
        return
    if not deciders or roll > 0.94:
        ProposedAction.objects.filter(pk=action.pk).update(expires_at=action.proposed_at)
        actions_expire(only_ids=[action.pk])
        return
    decider = deciders[number % len(deciders)]
    try:
        if roll < 0.22:
            action_decide(
                action_id=action.pk,
                user=decider,
                decision="reject",
                reason=REJECT_REASONS[number % len(REJECT_REASONS)],
                ip="10.20.0.14",
            )
            return
        action_decide(action_id=action.pk, user=decider, decision="approve", ip="10.20.0.14")
    except DecisionConflict:
        return
    if roll < 0.75:
        action_record_result(
            action_id=action.pk,
            reported_by=AGENT,
            success=roll < 0.72,
            output_text="Sent as approved." if roll < 0.72 else "Bounced: mailbox full.",
        )


def seed(ctx) -> None:
    accounts = list(Account.objects.order_by("external_id")[:40])
    if not accounts:
        return
    clones = list(Clone.objects.order_by("external_id")[:3])
    deciders = [u for u in ctx.users.values() if u.role in ("manager", "admin")]
    pending_total = PENDING_PER_SCALE * ctx.scale
    history_total = HISTORY_PER_SCALE * ctx.scale
    rng = ctx.rng

    # History first (older), then the queue.
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
        else:
            action, created = _propose(ctx, index, accounts, clones, kind=number % len(PROPOSALS))
        ctx.step()
        if not created:
            continue
        _decide_history(action, number, roll, deciders)
        _shift_back(action.pk, rng.uniform(60, 24 * 21))

    for number in range(pending_total):
        action, created = _propose(ctx, number, accounts, clones, kind=number % len(PROPOSALS))
        ctx.step()
        if created and action.status == "pending":
            _shift_back(action.pk, rng.uniform(0.2, 44))
