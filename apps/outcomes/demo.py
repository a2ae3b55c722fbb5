"""Demo outcomes: a few hundred agent actions with real-looking emails, decided by the jobs.

The agent is made somewhat over-confident: an action succeeds (a reply, a meeting) with
a probability about 0.25 below its predicted confidence. Successes get their signal as a
CRM interaction inside the window, then the real resolution, expiry and calibration jobs
decide everything, so the demo exercises the same code as production.
"""

from __future__ import annotations

from datetime import timedelta

from apps.agents.models import Clone
from apps.crm.models import Account, Deal
from apps.crm.services import interaction_record
from apps.outcomes.services import (
    calibration_recompute,
    outcomes_expire,
    outcomes_record_bulk,
    outcomes_resolve_deal_progression,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)

PER_SCALE = 320
OVERCONFIDENCE = 0.25
# (action type, share of the actions)
MIX = [
    ("email_sent", 0.5),
    ("meeting_request", 0.22),
    ("escalation", 0.1),
    ("deal_progression", 0.18),
]
CONTACTS = ["Dana Kim", "Luis Ortega", "Priya Nair", "Tom Berg", "Aiko Sato", "Femi Adeyemi"]
DEMO_CLONES = [
    ("demo-clone-1", "Rory's outreach clone"),
    ("demo-clone-2", "Sam's enterprise clone"),
    ("demo-clone-3", "Rory's follow-up clone"),
]

TEXTS = {
    "email_sent": [
        "Hi {first},\n\nThanks for the time on {day}. As promised, here is the pricing for "
        "{seats} seats, onboarding and SSO included. Most teams of your size at {company} "
        "see the payback within two quarters.\n\nWould a 20-minute call next week work to go "
        "through it with your team?\n\nBest regards,\n{rep}",
        "Hi {first},\n\nQuick follow-up on the security review: I've attached our SOC 2 "
        "report and the data-processing addendum your IT team asked for. Happy to set up a "
        "call with our security lead if anything is unclear.\n\nBest,\n{rep}",
        "Hi {first},\n\nI noticed {company} opened two new sites this quarter. Teams in that "
        "situation usually struggle to keep forecasts consistent across regions; here's a "
        "two-page case study from a similar rollout.\n\nWorth a conversation?\n\n{rep}",
        "Hi {first},\n\nJust checking the proposal reached you before your budget meeting on "
        "{day}. I can adjust the ramp (start with {seats} seats, expand in Q3) if that helps "
        "procurement.\n\nThanks,\n{rep}",
    ],
    "meeting_request": [
        "Hi {first},\n\nWould you have 30 minutes on Tuesday or Thursday to see how "
        "{company} could cut the weekly reporting work? I'll bring a demo on your own "
        "numbers.\n\nBest regards,\n{rep}",
        "Hi {first},\n\nYour team asked about the onboarding timeline. Could we book a short "
        "call with your ops lead this week to map it out together?\n\n{rep}",
        "Hi {first},\n\nFollowing your question on pricing tiers, a quick call is probably "
        "faster than email. Does {day} at 10:00 work?\n\nBest,\n{rep}",
    ],
    "escalation": [
        "Hi {first},\n\nI've asked our VP of Customer Success to join us: she owns the "
        "integration roadmap and can commit to dates for the fix you need. Could we meet "
        "this week?\n\n{rep}",
        "Hi {first},\n\nGiven the renewal timeline, I've looped in our solutions architect "
        "to review the SSO issue with your IT manager directly. Proposing a 45-minute "
        "session on {day}.\n\nBest regards,\n{rep}",
    ],
    "deal_progression": [
        "Sent the mutual action plan for {deal}: security review by {day}, legal redlines "
        "the week after, signature before quarter end. Asked {first} to confirm the owners.",
        "Shared the revised proposal for {deal} with a phased rollout ({seats} seats first) "
        "and asked {first} to bring it to the steering committee.",
        "Followed up with {first} on {deal}: answered the open procurement questions and "
        "proposed a pilot start date.",
    ],
}
REPLIES = [
    "Replied: thanks, let's talk next week",
    "Asked for a revised quote",
    "Forwarded to procurement and asked about payment terms",
    "Replied with questions on the security review",
]
MEETINGS = ["Discovery call with the ops team", "Demo with three stakeholders", "Pricing call"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def planned_steps(ctx) -> int:
    return PER_SCALE * ctx.scale


def _clones(ctx) -> list[Clone]:
    """The org's clones; three demo clones owned by the demo reps when there are none."""
    clones = list(Clone.objects.select_related("owner"))
    if clones or not ctx.reps:
        return clones
    for index, (external_id, name) in enumerate(DEMO_CLONES):
        owner = ctx.reps[[0, 1, 0][index] % len(ctx.reps)]
        Clone.objects.get_or_create(
            external_id=external_id, defaults={"name": name, "owner": owner}
        )
    return list(Clone.objects.select_related("owner"))


def _pick_type(rng) -> str:
    roll, total = rng.random(), 0.0
    for code, share in MIX:
        total += share
        if roll < total:
            return code
    return MIX[-1][0]


def seed(ctx) -> None:
    rng, now = ctx.rng, ctx.now
    accounts = list(Account.objects.filter(external_id__startswith="demo-acc-").order_by("pk"))
    if not accounts:
        ctx.step(planned_steps(ctx))
        return
    deals = {deal.account_id: deal for deal in Deal.objects.filter(account__in=accounts)}
    clones = _clones(ctx)
    items, signals = [], {}
    for number in range(1, planned_steps(ctx) + 1):
        code = _pick_type(rng)
        account = rng.choice(accounts)
        deal = deals.get(account.pk)
        if code == "deal_progression" and deal is None:
            code = "email_sent"
        own_clones = [c for c in clones if c.owner_id == account.owner_id] or clones
        clone = rng.choice(own_clones) if clones and rng.random() < 0.8 else None
        confidence = round(min(0.99, max(0.05, rng.betavariate(5, 2.2))), 2)
        if code == "deal_progression":
            occurred = now - timedelta(days=rng.uniform(40, 62))
        else:
            occurred = now - timedelta(hours=rng.uniform(2, 24 * 45))
        contact = rng.choice(CONTACTS)
        rep_name = clone.owner.get_full_name() if clone else "The Northwind team"
        text = rng.choice(TEXTS[code]).format(
            first=contact.split()[0],
            company=account.name,
            day=rng.choice(DAYS),
            seats=rng.choice([25, 50, 120, 200, 400]),
            rep=rep_name,
            deal=deal.name if deal else "",
        )
        external_id = f"demo-out-{number}"
        items.append(
            {
                "external_id": external_id,
                "action_type": code,
                "account": account.external_id,
                "deal": deal.external_id if deal and code == "deal_progression" else None,
                "clone": clone.external_id if clone else None,
                "predicted_confidence": confidence,
                "occurred_at": occurred,
                "output_text": text,
                "metadata": {"model": rng.choice(["agent-v3.1", "agent-v3.2"]), "demo": True},
            }
        )
        succeeds = rng.random() < max(0.02, confidence - OVERCONFIDENCE)
        if succeeds and code in ("email_sent", "meeting_request", "escalation"):
            window = 24 if code == "email_sent" else 168
            at = occurred + timedelta(hours=rng.uniform(0.5, window * 0.9))
            if at < now:
                signals[external_id] = (code, account, at, contact)
    # Ids in time order, as if the agent had reported each action when it happened.
    order = sorted(range(len(items)), key=lambda index: items[index]["occurred_at"])
    items = [items[index] for index in order]
    results = []
    for start in range(0, len(items), 1000):
        results += outcomes_record_bulk(items=items[start : start + 1000])
    for result in results:
        signal = signals.get(result.external_id)
        if result.status == "created" and signal is not None:
            code, account, at, contact = signal
            interaction_record(
                external_id=f"demo-sig-{result.external_id}",
                account=account,
                channel="email" if code == "email_sent" else "meeting",
                direction="inbound",
                occurred_at=at,
                sentiment=round(rng.uniform(0.0, 0.8), 2),
                summary=rng.choice(REPLIES if code == "email_sent" else MEETINGS),
                contact_name=contact,
            )
        ctx.step()
    if not any(result.status == "created" for result in results):
        return  # a re-run: leave what the first run (and the apps after it) built untouched
    outcomes_resolve_immediate_signals()
    outcomes_resolve_engagement()
    outcomes_resolve_deal_progression(now=now)
    outcomes_expire(now=now)
    calibration_recompute()
